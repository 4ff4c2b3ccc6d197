# ruff: noqa: E501, W291 - the macros below are kept verbatim (long lines, the Markdown line break)
"""The minutes' repeated pieces in Python print exactly what the Jinja macros printed.

The macros and log loops they replaced are kept below, verbatim. The reference templates
are the current ones with those put back; both render the same documents — played through
the core, then given every shape of line and item (attachments, emotes, replies to kept and
removed lines, translations or none, hostile text, unsafe links) — and must agree byte for
byte, in HTML and Markdown, in each reader's language.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import Template

from meetbot.core.events import Message
from meetbot.core.model import Agenda, Prompt, Region, RoomSettings, RoomState
from meetbot.i18n import md_escape
from meetbot.minutes import render
from meetbot.minutes.document import MinutesContext, build_minutes_data
from meetbot.runtime.features import engine

PIECES_NOTE = (
    "{#- The repeated pieces (beside, item_row, log_lines) are Python: "
    "meetbot/minutes/pieces.py. -#}\n"
)

HTML_MACROS = """\
{% macro user_text(text, lang=None, cls="text") -%}
<span class="{{ cls }}" dir="auto"{% if lang %} lang="{{ lang }}"{% endif %}>{{ text }}</span>
{%- endmacro %}
{% macro beside(entry, text) -%}
{% set tr = translated(entry, text) -%}
{% if tr -%}
{{ user_text(tr, language, "text translated") }} <span class="original">{{ t("original") }}{% if entry.language %} ({{ entry.language }}){% endif %}: {{ user_text(text, entry.language) }}</span>
{%- else -%}
{{ user_text(text, entry.language) }}
{%- endif %}
{%- endmacro %}
{% macro replied(reply) -%}
{% if reply -%}
<span class="reply">↪ {% if reply.line -%}
<a href="#L{{ reply.line }}"><span dir="auto">{{ reply.display_name }}</span>{% if reply.item %} ({{ t(reply.item_kind) }} #{{ reply.item }}){% endif %}</a>
{%- else -%}
<a href="{{ href(reply.permalink) }}" rel="noopener noreferrer">{{ t("view_in_matrix") }}</a>
{%- endif %}</span> {% endif %}
{%- endmacro %}
{% macro shared(line) -%}
{% set a = line.attachment -%}
{% if a -%}
<span class="attachment">{{ mark(a.kind) }} {% if media(a.url) -%}
<a href="{{ media(a.url) }}" rel="noopener noreferrer nofollow">{{ user_text(a.name or a.kind, none, "name") }}</a>
{%- else -%}
{{ user_text(a.name or a.kind, none, "name") }}
{%- endif %} <span class="muted">({{ a.mimetype or a.kind }}{% if a.size is not none %}, {{ size(a.size) }}{% endif %}{% if a.encrypted %}, 🔒{% endif %})</span></span>{% if line.body %} {% endif %}
{%- elif mark(line.msgtype) %}{{ mark(line.msgtype) }} {% endif %}
{%- endmacro %}
{% macro item_row(item) -%}
<li class="item kind-{{ item.kind }}" id="item-{{ item.n }}">
<span class="kind">{{ t(item.kind) }} #{{ item.n }}</span>
{{ beside(item, item.text) }}
{% if href(item.safe_url) %} <a class="url" href="{{ href(item.safe_url) }}" rel="noopener noreferrer nofollow">{{ item.url }}</a>{% endif %}

<span class="meta">— <span dir="auto">{{ item.author_name }}</span>, <time datetime="{{ item.at }}">{{ clock(item.at) }}</time>
· <a href="{{ href(item.permalink) }}" rel="noopener noreferrer">{{ t("view_in_matrix") }}</a>
{% if item.log_line %} · <a href="#L{{ item.log_line }}">{{ t("log_line") }}</a>{% endif %}</span>
</li>
{%- endmacro %}
"""
HTML_LOG = """\
{% for line in data.log %}
<li id="L{{ line.line }}" class="msgtype-{{ line.msgtype }}">
<a class="muted" href="#L{{ line.line }}"><time datetime="{{ line.at }}">{{ clock(line.at) }}</time></a>
<span class="who" dir="auto">{{ line.display_name }}</span>
<span class="body">{{ replied(line.reply_to) }}{{ shared(line) }}{{ beside(line, line.body) }}{% if line.edited %} <span class="muted">({{ t("edited") }})</span>{% endif %}</span>
</li>
{% endfor %}
"""
MD_MACROS = """\
{% macro beside(entry, text) %}
{% set tr = translated(entry, text) %}
{% if tr %}{{ tr }}  
  *{{ t("original") }}{% if entry.language %} ({{ entry.language }}){% endif %}:* {{ text }}{% else %}{{ text }}{% endif %}
{% endmacro %}
{% macro replied(reply) -%}
{% if reply %}↪ [{% if reply.display_name %}{{ reply.display_name }}{% if reply.item %}, {{ t(reply.item_kind) }} #{{ reply.item }}{% endif %}{% else %}{{ t("view_in_matrix") }}{% endif %}]({{ href(reply.permalink) }}) {% endif %}
{%- endmacro %}
{% macro shared(line) -%}
{% set a = line.attachment %}
{% if a %}{{ mark(a.kind) }} {% if media(a.url) %}[{{ a.name or a.kind }}]({{ media(a.url) }}){% else %}{{ a.name or a.kind }}{% endif %} ({{ a.mimetype or a.kind }}{% if a.size is not none %}, {{ size(a.size) }}{% endif %}{% if a.encrypted %}, 🔒{% endif %}){% if line.body %} — {% endif %}
{% elif mark(line.msgtype) %}{{ mark(line.msgtype) }} {% endif %}
{%- endmacro %}
{% macro item_line(item) %}
- **{{ t(item.kind) }} #{{ item.n }}** {{ beside(item, item.text)|safe }}
{%- if href(item.safe_url) %} <{{ href(item.safe_url) }}>{% endif %}
 — {{ item.author_name }}, {{ clock(item.at) }} ([{{ t("view_in_matrix") }}]({{ href(item.permalink) }}))
{% endmacro %}
"""  # the line break in the Markdown macro is two trailing spaces, kept
MD_LOG = """\
{% for line in data.log %}
- {{ clock(line.at) }} {% if line.msgtype == "m.emote" %}\\* **{{ line.display_name }}**{% else %}**{{ line.display_name }}**:{% endif %} {{ replied(line.reply_to)|safe }}{{ shared(line)|safe }}{{ beside(line, line.body)|safe }}{% if line.edited %} *({{ t("edited") }})*{% endif %}

{% endfor %}

---"""


def _source(name: str) -> str:
    loader = render._LOADER
    return loader.get_source(render._HTML_ENV, name)[0]


def reference(markdown: bool) -> Template:
    """The template as it was, with its macros: the current one with them put back."""
    if not markdown:
        source = _source("minutes.html.j2").replace(PIECES_NOTE, HTML_MACROS, 1)
        source = source.replace("{{ log_lines(data.log) }}", HTML_LOG, 1)
        return render._HTML_ENV.from_string(source)
    source = _source("minutes.md.j2").replace(PIECES_NOTE, MD_MACROS, 1)
    source = source.replace("{{ log_lines(data.log) }}\n---", MD_LOG, 1)
    source = source.replace("{{ item_row(items_by_n[n]) }}", "{{ item_line(items_by_n[n])|safe }}")
    source = source.replace("{{ beside(items_by_n[section.n], section.text) }}",
                            "{{ beside(items_by_n[section.n], section.text)|safe }}")
    return render._MD_ENV.from_string(source)


def test_the_reference_is_the_template_before_the_pieces() -> None:
    for markdown in (False, True):
        text = reference(markdown).render(render._context(meeting_doc(), "en", markdown))
        assert "log_lines" not in text and "Prompt" in text


# -- documents ------------------------------------------------------------------------------

ROOM = "!r:example.org"
REGION = Region("r", "Región <b>", ROOM, ("es", "fr", "en"), "America/Bogota")
AGENDA = Agenda("default", {"en": "Check-in"}, (
    Prompt("worked", {"en": "What worked?", "es": "¿Qué funcionó?"}),
    Prompt("next", {"en": "What next?", "es": "¿Y ahora?", "fr": "Et ensuite ?"}),
))
ANA, BEA = "@ana:example.org", "@bea:example.org"
START = datetime(2024, 5, 1, 15, tzinfo=timezone.utc)


def meeting_doc() -> dict[str, Any]:
    """A meeting played through the core: prompts, items of each kind, a link, replies."""
    handle = engine().handle
    settings = RoomSettings(region=REGION, agenda=AGENDA, bot_user_id="@meetbot:example.org",
                            facilitators=frozenset({ANA}))
    state = RoomState(ROOM)
    script = [
        (ANA, "!startmeeting Pieces"), (BEA, "hola <i>todos</i>"), (ANA, "!next"),
        (BEA, "!idea un *taller* [x](javascript:alert(1))"), (ANA, "!agreed seguimos"),
        (ANA, f"!action {BEA} reserva la sala"), (BEA, "!link https://example.org/a?b=1 notas"),
        (BEA, "!link javascript:alert(1) mal"), (ANA, "!next"), (BEA, "!info dato"),
        (ANA, "!topic libre"), (BEA, "!idea sin prompt"), (ANA, "!endmeeting"),
    ]
    for n, (who, body) in enumerate(script):
        handle(state, settings, Message(f"$e{n}", ROOM, who, START + timedelta(minutes=n * 400),
                                        body=body, display_name=who[1:4].title()))
    assert state.last_meeting is not None
    return build_minutes_data(MinutesContext(
        meeting=state.last_meeting, region_name=REGION.name,
        agenda_prompts={p.id: dict(p.texts) for p in AGENDA.prompts},
        translations={"$e1": {"en": "hello all", "fr": "bonjour <tous>"},
                      "$e3": {"en": "a *workshop*"}},
        languages={"$e1": "es", "$e3": "es"},
        homeserver_name="example.org",
    ))


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30) | \
    st.sampled_from(["<script>alert(1)</script>", "*a* _b_ [c](d) `e`", "line\n\n  two",
                     "نحتاج\u200f إلى", "", "  ", "# title", "1. x", "&amp; \"q\" 'a'"])
LANG = st.sampled_from([None, "es", "en", "fr", "<x>", ""])
TRANSLATIONS = st.dictionaries(st.sampled_from(["en", "es", "fr"]), TEXT, max_size=3)
URL = st.sampled_from([None, "", "https://example.org/x?a=1&b=<2>", "javascript:alert(1)",
                       "mailto:a@example.org", "https://ex ample.org/\"q\""])
MXC = st.sampled_from(["mxc://example.org/AbC_12-x", "", "mxc://bad/../x", "https://x/y"])
ATTACHMENT = st.none() | st.fixed_dictionaries({
    "kind": st.sampled_from(["m.image", "m.file", "m.audio", "m.video", "m.sticker", "x<y"]),
    "name": st.none() | TEXT, "url": MXC, "media_url": st.none(),
    "mimetype": st.none() | st.sampled_from(["image/png", "text/<html>"]),
    "size": st.none() | st.integers(-1, 10**10), "encrypted": st.booleans(),
})
REPLY = st.none() | st.fixed_dictionaries({
    "event_id": st.just("$gone"), "permalink": st.sampled_from(
        ["https://matrix.to/#/%21r/%24gone", "javascript:x"]),
    "line": st.none() | st.integers(1, 50), "sender": st.none() | st.just(BEA),
    "display_name": st.none() | TEXT, "item": st.none() | st.integers(1, 9),
    "item_kind": st.sampled_from(["idea", "decision", "action", "info", "link"]),
})
LINE = st.fixed_dictionaries({
    "body": TEXT, "display_name": TEXT, "language": LANG, "translations": TRANSLATIONS,
    "msgtype": st.sampled_from(["m.text", "m.emote", "m.notice", "m.image", "m.file",
                                "m.poll", "m.location", "m.sticker"]),
    "edited": st.booleans(), "reply_to": REPLY, "attachment": ATTACHMENT,
    "at": st.sampled_from(["2024-05-01T10:00:00-05:00", "2024-05-02T00:30:00-05:00"]),
})
ITEM = st.fixed_dictionaries({
    "text": TEXT, "language": LANG, "translations": TRANSLATIONS, "url": URL,
    "log_line": st.none() | st.integers(1, 30), "author_name": TEXT,
})


def shaped(doc: dict[str, Any], lines: list[dict[str, Any]], items: list[dict[str, Any]]
           ) -> dict[str, Any]:
    """The document with its log lines and items given these shapes."""
    doc = copy.deepcopy(doc)
    log = doc["log"]
    for n, shape in enumerate(lines):
        line = dict(log[n % len(log)])
        line.update(shape, line=len(log) + n + 1, event_id=f"$x{n}")
        log.append(line)
    for item, shape in zip(doc["items"], items, strict=False):
        item.update(shape, safe_url=render.safe_url(shape["url"]))
    return doc


def same(doc: dict[str, Any]) -> None:
    for markdown in (False, True):
        template = reference(markdown)
        for language in ("en", "es", "fr"):
            new = render.render_markdown(doc, language) if markdown else \
                render.render_html(doc, language)
            old = template.render(render._context(doc, language, markdown))
            assert new == old, (markdown, language)


def test_a_played_meeting_renders_as_before() -> None:
    same(meeting_doc())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, max_size=12), items=st.lists(ITEM, max_size=12))
def test_every_shape_of_line_and_item_renders_as_before(
    lines: list[dict[str, Any]], items: list[dict[str, Any]]
) -> None:
    same(shaped(meeting_doc(), lines, items))


@given(st.text(st.sampled_from("\\`*_{}[]()#+-.!|~<>&;amp \"'é\u200fن\n")) | TEXT)
def test_markdown_escaping_is_html_escape_then_a_backslash_before_each_special(text: str) -> None:
    """md_escape is one str.translate now; it was this."""
    import html
    import re

    special = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
    assert md_escape(text) == special.sub(r"\\\1", html.escape(text, quote=False))


@given(room=st.text(max_size=12), event=st.text(max_size=12), via=st.none() | st.text(max_size=8))
def test_a_line_links_to_matrix_as_permalink_does(room: str, event: str, via: str | None) -> None:
    """MinutesView.link quotes the room and the server once; the link is permalink's."""
    from meetbot.minutes.text import permalink
    from meetbot.minutes.view import MinutesView

    # Only the meeting's room id and time zone are read.
    view = MinutesView(MinutesContext(meeting=_Room(room), region_name="x",  # type: ignore[arg-type]
                                      homeserver_name=via))
    assert view.link(event) == permalink(room, event, via)


class _Room:
    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        self.timezone = "UTC"


@given(st.text(st.sampled_from("$abcXYZ019_.-~!:/?#%@ é\u0000")) | st.text())
def test_an_event_id_is_quoted_as_quote_does(event_id: str) -> None:
    from urllib.parse import quote

    from meetbot.minutes.text import quote_id

    assert quote_id(event_id) == quote(event_id, safe="")


@given(st.text(st.sampled_from("ab &<>'\"*_\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029\t é")) | TEXT)
def test_the_quick_paths_escape_as_before(text: str) -> None:
    """HTML: as markupsafe.escape; Markdown: line by line, as md_text did."""
    from markupsafe import Markup, escape

    from meetbot.minutes import pieces
    from meetbot.minutes.text import md_text

    assert pieces._html(text) == str(escape(text))
    lines = [line.strip() for line in text.splitlines()]
    assert md_text(text) == "  \n  ".join(md_escape(line) for line in lines if line)
    assert pieces._md(text) == str(pieces.md_finalize(text))
    for value in (0, 7, -3, 10**20, None, True, 2.5, Markup("<b>x</b>"), Markup(text)):
        assert pieces._html(value) == str(escape(value)), value
        assert pieces._md(value) == str(pieces.md_finalize(value)), value
