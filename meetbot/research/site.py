"""The network's web space: a static site in English, French and Spanish.

``build_site`` writes, from the meetings' minutes documents, a folder of plain files that
reads the same from a web server and from ``file://``:

- ``index.html``: the language chooser; ``LANG/index.html``: the regions × meetings grid
  with each meeting's status (held, missed, scheduled, running);
- ``LANG/minutes/REGION-N.html``: each ended meeting's minutes (the minutes' own HTML);
- ``LANG/report.html``: the cross-region report with its charts (the pseudonymous report);
- ``LANG/actions.html``: the open actions of every meeting (struck ones are already gone);
- ``LANG/search.html`` with ``assets/search.js`` and ``assets/search-index.js``: a search
  over every minutes text that runs in the browser (an inverted index of accent-folded
  tokens, loaded as a script so that it works without a server).

People are named by pseudonym, as in the research exports and ``meetbot report
--pseudonymous``: no Matrix id and no display name reaches the site, and the links into the
Matrix rooms are left out. Opted-out and withdrawn people's words are already gone from the
record the documents are built from.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from meetbot.config.schema import Config
from meetbot.i18n import Msg, _
from meetbot.minutes.document import render_html
from meetbot.research.dataset import HeldMeeting
from meetbot.research.labels import report_label
from meetbot.research.pseudonyms import Pseudonyms, pseudonymous_document
from meetbot.research.report import build_report, progress_grid
from meetbot.research.report_render import render_report_html
from meetbot.storage.calendar_store import MISSED

LANGUAGES = ("en", "fr", "es")
MARK = ".meetbot-site"  # in a folder meetbot built: the next build may replace it


class SiteFolderError(Exception):
    """The output folder holds files that meetbot did not write; the message says so."""

UNASSIGNED = "UNASSIGNED"

# The site's own words, marked for the translation catalogue (the report's and the
# minutes' come from theirs).
SITE_LABELS: dict[str, Msg] = {
    "site_title": _("The network's web space"),
    "home": _("Meetings"),
    "report": _("Report"),
    "actions": _("Open actions"),
    "search": _("Search"),
    "search_label": _("Search the minutes"),
    "search_button": _("Find"),
    "search_help": _(
        "Words in any language; accents and capitals do not matter. The search "
        "runs in your browser."
    ),
    "language": _("Language"),
    "site_nav": _("Site"),
    "languages_nav": _("Languages"),
    "grid_caption": _("Meetings of each region and their status"),
    "grid_intro": _("Each region meets several times. A held meeting links to its minutes."),
    "no_regions": _("No region is configured yet."),
    "pseudonymous": _("People are named by pseudonyms (P-…), as in the research exports."),
    "owners": _("Owners"),
    "meeting_of": _("{region}, meeting {n}"),
    "text": _("Action"),
    "no_actions": _("No open action."),
    "results_none": _("Nothing found."),
    "results_count": _("{count} pages found."),
    "results_one": _("1 page found."),
    "noscript": _(
        "The search needs JavaScript; every minutes page is listed on the "
        "meetings page."
    ),
    "choose_language": _("Choose a language"),
}


def _choice_words(language: str) -> dict[str, str]:
    """What the page that chooses a language says, in ``language``."""
    return {key: SITE_LABELS[key].render(language) for key in ("site_title", "choose_language")}


LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}

_ENV = Environment(
    loader=PackageLoader("meetbot.research", "site_templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ASSETS = Path(__file__).resolve().parent / "site_templates" / "assets"


# -- the words the search finds ----------------------------------------------------------


def fold(text: str) -> str:
    """Lower case, accents dropped: ``Él está`` and ``el esta`` are the same to the search.
    ``assets/search.js`` folds the query the same way."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


def _texts_of(doc: Mapping[str, Any]) -> list[str]:
    """Everything said in a meeting, with its translations, once each."""
    found: list[str] = []
    for entry, key in [*((i, "text") for i in doc.get("items", [])),
                       *((line, "body") for line in doc.get("log", []))]:
        if entry.get("is_command"):
            continue
        for text in [entry.get(key), *(entry.get("translations") or {}).values()]:
            if text and str(text).strip():
                found.append(str(text))
    return list(dict.fromkeys(found))


