"""The report as JSON, Markdown and one self-contained HTML page with its charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from markupsafe import Markup

from meetbot.i18n import Code, md_escape
from meetbot.minutes.render import render_template
from meetbot.research import charts
from meetbot.research.labels import report_label
from meetbot.storage.json_text import indented_json

FORMATS = ("html", "md", "json")


class _Reader:
    def __init__(self, language: str, markdown: bool) -> None:
        self.language = language
        self.markdown = markdown

    def t(self, key: str, **params: object) -> str:
        if self.markdown:
            return Markup(report_label(key, **params).render(self.language, md_escape))
        return report_label(key, **params).render(self.language)

    def translated(self, entry: Mapping[str, Any]) -> str | None:
        """The reader's translation, when it differs from the original."""
        if entry.get("language") == self.language:
            return None
        text = (entry.get("translations") or {}).get(self.language)
        if not text or text.strip() == str(entry.get("text", "")).strip():
            return None
        return str(text)

    def prompt_text(self, texts: Mapping[str, str], prompt_id: str) -> str:
        return texts.get(self.language) or texts.get("en") or prompt_id

    def prompt_language(self, texts: Mapping[str, str]) -> str | None:
        """The language :meth:`prompt_text` picked (none when it fell back to the id)."""
        return self.language if texts.get(self.language) else "en" if texts.get("en") else None

    def language_name(self, code: str | None) -> str:
        """A language's name in the reader's language: ``es`` is "Spanish" to an English
        reader, "espagnol" to a French one; ``?`` (not recorded) is said in words."""
        if not code or code == "?":
            return self.t("language_unknown")
        try:
            name = Locale.parse(self.language).languages.get(code.split("-")[0])
        except (ValueError, UnknownLocaleError):
            name = None
        return str(name) if name else code

    def languages_text(self, counts: Mapping[str, int]) -> str:
        """``Spanish 12, English 3, language not recorded 1``: most used first."""
        ranked = sorted(counts.items(), key=lambda kv: (kv[0] == "?", -int(kv[1]), kv[0]))
        return ", ".join(f"{self.language_name(lang)} {n}" for lang, n in ranked)


def _context(report: Mapping[str, Any], markdown: bool) -> dict[str, Any]:
    reader = _Reader(str(report.get("language", "en")), markdown)
    regions = {r["id"]: r for r in report["regions"]}
    return {
        "report": report,
        "language": reader.language,
        "regions": regions,
        "t": reader.t,
        "translated": reader.translated,
        "prompt_text": reader.prompt_text,
        "prompt_language": reader.prompt_language,
        "language_name": reader.language_name,
        "languages_text": reader.languages_text,
        "meetings_held": len(report["participation"]),
        "prompts_by_id": {p["id"]: p["texts"] for p in report.get("prompts", [])},
        "pseudonymous_command": Code("meetbot report --pseudonymous"),
        "check_command": Code("!check"),
    }


def render_report_markdown(report: Mapping[str, Any]) -> str:
    return render_template("report.md.j2", _context(report, True), markdown=True)


def _by_region(
    participation: Sequence[Mapping[str, Any]], regions: Sequence[Mapping[str, Any]], key: str
) -> list[tuple[str, list[int]]]:
    return [(str(r["name"]), [int(p[key]) for p in participation if p["region"] == r["id"]])
            for r in regions]


def _alt_per_meeting(reader: _Reader, key: str, per_region: list[tuple[str, list[int]]]) -> str:
    """What a per-meeting chart shows, in words: per region, its meetings and the range."""
    sentences = [reader.t(f"alt_{key}")]
    for name, values in per_region:
        if not values:
            sentences.append(reader.t("alt_region_none", region=name))
            continue
        one = "_one" if len(values) == 1 else ""
        sentences.append(reader.t(
            f"alt_region_{key}{one}", region=name, total=sum(values), low=min(values),
            high=max(values), meetings=report_label("meetings_count", count=len(values))))
    return " ".join(sentences)


def _alt_languages(reader: _Reader, participation: Sequence[Mapping[str, Any]],
                   regions: Sequence[Mapping[str, Any]]) -> str:
    sentences = [reader.t("alt_languages")]
    for region in regions:
        counts: dict[str, int] = {}
        for p in participation:
            if p["region"] == region["id"]:
                for lang, n in p["languages"].items():
                    counts[lang] = counts.get(lang, 0) + int(n)
        if not counts:
            sentences.append(reader.t("alt_region_none", region=region["name"]))
            continue
        sentences.append(reader.t("alt_region_languages", region=region["name"],
                                  parts=reader.languages_text(counts)))
    return " ".join(sentences)


def report_charts(report: Mapping[str, Any], reader: _Reader) -> list[dict[str, Any]]:
    """The participation charts: caption, alt text (the data in words) and the image."""
    participation, regions = report["participation"], report["regions"]
    if not participation:
        return []
    charted = []
    for key, title in (("messages", "chart_messages"), ("people", "chart_people")):
        chart = charts.per_meeting_panels(
            participation, regions, key, reader.t("meeting"), reader.t(key),
            reader.t("no_meeting"))
        charted.append({"id": f"chart-{key}", "caption": reader.t(title), "chart": chart,
                        "alt": _alt_per_meeting(reader, key,
                                                _by_region(participation, regions, key))})
    codes = sorted({lang for p in participation for lang in p["languages"]})
    chart = charts.language_bars(participation, regions,
                                 {code: reader.language_name(code) for code in codes},
                                 reader.t("messages"))
    charted.append({"id": "chart-languages", "caption": reader.t("chart_languages"),
                    "chart": chart, "alt": _alt_languages(reader, participation, regions)})
    return charted


def participation_by_region(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per region: meetings held, the fewest and most people, messages, per language."""
    rows = []
    for region in report["regions"]:
        mine = [p for p in report["participation"] if p["region"] == region["id"]]
        languages: dict[str, int] = {}
        for p in mine:
            for lang, n in p["languages"].items():
                languages[lang] = languages.get(lang, 0) + int(n)
        people = [int(p["people"]) for p in mine] or [0]
        rows.append({"name": region["name"], "meetings": len(mine), "people_low": min(people),
                     "people_high": max(people), "messages": sum(int(p["messages"]) for p in mine),
                     "languages": languages})
    return rows


def render_report_html(report: Mapping[str, Any]) -> str:
    context = _context(report, False)
    context["charts"] = report_charts(report, _Reader(context["language"], False))
    progress = report["progress"]
    widest = max((len(row["cells"]) for row in progress), default=0)
    # Meetings outnumber regions: one row per meeting, so the table grows down, not across.
    context["progress_by_meeting"] = widest > len(progress)
    regions = context["regions"]
    context["region_language"] = lambda region_id: (regions[region_id]["languages"] or [""])[0]
    context["participation_by_region"] = participation_by_region(report)
    return render_template("report.html.j2", context, markdown=False)


def render_report_json(report: Mapping[str, Any]) -> str:
    return indented_json(report)


RENDERERS = {"html": render_report_html, "md": render_report_markdown, "json": render_report_json}


def write_report(out_dir: Path, report: Mapping[str, Any], formats: tuple[str, ...]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_dir / f"report.{fmt}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(RENDERERS[fmt](report), encoding="utf-8")
        tmp.replace(path)
        paths.append(path)
    return paths
