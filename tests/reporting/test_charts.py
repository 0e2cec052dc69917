import logging
import os
import time

import pytest

from reporting.charts import ChartExportError, chromium_path, measure_trend, svg_exporter
from reporting.pdf import render_pdf
from tests.reporting.builders import pack_context, pdf_pages

MONTHS = ["Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026"]

needs_chromium = pytest.mark.skipif(
    not os.access(chromium_path(), os.X_OK),
    reason=f"SVG export needs Chromium at {chromium_path()} (Debian package chromium)",
)


def test_trend_marks_thresholds_with_line_patterns_and_words():
    fig = measure_trend("Is completeness improving?", MONTHS, [71, None, 88, 93], 90, 75)

    (result,) = fig.data
    assert list(result.y) == [71, None, 88, 93]
    assert result.connectgaps is False  # a month with no audit shows as a gap
    assert result.mode == "lines+markers"
    dashes = {shape.y0: shape.line.dash for shape in fig.layout.shapes}
    assert dashes == {90: "dash", 75: "dot"}
    words = {annotation.text for annotation in fig.layout.annotations}
    assert words == {"Green: 90% and above", "Amber: 75% and above"}


def test_trend_title_is_shown_as_typed_not_as_markup():
    fig = measure_trend("<b>Willow</b> & Beech", MONTHS, [1, 2, 3, 4], 90, 75)

    assert fig.layout.title.text == "&lt;b&gt;Willow&lt;/b&gt; &amp; Beech"


@pytest.mark.parametrize(
    ("months", "values", "green_from", "amber_from"),
    [(MONTHS, [1, 2], 90, 75), (MONTHS, [1, 2, 3, 4], 75, 90)],
)
def test_trend_refuses_inconsistent_input(months, values, green_from, amber_from):
    with pytest.raises(ValueError):
        measure_trend("Title", months, values, green_from, amber_from)


def test_exporter_without_chromium_says_what_is_missing(tmp_path):
    with (
        pytest.raises(ChartExportError, match="no Chromium at"),
        svg_exporter(chromium=str(tmp_path / "chromium")),
    ):
        pass


@pytest.fixture(scope="module")
def exporter():
    """One exporter for the module, counting how many browsers it starts."""
    from kaleido import Kaleido

    starts = []
    original_open = Kaleido.open

    async def counting_open(self):
        starts.append(time.perf_counter())
        return await original_open(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Kaleido, "open", counting_open)
        with svg_exporter() as to_svg:
            yield to_svg, starts


@needs_chromium
def test_one_browser_exports_every_chart_of_a_pack_as_svg(exporter):
    to_svg, starts = exporter
    titles = ["Is completeness improving at Willow House?", "Are audits done on time?"]

    svgs = [to_svg(measure_trend(title, MONTHS, [71, 80, 88, 93], 90, 75)) for title in titles]

    for svg, title in zip(svgs, titles, strict=True):
        assert svg.startswith("<svg")
        assert title in svg
        assert 'style="' not in svg  # moved onto attributes for WeasyPrint
    assert len(starts) == 1


@needs_chromium
def test_chart_in_a_pack_keeps_its_text_selectable_and_logs_nothing(exporter, caplog):
    to_svg, _starts = exporter
    svg = to_svg(
        measure_trend(
            "Care notes written on time at Willow House", MONTHS, [71, 80, 88, 93], 90, 75
        )
    )

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = render_pdf("reporting_tests/sample_pack.html", pack_context(chart=svg))
    text = "\n".join(pdf_pages(pdf))

    assert "Care notes written on time at Willow House" in text
    assert "Green: 90% and above" in text
    assert [r for r in caplog.records if r.name.startswith("weasyprint")] == []
