"""Charts for data assurance pages: pure functions from figures to Plotly figures.

Each chart answers one question, draws the threshold in, and is readable in black and white
(markers and dash styles as well as colour). Pages show the same numbers as a table beside it.
"""

from __future__ import annotations

import plotly.graph_objects as go

from assurance.measures import Rating

DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star"]
COLOURS = ["#005eb8", "#007f3b", "#d5281b", "#7c2855", "#ed8b00", "#425563"]
RATING_COLOURS = {Rating.GREEN: "#007f3b", Rating.AMBER: "#ed8b00", Rating.RED: "#d5281b"}


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 16}},
        font={"family": "DejaVu Sans, Arial, sans-serif", "size": 13, "color": "#212b32"},
        margin={"l": 48, "r": 16, "t": 56, "b": 48},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.2},
        height=380,
    )
    fig.update_yaxes(range=[0, 100], ticksuffix="%", gridcolor="#d8dde0")
    return fig


def trend_figure(service_name: str, measures: list[dict], months) -> go.Figure:
    """Is data quality improving at a service? One line per measure over the months."""
    fig = go.Figure()
    labels = [m.start.strftime("%b %Y") for m in months]
    for i, row in enumerate(measures):
        values = [float(f.value) if f.value is not None else None for f in row["trend"]]
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=values,
                name=row["measure"].name,
                mode="lines+markers",
                line={"dash": DASHES[i % len(DASHES)], "color": COLOURS[i % len(COLOURS)]},
                marker={"symbol": SYMBOLS[i % len(SYMBOLS)], "size": 8},
                connectgaps=False,
            )
        )
    fig = _layout(fig, f"Is data quality improving at {service_name}?")
    # Start the axis just below the lowest figure, so lines close to 100% can be told apart.
    values = [v for trace in fig.data for v in trace.y if v is not None]
    if values:
        fig.update_yaxes(range=[max(0, (min(values) // 10) * 10 - 5), 101])
    return fig


def comparison_figure(grid: list[dict], measures, month) -> go.Figure:
    """How do services compare this month? Grouped bars per measure, with each service's
    amber threshold drawn as a marker."""
    fig = go.Figure()
    # Two-line labels, so they fit under their bars on a tablet.
    names = [m.name.replace(" ", "<br>", 1) for m in measures]
    grid = [row for row in grid if any(f.value is not None for f in row["figures"])]
    for i, row in enumerate(grid):
        fig.add_trace(
            go.Bar(
                x=names,
                y=[float(f.value) if f.value is not None else None for f in row["figures"]],
                name=row["service"].name,
                marker={
                    "color": COLOURS[i % len(COLOURS)],
                    "pattern": {"shape": ["", "/", "\\", "x", "-", "|", "+", "."][i % 8]},
                },
            )
        )
    if grid:
        fig.add_trace(
            go.Scatter(
                x=names,
                y=[float(f.thresholds.green_from) for f in grid[0]["figures"]],
                name="Green from",
                mode="markers",
                marker={
                    "symbol": "line-ew-open",
                    "size": 40,
                    "color": "#212b32",
                    "line": {"width": 3},
                },
            )
        )
    fig.update_layout(barmode="group")
    return _layout(fig, f"How do services compare in {month.label}?")


def as_page_chart(fig: go.Figure) -> dict:
    return {"title": fig.layout.title.text, "json": fig.to_json()}


def trend_chart(service_name, measures, months) -> dict:
    return as_page_chart(trend_figure(service_name, measures, months))


def comparison_chart(grid, measures, month) -> dict:
    return as_page_chart(comparison_figure(grid, measures, month))
