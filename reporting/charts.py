"""Charts as pure functions returning Plotly figures, and their export to SVG for packs.

The same figure is drawn by plotly.js in the browser and exported to vector SVG for a PDF
pack. Charts follow UX.md: titled as the question, threshold drawn in, readable in black and
white (dash patterns and words on the lines, never colour alone).

Export uses kaleido 1.x, which drives a headless Chromium. Starting it costs seconds and each
chart afterwards a fraction of one, so a pack opens one exporter and sends every chart through
it:

    with svg_exporter() as to_svg:
        charts = [to_svg(fig) for fig in figures]

We run our own `kaleido.Kaleido` on a private event loop thread instead of kaleido's
`start_sync_server()`: that server is one per process, a second `with` block (another pack on
another thread) would share and then stop it, concurrent callers can receive each other's
results, and when it is not running `calc_fig_sync` silently starts a browser per chart.
"""

from __future__ import annotations

import asyncio
import html
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import plotly.graph_objects as go
import tinycss2

#: Debian's chromium. BROWSER_PATH is the override that choreographer (kaleido's browser
#: driver) itself honours; we pass the path explicitly so that choreographer never goes
#: looking for a browser it downloaded.
DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: Seconds to wait for Chromium to start, and for one chart.
START_TIMEOUT = 60
CHART_TIMEOUT = 30

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
FONT_FAMILY = "DejaVu Sans, sans-serif"
INK = "#0b0c0c"
GREEN = "#00703c"
AMBER = "#b25e00"


class ChartExportError(RuntimeError):
    """Charts cannot be exported to SVG (no Chromium, or it failed)."""


def chromium_path() -> str:
    return os.environ.get("BROWSER_PATH") or DEFAULT_CHROMIUM


@contextmanager
def svg_exporter(*, chromium: str | None = None) -> Iterator[Callable[[go.Figure], str]]:
    """Start one headless Chromium and yield `to_svg(fig) -> str` that uses it.

    The browser is closed when the block ends. `to_svg` is safe to call from any thread; calls
    are served one at a time.
    """
    from kaleido import Kaleido  # imported here: it loads choreographer and logistro

    path = chromium or chromium_path()
    if not os.access(path, os.X_OK):
        raise ChartExportError(
            f"Cannot export charts: no Chromium at {path!r} (install Debian's chromium "
            "package, or set BROWSER_PATH)."
        )

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="kaleido-svg", daemon=True)
    thread.start()

    def run(coroutine, timeout: float):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    async def open_browser() -> Kaleido:
        # Built inside the loop so its queues and locks belong to it. mathjax=False: by
        # default kaleido loads MathJax from a CDN; plotly.js comes from the plotly package.
        browser = Kaleido(path=path, mathjax=False, timeout=CHART_TIMEOUT)
        try:
            await browser.open()
        except BaseException:
            await browser.close()
            raise
        return browser

    lock = threading.Lock()
    try:
        browser = run(open_browser(), START_TIMEOUT)
        try:

            def to_svg(fig: go.Figure) -> str:
                with lock:
                    svg = run(browser.calc_fig(fig, opts={"format": "svg"}), CHART_TIMEOUT + 5)
                return _presentation_attributes(svg.decode("utf-8"))

            yield to_svg
        finally:
            run(browser.close(), START_TIMEOUT)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()


def _presentation_attributes(svg: str) -> str:
    """The same SVG with each `style="..."` turned into attributes.

    WeasyPrint styles an inline <svg> twice: its SVG renderer reads style attributes and
    presentation attributes alike, but its HTML pass also reads every style attribute on the
    page and logs a warning for each SVG-only property (fill, stroke...): about 170 lines per
    Plotly chart, drowning real warnings. Plotly's SVG has no <style> element, so moving the
    declarations onto attributes draws exactly the same chart.
    """
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")  # the usual prefix
    # Markup Chromium serialised from our own figure, not input from elsewhere.
    root = ET.fromstring(svg)  # noqa: S314
    for element in root.iter():
        # Unprefixed tags under an xmlns on the root, as Chromium wrote them.
        element.tag = element.tag.removeprefix(f"{{{SVG_NAMESPACE}}}")
        style = element.attrib.pop("style", None)
        for declaration in tinycss2.parse_blocks_contents(style or ""):
            if declaration.type == "declaration":
                element.set(declaration.lower_name, tinycss2.serialize(declaration.value).strip())
    root.set("xmlns", SVG_NAMESPACE)
    return ET.tostring(root, encoding="unicode")