def search_index(pages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``tokens``: each folded token → the pages it is on; ``pages``: each page's address
    (inside a language's folder), title and texts (to match a phrase and show where)."""
    index: dict[str, list[int]] = {}
    for n, page in enumerate(pages):
        for token in sorted({t for text in page["texts"] for t in tokens(text)}):
            index.setdefault(token, []).append(n)
    return {"format": "meetbot-site-search/1", "tokens": index,
            "pages": [{"href": p["href"], "title": p["title"], "texts": p["texts"]}
                      for p in pages]}


# -- the site ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SitePage:
    key: str  # index, report, actions, search, or minutes/REGION-N
    href: str  # inside a language's folder


def public_document(doc: Mapping[str, Any], pseudonyms: Pseudonyms) -> dict[str, Any]:
    """A minutes document fit for the public site: pseudonyms everywhere, and no link into
    the Matrix rooms (whose addresses name the rooms and their server)."""
    out = pseudonymous_document(doc, pseudonyms)
    out["actions_by_person"] = [
        {**group, "display_name": None if group["user_id"] == UNASSIGNED
         else pseudonyms.of(str(group["user_id"]))}
        for group in doc.get("actions_by_person", [])
    ]
    out["items"] = [{**item, "permalink": None} for item in out["items"]]
    out["log"] = [{**line, "reply_to": {**line["reply_to"], "permalink": None}
                   if line.get("reply_to") else line.get("reply_to")} for line in out["log"]]
    for key in ("started_by", "ended_by"):
        if isinstance(doc.get(key), Mapping) and doc[key].get("user_id"):
            out[key] = {"user_id": pseudonyms.of(str(doc[key]["user_id"])),
                        "display_name": pseudonyms.of(str(doc[key]["user_id"]))}
    out["homeserver_name"] = ""
    return out


def minutes_slug(held: HeldMeeting) -> str:
    region = re.sub(r"[^A-Za-z0-9_-]+", "-", held.row.region_id).strip("-") or "region"
    return f"{region}-{held.number}"


class _Writer:
    def __init__(self, out: Path, config: Config, report_regions: Sequence[Mapping[str, Any]]):
        self.out = out
        self.config = config
        self.regions = report_regions
        self.written: list[Path] = []

    def write(self, relative: str, text: str) -> None:
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        self.written.append(path)

    def context(self, language: str, page: SitePage) -> dict[str, Any]:
        depth = page.href.count("/")
        up = "../" * (depth + 1)  # from the page to the site's root

        def w(key: str, **params: object) -> str:
            return SITE_LABELS[key].with_params(**params).render(language)

        def r(key: str, **params: object) -> str:
            return report_label(key, **params).render(language)

        return {
            "language": language, "page": page, "w": w, "r": r, "root": up,
            "here": "../" * depth,  # from the page to its language's folder
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        }

    def page(self, language: str, page: SitePage, template: str, **extra: Any) -> None:
        context = {**self.context(language, page), **extra}
        self.write(f"{language}/{page.href}", _ENV.get_template(template).render(context))

    def framed(self, language: str, page: SitePage, html: str) -> None:
        """Another renderer's page (minutes, report) with the site's bar at its top."""
        bar = _ENV.get_template("bar.html.j2").render(self.context(language, page))
        style = _ENV.get_template("bar_style.html.j2").render()
        html = html.replace("</head>", f"{style}</head>", 1)
        html = re.sub(r"<body([^>]*)>", lambda m: f"<body{m.group(1)}>\n{bar}", html, count=1)
        self.write(f"{language}/{page.href}", html)


def build_site(
    out: Path,
    config: Config,
    meetings: Sequence[HeldMeeting],
    prompts: Mapping[str, Mapping[str, str]],
    pseudonyms: Pseudonyms,
    now: datetime | None = None,
    missed: set[tuple[str, int]] | None = None,
) -> list[Path]:
    """Write the site into ``out`` (emptied first of what an older build left) from the
    meetings' minutes documents; ``missed``: (region, number) the calendar marked missed."""
    now = now or datetime.now(timezone.utc)
    if out.is_dir() and any(out.iterdir()) and not (out / MARK).exists():
        raise SiteFolderError(
            f"{out}: is not empty and was not built by meetbot site; give an empty or new "
            "folder (the site replaces the whole folder each time)")
    public = [replace(m, doc=public_document(m.doc, pseudonyms)) for m in meetings]
    ended = [m for m in public if m.row.ended_at is not None]
    grid = progress_grid(config, public, now)
    for row in grid:
        for cell in row["cells"]:
            if cell["status"] in ("scheduled", "unscheduled") and \
                    (row["region"], cell["number"]) in (missed or set()):
                cell["status"] = MISSED
    slugs = {(m.row.region_id, m.number): minutes_slug(m) for m in ended}
    for row in grid:
        for cell in row["cells"]:
            cell["href"] = (f"minutes/{slugs[(row['region'], cell['number'])]}.html"
                            if cell["status"] == "held" and (row["region"], cell["number"])
                            in slugs else None)

    staging = out.with_name(out.name + ".building")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    (staging / MARK).write_text("built by meetbot site; replaced at each build\n",
                                encoding="utf-8")
    first = build_report(config, ended, prompts, now, "en")
    writer = _Writer(staging, config, first["regions"])
    region_names = {r["id"]: r["name"] for r in first["regions"]}

    writer.write("assets/search.js", (_ASSETS / "search.js").read_text(encoding="utf-8"))
    pages = []
    for held in ended:
        slug = slugs[(held.row.region_id, held.number)]
        pages.append({"href": f"minutes/{slug}.html",
                      "title": _search_title(held, region_names),
                      "texts": _texts_of(held.doc)})
    index = json.dumps(search_index(pages), ensure_ascii=False, separators=(",", ":"))
    writer.write("assets/search-index.js",
                 f"window.MEETBOT_SEARCH = {_script_safe(index)};\n")
    writer.write("index.html", _ENV.get_template("choose.html.j2").render(
        languages=[(code, LANGUAGE_NAMES[code], _choice_words(code)) for code in LANGUAGES]))

    for language in LANGUAGES:
        report = build_report(config, ended, prompts, now, language, pseudonyms=pseudonyms)
        report["progress"] = grid
        writer.page(language, SitePage("index", "index.html"), "home.html.j2", grid=grid)
        writer.framed(language, SitePage("report", "report.html"), render_report_html(report))
        actions = [
            {**action, "href": slugs.get((action["region"], action["number"]))}
            for action in report["open_actions"]
        ]
        writer.page(language, SitePage("actions", "actions.html"), "actions.html.j2",
                    actions=actions, translated=_translated(language))
        writer.page(language, SitePage("search", "search.html"), "search.html.j2")
        for held in ended:
            slug = slugs[(held.row.region_id, held.number)]
            writer.framed(language, SitePage(f"minutes/{slug}", f"minutes/{slug}.html"),
                          render_html(held.doc, language))

    if out.exists():
        shutil.rmtree(out)
    staging.replace(out)
    return [out / p.relative_to(staging) for p in writer.written]


def _search_title(held: HeldMeeting, region_names: Mapping[str, str]) -> str:
    """``Sahel #2 · 2024-01-15``, then the meeting's title when one was typed (the default
    title already says the region and the date)."""
    region = str(region_names.get(held.row.region_id) or held.row.region_id)
    date = str(held.doc["started_at"])[:10]
    title = str(held.doc.get("title") or "")
    typed = title and region not in title and date not in title
    return f"{region} #{held.number} · {date}" + (f" — {title}" if typed else "")


def _translated(language: str) -> Any:
    def pick(entry: Mapping[str, Any]) -> tuple[str, str | None]:
        text = (entry.get("translations") or {}).get(language)
        if text and entry.get("language") != language:
            return str(text), language
        return str(entry.get("text", "")), entry.get("language")
    return pick


def _script_safe(json_text: str) -> Markup:
    """JSON inside a script file: nothing in it can end the script or open a comment."""
    return Markup(json_text.replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
