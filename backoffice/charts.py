"""Bar charts drawn on the server as SVG geometry (no JavaScript, no CDN).

``bar_chart`` turns categories and series of integers into rectangles and axis labels that
``backoffice/templates/admin/ssr_points/bar_chart.svg.html`` renders as inline SVG.
"""

from __future__ import annotations

from dataclasses import dataclass

PALETTE = ("#2f6f9f", "#c2751c", "#8a8a8a", "#4d8f4d", "#9f2f5f")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class LegendItem:
    x: float
    fill: str
    text: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    plot_right: int
    bars: list[Bar]
    x_labels: list[AxisLabel]
    y_labels: list[AxisLabel]
    legend: list[LegendItem]


def _nice_ceiling(value: int) -> int:
    """The smallest 1/2/4 × 10ⁿ (at least 4) at or above ``value``: the axis maximum, whose
    quarters (the four gridline labels) are whole numbers."""
    if value <= 4:
        return 4
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 4, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    *, categories: list[str], series: list[tuple[str, list[int]]], width: int = 760, height: int = 280
) -> BarChart:
    """Grouped bars: one group per category, one bar per series. Negative values draw as 0."""
    left, right, top, bottom = 64, width - 8, 28, height - 28
    top_value = _nice_ceiling(max((max(values, default=0) for _, values in series), default=0))
    plot_height = bottom - top
    group_width = (right - left) / max(len(categories), 1)
    bar_width = group_width * 0.8 / max(len(series), 1)
    bars = []
    for s_index, (name, values) in enumerate(series):
        fill = PALETTE[s_index % len(PALETTE)]
        for c_index, value in enumerate(values):
            bar_height = max(value, 0) / top_value * plot_height
            bars.append(
                Bar(
                    x=round(left + c_index * group_width + group_width * 0.1 + s_index * bar_width, 1),
                    y=round(bottom - bar_height, 1),
                    width=round(bar_width, 1),
                    height=round(bar_height, 1),
                    fill=fill,
                    title=f"{categories[c_index]} {name}: {value:,}",
                )
            )
    x_labels = [
        AxisLabel(x=round(left + (i + 0.5) * group_width, 1), y=bottom + 16, text=text)
        for i, text in enumerate(categories)
    ]
    y_labels = [
        AxisLabel(x=left - 6, y=round(bottom - plot_height * i / 4, 1), text=f"{top_value * i // 4:,}")
        for i in range(5)
    ]
    legend = [
        LegendItem(x=left + i * 140, fill=PALETTE[i % len(PALETTE)], text=name) for i, (name, _) in enumerate(series)
    ]
    return BarChart(
        width=width,
        height=height,
        plot_left=left,
        plot_bottom=bottom,
        plot_right=right,
        bars=bars,
        x_labels=x_labels,
        y_labels=y_labels,
        legend=legend,
    )