#: The plotting area's height in a trend chart (320 px less the top and bottom margins), and the
#: height of a two-line threshold label, for keeping labels apart.
PLOT_HEIGHT = 320 - 56 - 48
LABEL_HEIGHT = 26


def measure_trend(
    title: str,
    months: Sequence[str],
    values: Sequence[float | None],
    green_from: float,
    amber_from: float,
    *,
    unit: str = "%",
) -> go.Figure:
    """A measure month by month against its thresholds: green at or above `green_from`,
    amber at or above `amber_from`, red below. A None value is a month with no result and
    leaves a gap in the line."""
    if len(months) != len(values):
        raise ValueError(f"{len(months)} months but {len(values)} values.")
    if amber_from > green_from:
        raise ValueError(f"Amber threshold {amber_from} is above green threshold {green_from}.")

    fig = go.Figure(
        go.Scatter(
            x=list(months),
            y=list(values),
            name="Result",
            mode="lines+markers",
            connectgaps=False,
            line={"color": INK, "width": 2},
            marker={"color": INK, "size": 7, "symbol": "circle"},
            hovertemplate=f"%{{x}}: %{{y}}{unit}<extra></extra>",
        )
    )
    known = [v for v in values if v is not None]
    top = max([100 if unit == "%" else green_from, *known])
    # Start the axis a step below the lowest figure or threshold, so that months close to the
    # target can be told apart rather than drawn as one flat line along the top.
    bottom = max(0, (min([amber_from, *known]) // 10) * 10 - 10)
    ceiling = top + (top - bottom) * 0.05
    # The threshold words sit in the right margin, level with their lines, so they never sit on
    # the data line; two thresholds close together are nudged apart to stay readable.
    gap_px = (green_from - amber_from) / ((ceiling - bottom) or 1) * PLOT_HEIGHT
    nudge = max(0.0, (LABEL_HEIGHT - gap_px) / 2)
    # Dash patterns and words tell the thresholds apart on a black-and-white print.
    for threshold, word, colour, dash, shift in (
        (green_from, "Green", GREEN, "dash", nudge),
        (amber_from, "Amber", AMBER, "dot", -nudge),
    ):
        fig.add_hline(
            y=threshold,
            line={"color": colour, "width": 1.5, "dash": dash},
            opacity=1,  # simple_white draws shapes at 0.3: too faint on paper
        )
        fig.add_annotation(
            text=f"{word}: {threshold:g}{unit}<br>and above",
            xref="paper",
            x=1,
            xanchor="left",
            xshift=6,
            yref="y",
            y=threshold,
            yanchor="middle",
            yshift=shift,
            showarrow=False,
            align="left",
            font={"color": INK, "size": 10},
        )
    fig.update_layout(
        # Plotly reads a subset of HTML in titles: escape so a service name stays text.
        title={"text": html.escape(title), "x": 0, "xanchor": "left"},
        template="simple_white",
        font={"family": FONT_FAMILY, "size": 12, "color": INK},
        width=680,
        height=320,
        margin={"l": 56, "r": 104, "t": 56, "b": 48},
        showlegend=False,
        yaxis={"range": [bottom, ceiling], "ticksuffix": unit, "title": None},
        xaxis={"type": "category", "title": None},
    )
    return fig


# Dashboards ------------------------------------------------------------------------------------
# Drawn in the browser at the page's width, in the assurance pages' style (assurance/charts.py):
# the same line patterns and layout, so a measure looks the same on every screen.
#
# These return figures as plain data, the form Plotly reads as readily as a go.Figure (plotly.js
# takes it as it is; go.Figure(figure) builds the object, for an SVG or a check). Building the
# objects validates every property: for the dozen figures of a dashboard of 40 services, about a
# third of the page's time. The tests validate every figure these draw; pages send them as built.


#: The assurance charts' layout as plain data, worked out on first use.
_DASHBOARD_LAYOUT: dict = {}


def _dashboard_layout() -> dict:
    """The assurance charts' layout, from assurance.charts._layout, once. No Plotly template:
    its defaults are overridden anyway, and it would add 6 kB to every chart on the page."""
    if not _DASHBOARD_LAYOUT:
        from assurance.charts import _layout

        layout = _layout(go.Figure(layout={"template": "none"}), "").layout.to_plotly_json()
        _DASHBOARD_LAYOUT.update(layout, xaxis={"type": "category", "showgrid": False})
    return _DASHBOARD_LAYOUT


def _figure(question: str, traces: list[dict], **layout) -> dict:
    """A figure with the dashboards' layout, `layout` overriding it key by key (one level down
    for dictionaries such as yaxis), titled with the question."""
    from copy import deepcopy

    merged = deepcopy(_dashboard_layout())
    for key, value in layout.items():
        merged[key] = (
            {**merged[key], **value} if isinstance(value, dict) and key in merged else value
        )
    # Plotly reads a subset of HTML in titles: escape so a service name stays text.
    merged["title"]["text"] = html.escape(question)
    return {"data": traces, "layout": merged}


def _percent_axis(*series: Sequence[float | None]) -> dict:
    """Start the percentage axis just below the lowest value, so close lines can be told
    apart, and end it just above 100%."""
    values = [v for values in series for v in values if v is not None]
    low = max(0, (min(values) // 10) * 10 - 5) if values else 0
    return {"range": [low, 101]}


def threshold_trend(
    question: str,
    months: Sequence[str],
    lines: Sequence[tuple[str, Sequence[float | None]]],
    green_from: Sequence[float],
    amber_from: Sequence[float],
    *,
    band: tuple[Sequence[float | None], Sequence[float | None]] | None = None,
    band_name: str = "Range across services",
) -> dict:
    """A measure month by month against the thresholds in force each month, drawn as steps so
    that a change of threshold shows where it happened. One line per series; `band`, the lowest
    and highest values each month, is shaded with a pattern behind them."""
    from assurance.charts import COLOURS, DASHES, SYMBOLS

    if any(len(values) != len(months) for _, values in lines) or not (
        len(green_from) == len(amber_from) == len(months)
    ):
        raise ValueError("Every line and threshold needs one value a month.")
    x = list(months)
    traces = []
    if band is not None:
        lowest, highest = band
        edge = {"color": "#768692", "width": 1}
        traces += [
            {
                "type": "scatter",
                "x": x,
                "y": list(lowest),
                "name": f"{band_name}: lowest",
                "mode": "lines",
                "line": edge,
                "connectgaps": False,
                "showlegend": False,
                "hovertemplate": "%{x}: lowest %{y}%<extra></extra>",
            },
            {
                "type": "scatter",
                "x": x,
                "y": list(highest),
                "name": band_name,
                "legendrank": 3000,
                "mode": "lines",
                "line": edge,
                "fill": "tonexty",
                "fillcolor": "rgba(118, 134, 146, 0.15)",
                "fillpattern": {
                    "shape": "/",
                    "fgcolor": "#aeb7bd",
                    "size": 10,
                    "fillmode": "overlay",
                },
                "connectgaps": False,
                "hovertemplate": "%{x}: highest %{y}%<extra></extra>",
            },
        ]
    # Thresholds before the results, so the results are drawn over them; in the legend, results
    # come first.
    for word, values, colour, dash in (
        ("Green from", green_from, GREEN, "dash"),
        ("Amber from", amber_from, AMBER, "dot"),
    ):
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": list(values),
                "name": word,
                "legendrank": 2000,
                "mode": "lines",
                "line": {"color": colour, "width": 1.5, "dash": dash, "shape": "hv"},
                "hovertemplate": f"%{{x}}: {word.lower()} %{{y}}%<extra></extra>",
            }
        )
    for i, (name, values) in enumerate(lines):
        traces.append(
            {
                "type": "scatter",
                "x": x,
                "y": list(values),
                "name": name,
                "mode": "lines+markers",
                "line": {"dash": DASHES[i % len(DASHES)], "color": COLOURS[i % len(COLOURS)]},
                "marker": {"symbol": SYMBOLS[i % len(SYMBOLS)], "size": 8},
                "connectgaps": False,
                "hovertemplate": f"{html.escape(name)}, %{{x}}: %{{y}}%<extra></extra>",
            }
        )
    return _figure(
        question,
        traces,
        # Plotly lists filled traces in reverse unless told: results, thresholds, then the band.
        legend={"traceorder": "normal"},
        yaxis=_percent_axis(
            green_from, amber_from, *(values for _, values in lines), *(band or ())
        ),
    )


def ecm_against_audit(
    question: str,
    months: Sequence[str],
    ecm: Sequence[float | None],
    audit: Sequence[float | None],
) -> dict:
    """Completeness of the same audited records as the ECM reports it and as the auditors found
    it, month by month: where the lines part, the ECM's dashboard cannot be relied on."""
    from assurance.charts import COLOURS

    if not len(months) == len(ecm) == len(audit):
        raise ValueError("Both lines need one value a month.")
    traces = [
        {
            "type": "scatter",
            "x": list(months),
            "y": list(values),
            "name": name,
            "mode": "lines+markers",
            "line": {"color": colour, "dash": dash},
            "marker": {"symbol": symbol, "size": 8},
            "connectgaps": False,
            "hovertemplate": f"{name}, %{{x}}: %{{y}}%<extra></extra>",
        }
        for name, values, colour, dash, symbol in (
            ("Complete, as the ECM reports", ecm, COLOURS[0], "solid", "circle"),
            ("Complete, as the auditors found", audit, COLOURS[3], "dash", "square"),
        )
    ]
    return _figure(question, traces, yaxis=_percent_axis(ecm, audit))


def escalation_ages(
    question: str, triggers: Sequence[str], ages: Sequence[tuple[str, Sequence[int]]]
) -> dict:
    """Open escalations by trigger, each bar split by how long they have waited; the oldest
    part is red and cross-hatched, so it stands out in black and white too."""
    import textwrap

    if any(len(counts) != len(triggers) for _, counts in ages):
        raise ValueError("Every age needs one count a trigger.")
    # Long trigger names on two lines, to leave the bars room on a tablet.
    names = ["<br>".join(textwrap.wrap(html.escape(t), 28)) for t in triggers]
    shades = [("#aeb7bd", ""), (AMBER, "/"), ("#d5281b", "x")]
    traces = [
        {
            "type": "bar",
            "y": names,
            "x": list(counts),
            "name": label,
            "orientation": "h",
            "marker": {
                "color": colour,
                # Over the colour, not instead of it.
                "pattern": {"shape": pattern, "fgcolor": INK, "fillmode": "overlay", "size": 8},
            },
            "hovertemplate": f"%{{y}}: %{{x}} {html.escape(label.lower())}<extra></extra>",
        }
        for (label, counts), (colour, pattern) in zip(ages, shades, strict=False)
    ]
    return _figure(
        question,
        traces,
        barmode="stack",
        height=140 + 44 * len(triggers),
        margin={"l": 16, "b": 88},
        # Under the axis, in the order of the ages, whatever the number of triggers.
        legend={
            "orientation": "h",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
        xaxis={"type": "linear", "rangemode": "tozero", "tickformat": "d", "showgrid": True},
        yaxis={"range": None, "ticksuffix": "", "autorange": "reversed", "automargin": True},
    )


def page_chart(figure: dict) -> dict:
    """What a page needs to draw a figure: its question as text, and the figure as JSON."""
    import json

    return {"title": html.unescape(figure["layout"]["title"]["text"]), "json": json.dumps(figure)}
