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

from meetbot.waiting import freeze_long_lived

# Okabe & Ito's colour-blind-safe palette, dark enough on white for bars (the yellow last).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#F0E442")
HATCHES = ("", "//", "..", "xx")
UNKNOWN_COLOUR = "#9E9E9E"  # messages whose language was not recorded
BAR_COLOUR = PALETTE[0]
FONT_SIZE = 9  # points: 12 CSS pixels at the chart's natural size

# The plots of the per-meeting charts' panels, in inches (their words are around them).
PLOT_WIDTH, PLOT_HEIGHT, MAX_COLUMNS = 2.45, 1.3, 3


@dataclass(frozen=True)
class Chart:
    uri: str  # data:image/svg+xml;base64,...
    width: int  # natural size, CSS pixels
    height: int


@cache
def _matplotlib() -> Any:
    """matplotlib, loaded on the first chart (it costs ~40 MB and half a second at start).

    Only its object API: each chart is a :class:`~matplotlib.figure.Figure` of its own,
    never pyplot's global figures, so charts can be drawn outside the main thread.
    """
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "meetbot"  # the same report gives the same bytes
    matplotlib.rcParams["font.size"] = FONT_SIZE
    import matplotlib.figure
    import matplotlib.ticker

    freeze_long_lived()  # ~50,000 objects of matplotlib's, there for good
    return matplotlib


def _figure(**options: Any) -> Any:
    return _matplotlib().figure.Figure(**options)


_SIZE = re.compile(rb'<svg[^>]*?width="([\d.]+)pt"[^>]*?height="([\d.]+)pt"')


def _chart(fig: Any, *, tight: bool = True) -> Chart:
    """The figure as SVG; ``tight``: trimmed to what is drawn (else laid out to its edges)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight" if tight else None,
                metadata={"Date": None})
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
    """Small multiples: per region, a bar per meeting held (``key``: people or messages).

    The panels share their scales, so the ticks are worked out once, and the grid is laid
    out from the words it holds (a layout engine measuring every panel's ticks and words
    took most of a report's time at network scale).
    """
    numbers = sorted({int(p["number"]) for p in participation}) or [1]
    count = max(len(regions), 1)
    columns = min(MAX_COLUMNS, count)
    rows = math.ceil(count / columns)
    titles = [_wrap(str(region["name"])) for region in regions]
    highest = max([int(p[key]) for p in participation] or [1]) or 1
    grid = _PanelGrid(columns, rows, max((t.count("\n") + 1 for t in titles), default=1),
                      len(str(highest)), ragged=count % columns != 0)
    fig = _figure(figsize=grid.size)
    axes = fig.subplots(rows, columns, squeeze=False, sharex=True, sharey=True,
                        gridspec_kw=grid.spacing())
    locator = _matplotlib().ticker.MaxNLocator(nbins=4, integer=True)
    y_ticks = [int(t) for t in locator.tick_values(0, highest) if 0 <= t <= highest]
    first = axes.flat[0]
    first.set_xlim(min(numbers) - 0.6, max(numbers) + 0.6)
    first.set_ylim(0, highest * 1.06)
    first.set_xticks(numbers if len(numbers) <= 8 else numbers[:: math.ceil(len(numbers) / 8)])
    first.set_yticks(y_ticks)
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
        # Where the title goes is known (no tick labels above): matplotlib need not work it
        # out by measuring every panel of the row.
        ax.set_title(titles[index], fontsize=FONT_SIZE, loc="left", y=1.0, pad=4)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        if index % columns == 0:
            ax.set_ylabel(value_label)
        if index // columns == rows - 1 or index + columns >= len(regions):
            ax.set_xlabel(meeting_label)
            ax.tick_params(labelbottom=True)
    return _chart(fig, tight=False)


# Heights and widths of the words around a panel, in inches, at FONT_SIZE; the air between
# panels side by side and after the last.
_LINE, _DIGIT, _TICKS, _LABEL = FONT_SIZE * 1.25 / 72, FONT_SIZE * 0.62 / 72, 0.22, 0.2
_BESIDE, _RIGHT = 0.3, 0.15


@dataclass(frozen=True)
class _PanelGrid:
    """Where the panels go: each plot at its readable size, with room for the words above,
    beside and below it (a region's name in up to ``title_lines`` lines, tick labels of up
    to ``digits`` digits, the axis labels); ``ragged``: the last row is short, so the panels
    above its gap show their meeting numbers too."""

    columns: int
    rows: int
    title_lines: int
    digits: int
    ragged: bool

    @property
    def _margins(self) -> tuple[float, float, float, float]:
        top = self.title_lines * _LINE + 0.12
        left = _LABEL + self.digits * _DIGIT + 0.25
        bottom = _TICKS + _LABEL + 0.15
        between = top + (bottom if self.ragged else 0.12)  # a row's title and the one above
        return top, left, bottom, between

    @property
    def size(self) -> tuple[float, float]:
        top, left, bottom, between = self._margins
        return (left + self.columns * PLOT_WIDTH + (self.columns - 1) * _BESIDE + _RIGHT,
                top + self.rows * PLOT_HEIGHT + (self.rows - 1) * between + bottom)

    def spacing(self) -> dict[str, float]:
        top, left, bottom, between = self._margins
        width, height = self.size
        return {"left": left / width, "right": 1 - _RIGHT / width, "bottom": bottom / height,
                "top": 1 - top / height, "wspace": _BESIDE / PLOT_WIDTH,
                "hspace": between / PLOT_HEIGHT}


def language_bars(
    participation: Sequence[Mapping[str, Any]], regions: Sequence[Mapping[str, Any]],
    language_names: Mapping[str, str], value_label: str,
) -> Chart:
    """Stacked horizontal bars: per region, its messages split by the language written in.

    ``language_names`` gives each language code its name for the legend, in order; the
    code ``?`` (language not recorded) is drawn last, in grey.
    """
    languages = sorted({lang for p in participation for lang in p["languages"]},
                       key=lambda code: (code == "?", code))
    names = [_wrap(str(r["name"]), 24) for r in regions]
    fig = _figure(figsize=(7.2, 0.45 * max(len(regions), 2) + 1.2), layout="constrained")
    ax = fig.subplots()
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
