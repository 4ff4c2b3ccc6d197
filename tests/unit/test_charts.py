"""The participation charts keep each panel at its readable size, whatever words surround
it: a region's name in three lines, thousands of messages, a short last row."""

from __future__ import annotations

import base64

import pytest

from meetbot.research.charts import PLOT_HEIGHT, PLOT_WIDTH, _PanelGrid, per_meeting_panels


def plot_size(grid: _PanelGrid) -> tuple[float, float]:
    width, height = grid.size
    space = grid.spacing()
    plots_w = (space["right"] - space["left"]) * width
    plots_h = (space["top"] - space["bottom"]) * height
    return (plots_w / (grid.columns + (grid.columns - 1) * space["wspace"]),
            plots_h / (grid.rows + (grid.rows - 1) * space["hspace"]))


@pytest.mark.parametrize("grid", [
    _PanelGrid(columns=3, rows=2, title_lines=1, digits=1, ragged=False),
    _PanelGrid(columns=3, rows=8, title_lines=3, digits=5, ragged=True),
    _PanelGrid(columns=1, rows=1, title_lines=2, digits=2, ragged=False),
])
def test_every_panel_keeps_its_plot_size(grid: _PanelGrid) -> None:
    assert plot_size(grid) == pytest.approx((PLOT_WIDTH, PLOT_HEIGHT))


def test_longer_names_and_numbers_make_the_chart_larger_not_the_plots_smaller() -> None:
    plain = _PanelGrid(columns=3, rows=3, title_lines=1, digits=1, ragged=False)
    wordy = _PanelGrid(columns=3, rows=3, title_lines=3, digits=5, ragged=True)
    assert wordy.size[0] > plain.size[0] and wordy.size[1] > plain.size[1]


def test_a_network_of_many_regions_and_long_names_draws_every_panel() -> None:
    names = ["Región Andina y del Caribe occidental, con un nombre muy largo", "Sahel",
             "East Africa", "Europe de l'Ouest", "South & South-East Asia <Pacific>", "Nord",
             "Sud"]
    regions = [{"id": f"r{i}", "name": name} for i, name in enumerate(names)]
    held = [{"region": f"r{i}", "number": n, "messages": 1234 * n, "people": 5}
            for i in range(6) for n in range(1, 11)]
    chart = per_meeting_panels(held, regions, "messages", "Reunión", "mensajes", "ninguna")
    svg = base64.b64decode(chart.uri.split(",", 1)[1]).decode()
    assert chart.width >= 500 and chart.height > chart.width * 0.6  # three rows, not squashed
    assert svg.count('id="axes_') == len(regions)  # the eighth and ninth cells stay empty
