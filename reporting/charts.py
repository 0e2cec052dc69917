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
    # Dash patterns and words tell the thresholds apart on a black-and-white print.
    for threshold, word, colour, dash in (
        (green_from, "Green", GREEN, "dash"),
        (amber_from, "Amber", AMBER, "dot"),
    ):
        fig.add_hline(
            y=threshold,
            line={"color": colour, "width": 1.5, "dash": dash},
            opacity=1,  # simple_white draws shapes at 0.3: too faint on paper
            annotation_text=f"{word}: {threshold:g}{unit} and above",
            annotation_position="top left",
            annotation_font={"color": INK, "size": 11},
        )
    known = [v for v in values if v is not None]
    top = max([100 if unit == "%" else green_from, *known])
    fig.update_layout(
        # Plotly reads a subset of HTML in titles: escape so a service name stays text.
        title={"text": html.escape(title), "x": 0, "xanchor": "left"},
        template="simple_white",
        font={"family": FONT_FAMILY, "size": 12, "color": INK},
        width=680,
        height=320,
        margin={"l": 56, "r": 16, "t": 56, "b": 48},
        showlegend=False,
        yaxis={"range": [0, top * 1.05], "ticksuffix": unit, "title": None},
        xaxis={"type": "category", "title": None},
    )
    return fig
