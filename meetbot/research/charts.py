"""Participation charts for the HTML report: matplotlib (Agg), embedded as SVG data URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any


@cache
def _pyplot() -> Any:
    """matplotlib, loaded on the first chart (it costs ~40 MB and half a second at start)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "meetbot"  # the same report gives the same bytes
    import matplotlib.pyplot as plt

    return plt


def _data_uri(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def per_meeting_bars(
    participation: Sequence[Mapping[str, Any]], regions: Sequence[Mapping[str, Any]],
    key: str, title: str, ylabel: str,
) -> str:
    """Grouped bars: one group per region, one bar per meeting number."""
    numbers = sorted({int(p["number"]) for p in participation}) or [1]
    names = [str(r["name"]) for r in regions]
    fig, ax = _pyplot().subplots(figsize=(8, 3.2))
    width = 0.8 / len(numbers)
    for offset, number in enumerate(numbers):
        values = [
            sum(int(p[key]) for p in participation
                if p["region"] == r["id"] and int(p["number"]) == number)
            for r in regions
        ]
        xs = [i + offset * width for i in range(len(regions))]
        ax.bar(xs, values, width, label=f"#{number}")
    ax.set_xticks([i + width * (len(numbers) - 1) / 2 for i in range(len(regions))], names)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(title="meeting", fontsize="small", ncols=len(numbers))
    ax.spines[["top", "right"]].set_visible(False)
    return _data_uri(fig)


def languages_bars(
    participation: Sequence[Mapping[str, Any]], regions: Sequence[Mapping[str, Any]], title: str
) -> str:
    """Stacked bars: messages per region, split by the language they were written in."""
    languages = sorted({lang for p in participation for lang in p["languages"]})
    fig, ax = _pyplot().subplots(figsize=(8, 3.2))
    bottoms = [0] * len(regions)
    names = [str(r["name"]) for r in regions]
    for lang in languages:
        values = [
            sum(int(p["languages"].get(lang, 0)) for p in participation if p["region"] == r["id"])
            for r in regions
        ]
        ax.bar(names, values, bottom=bottoms, label=lang)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_title(title)
    if languages:
        ax.legend(fontsize="small", ncols=len(languages))
    ax.spines[["top", "right"]].set_visible(False)
    return _data_uri(fig)
