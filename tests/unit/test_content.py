"""Notices as Matrix content: escaped HTML, clean plain text, pills, no stray headings."""

from __future__ import annotations

import random
import re

from meetbot.i18n import Code, Pill, _
from meetbot.matrix.content import (
    _INERT,
    _MARKDOWN,
    edit_content,
    markdown_to_html,
    notice_content,
    txn_id_for,
)


def test_user_text_is_escaped_and_the_plain_body_is_clean() -> None:
    hostile = "<script>alert(1)</script> **not bold** [x](javascript:y)"
    content = notice_content([_("Idea: {text}", text=hostile)], ["en"])
    assert "<script>" not in content["formatted_body"]
    assert "&lt;script&gt;" in content["formatted_body"]
    assert "<strong>" not in content["formatted_body"] and "<a " not in content["formatted_body"]
    assert content["body"] == f"Idea: {hostile}"


def test_numbered_lines_never_become_headings() -> None:
    # Python-Markdown reads "#1 text" at the start of a line as a heading.
    lines = [_("**Items** ({count}):", count=2)] + [
        _("- \\#{n} {kind}: {text} — {author}", n=n, kind=_("Idea"), text="x", author="Ana")
        for n in (1, 2)
    ]
    for lang in ("en", "fr", "es"):
        html = str(notice_content(lines, [lang])["formatted_body"])
        assert not re.search(r"<h\d", html), html
        assert "#1" in html and "#2" in html


def test_several_languages_one_block_each_and_pills() -> None:
    content = notice_content(
        [_("{name} is now a chair.", name=Pill("@ana:example.org", "Ana <3>"))],
        ["es", "en"], mentions=["@ana:example.org"], reply_to="$cmd",
    )
    body = str(content["body"])
    assert body.startswith("[es] ") and "\n\n[en] Ana <3> is now a chair." in body
    assert 'href="https://matrix.to/#/@ana:example.org"' in str(content["formatted_body"])
    assert "Ana &lt;3&gt;" in str(content["formatted_body"])
    assert content["m.mentions"] == {"user_ids": ["@ana:example.org"]}
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}


def test_code_spans_keep_commands_readable() -> None:
    content = notice_content([_("Usage: {usage}", usage=Code("!help [COMMAND] <b>"))], ["en"])
    assert "<code>!help [COMMAND] &lt;b&gt;</code>" in str(content["formatted_body"])
    assert "\\[" not in str(content["body"])


def test_edits_replace_and_transaction_ids_are_stable() -> None:
    new = notice_content([_("Idea: {text}", text="v2")], ["en"])
    edit = edit_content("$orig", new)
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$orig"}
    assert str(edit["body"]).startswith("* ")
    assert txn_id_for("reply:$e:0") == txn_id_for("reply:$e:0") != txn_id_for("reply:$e:1")


def test_a_plain_line_is_rendered_as_the_markdown_parser_renders_it() -> None:
    """Answers that Markdown would only wrap in a paragraph skip the parser: for every line
    (random, and the tricky ones), the result is the parser's, byte for byte."""
    pieces = [*"abcXYZé019 .,;:!?'\"()/%+=#@$·—–-¿¡’_*`[]<>&\\", "  ", " 1. ", "- ", "# ",
              "--", "==", "http://x.org", ":-)", "1)", "a.b", "**", "\n", "> ", "    "]
    chance = random.Random(11)
    lines = ["Idea #4 recorded.", "**EN** · Idea #4 recorded.", "**ES** · Idea n.º 4 registrada.",
             "1. first", "a *b*", "a_b_", "# heading", "- item", "x  ", "**EN** · 2. second",
             "a<b", "a&amp;b", "word\nword", "Tom & Jerry", "see [this](https://x.org)"]
    for _round in range(4_000):
        line = "".join(chance.choice(pieces) for _piece in range(chance.randint(1, 12)))
        lines.append(("**EN** · " if chance.random() < 0.3 else "") + line)
    fast = 0
    for line in lines:
        fast += bool(_INERT.fullmatch(line))
        assert markdown_to_html(line) == _MARKDOWN.reset().convert(line), line
    assert fast > 200  # the fast path was taken, and agreed
