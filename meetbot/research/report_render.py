"""The report as JSON, Markdown and one self-contained HTML page with its charts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from meetbot.i18n import md_escape
from meetbot.minutes.render import render_template
from meetbot.research import charts
from meetbot.research.labels import report_label

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
        "meetings_held": len(report["participation"]),
    }


def render_report_markdown(report: Mapping[str, Any]) -> str:
    return render_template("report.md.j2", _context(report, True), markdown=True)


def render_report_html(report: Mapping[str, Any]) -> str:
    context = _context(report, False)
    reader = _Reader(context["language"], False)
    participation, regions = report["participation"], report["regions"]
    context["charts"] = [
        (reader.t("chart_messages"), charts.per_meeting_bars(
            participation, regions, "messages", reader.t("chart_messages"), reader.t("messages"))),
        (reader.t("chart_people"), charts.per_meeting_bars(
            participation, regions, "people", reader.t("chart_people"), reader.t("people"))),
        (reader.t("chart_languages"), charts.languages_bars(
            participation, regions, reader.t("chart_languages"))),
    ] if participation else []
    return render_template("report.html.j2", context, markdown=False)


def render_report_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


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
