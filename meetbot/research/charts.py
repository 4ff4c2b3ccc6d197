"""Participation charts for the HTML report: matplotlib (Agg), embedded as SVG data URIs.

Made to stay readable from one region and meeting to a network of many: the per-meeting
charts are small multiples (one panel per region, meetings along its axis, one colour, no
legend to cover the bars); the languages chart has one colour per language from a palette
that stays distinct for colour-blind readers (hatched past its eight colours) and its legend
below the plot, wrapping into rows. Each chart has a natural size at which its words are
readable; the page shows it at that size and scrolls it sideways on a narrow screen rather
than shrinking it. The words on and about the charts (titles, names, alt text) are given by
the caller, in the reader's language.
"""

from __future__ import annotations

import base64
import io
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

# Okabe & Ito's colour-blind-safe palette, dark enough on white for bars (the yellow last).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#F0E442")
HATCHES = ("", "//", "..", "xx")
UNKNOWN_COLOUR = "#9E9E9E"  # messages whose language was not recorded
BAR_COLOUR = PALETTE[0]
FONT_SIZE = 9  # points: 12 CSS pixels at the chart's natural size

# Panels of the per-meeting charts, in inches.
PANEL_WIDTH, PANEL_HEIGHT, MAX_COLUMNS = 2.9, 1.9, 3


@dataclass(frozen=True)
class Chart:
    uri: str  # data:image/svg+xml;base64,...
    width: int  # natural size, CSS pixels
    height: int


@cache
def _pyplot() -> Any:
    """matplotlib, loaded on the first chart (it costs ~40 MB and half a second at start)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "meetbot"  # the same report gives the same bytes
    matplotlib.rcParams["font.size"] = FONT_SIZE
    import matplotlib.pyplot as plt

    return plt


_SIZE = re.compile(rb'<svg[^>]*?width="([\d.]+)pt"[^>]*?height="([\d.]+)pt"')


def _chart(fig: Any) -> Chart:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    svg = buffer.getvalue()
    size = _SIZE.search(svg)
    width, height = (float(size.group(1)), float(size.group(2))) if size else (576.0, 230.0)
    return Chart("data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
                 round(width * 4 / 3), round(height * 4 / 3))


def _wrap(name: str, width: int = 30) -> str:
    return "\n".join(textwrap.wrap(name, width)) or name


def per_meeting_panels(
    participation: Sequence[Mapping[str, Any]], regions: Sequence[Mapping[str, Any]],
    key: str, meeting_label: str, value_label: str, none_label: str,
) -> Chart:
    """Small multiples: per region, a bar per meeting held (``key``: people or messages)."""
    plt = _pyplot()
    numbers = sorted({int(p["number"]) for p in participation}) or [1]
    count = max(len(regions), 1)
    columns = min(MAX_COLUMNS, count)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False, sharex=True, sharey=True,
                             figsize=(PANEL_WIDTH * columns, PANEL_HEIGHT * rows + 0.3),
                             layout="constrained")
    for index, ax in enumerate(axes.flat):
        if index >= len(regions):
            ax.set_visible(False)
            continue
        region = regions[index]
        held = {int(p["number"]): int(p[key]) for p in participation
                if p["region"] == region["id"]}
        ax.bar(list(held), list(held.values()), 0.7, color=BAR_COLOUR)
        if not held:
            ax.text(0.5, 0.5, none_label, transform=ax.transAxes, ha="center", va="center",
                    color="#555555")
        ax.set_title(_wrap(str(region["name"])), fontsize=FONT_SIZE, loc="left")
        ax.set_xlim(min(numbers) - 0.6, max(numbers) + 0.6)
        ax.xaxis.set_major_locator(plt.MaxNLocator(nbins=8, integer=True))
        ax.yaxis.set_major_locator(plt.MaxNLocator(nbins=4, integer=True))
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        if index % columns == 0:
            ax.set_ylabel(value_label)
        if index // columns == rows - 1 or index + columns >= len(regions):
            ax.set_xlabel(meeting_label)
            ax.tick_params(labelbottom=True)
    return _chart(fig)


def language_bars(
    participation: Sequence[Mapping[str, Any]], regions: Sequence[Mapping[str, Any]],
    language_names: Mapping[str, str], value_label: str,
) -> Chart:
    """Stacked horizontal bars: per region, its messages split by the language written in.

    ``language_names`` gives each language code its name for the legend, in order; the
    code ``?`` (language not recorded) is drawn last, in grey.
    """
    plt = _pyplot()
    languages = sorted({lang for p in participation for lang in p["languages"]},
                       key=lambda code: (code == "?", code))
    names = [_wrap(str(r["name"]), 24) for r in regions]
    fig, ax = plt.subplots(figsize=(7.2, 0.45 * max(len(regions), 2) + 1.2),
                           layout="constrained")
    ys = list(range(len(regions)))
    lefts = [0] * len(regions)
    for index, lang in enumerate(languages):
        values = [
            sum(int(p["languages"].get(lang, 0)) for p in participation if p["region"] == r["id"])
            for r in regions
        ]
        known = index - (1 if "?" in languages[:index] else 0)
        colour = UNKNOWN_COLOUR if lang == "?" else PALETTE[known % len(PALETTE)]
        hatch = "xx" if lang == "?" else HATCHES[(known // len(PALETTE)) % len(HATCHES)]
        ax.barh(ys, values, 0.65, left=lefts, label=language_names.get(lang, lang),
                color=colour, hatch=hatch, edgecolor="white", linewidth=0.5)
        lefts = [a + b for a, b in zip(lefts, values, strict=True)]
    ax.set_yticks(ys, names)
    ax.invert_yaxis()  # the first region on top, as in the tables
    ax.set_xlabel(value_label)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if languages:
        fig.legend(loc="outside lower center", ncols=min(len(languages), 4), frameon=False)
    return _chart(fig)
