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
    assert words == {"Green: 90%<br>and above", "Amber: 75%<br>and above"}
    # The words sit in the right margin, level with their lines, never on the data line.
    for annotation in fig.layout.annotations:
        assert (annotation.xref, annotation.x, annotation.xanchor) == ("paper", 1, "left")
        assert annotation.y in (90, 75)


def test_threshold_words_close_together_are_moved_apart():
    fig = measure_trend("Close thresholds", MONTHS, [0, 50, 100, 100], 90, 88)

    green, amber = fig.layout.annotations
    assert green.yshift > 0 > amber.yshift


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
    assert "Green: 90%" in text
    assert [r for r in caplog.records if r.name.startswith("weasyprint")] == []


# Dashboards ------------------------------------------------------------------------------------
# The dashboard charts are plain data, which pages send unchecked: each test builds a go.Figure of
# what it draws, which checks every property against Plotly's schema.


def valid(figure: dict):
    import plotly.graph_objects as go

    return go.Figure(figure)


def test_a_dashboard_trend_draws_the_thresholds_in_force_each_month_as_steps():
    from reporting.charts import threshold_trend

    fig = valid(
        threshold_trend(
            "Is timeliness on target at Willow House?",
            MONTHS,
            [("Willow House", [71, None, 88, 93])],
            green_from=[90, 90, 85, 85],
            amber_from=[75, 75, 70, 70],
        )
    )

    green, amber, line = fig.data
    assert (green.name, list(green.y), green.line.shape, green.line.dash) == (
        "Green from",
        [90, 90, 85, 85],
        "hv",
        "dash",
    )
    assert (amber.name, amber.line.dash) == ("Amber from", "dot")
    assert list(line.y) == [71, None, 88, 93]
    assert line.connectgaps is False
    assert line.marker.symbol == "circle"  # told apart by marker and dash, not colour alone


def test_a_dashboard_trend_of_many_services_shades_the_range_with_a_pattern():
    from reporting.charts import threshold_trend

    fig = valid(
        threshold_trend(
            "Is timeliness on target across 40 services?",
            MONTHS,
            [("All 40 services combined", [80, 81, 82, 83])],
            [90] * 4,
            [75] * 4,
            band=([60, 61, 62, 63], [95, 96, 97, 98]),
        )
    )

    lowest, highest = fig.data[:2]
    assert highest.fill == "tonexty" and highest.fillpattern.shape == "/"
    assert lowest.showlegend is False
    assert fig.layout.legend.traceorder == "normal"
    assert fig.layout.yaxis.range == (55, 101)


def test_dashboard_charts_refuse_numbers_that_do_not_match_the_months():
    from reporting.charts import ecm_against_audit, escalation_ages, threshold_trend

    with pytest.raises(ValueError):
        threshold_trend("?", MONTHS, [("A", [1, 2])], [90] * 4, [75] * 4)
    with pytest.raises(ValueError):
        ecm_against_audit("?", MONTHS, [1, 2, 3, 4], [1, 2])
    with pytest.raises(ValueError):
        escalation_ages("?", ["Review overdue"], [("Under 7 days", [1, 2])])


def test_escalation_ages_stack_with_a_pattern_for_each_age():
    from reporting.charts import escalation_ages

    fig = valid(
        escalation_ages(
            "Which escalations have waited longest at Willow House?",
            ["Lack of improvement after manager intervention", "Review overdue"],
            [("Under 7 days", [0, 1]), ("7 to 27 days", [1, 0]), ("28 days or more", [2, 3])],
        )
    )

    assert fig.layout.barmode == "stack"
    assert [bar.marker.pattern.shape for bar in fig.data] == ["", "/", "x"]
    assert fig.data[0].y[0] == "Lack of improvement after<br>manager intervention"


def test_a_page_chart_carries_the_question_as_text_and_the_figure_as_json():
    import json

    from reporting.charts import ecm_against_audit, page_chart

    figure = ecm_against_audit("Does the ECM agree at Smith & Sons?", MONTHS, [90] * 4, [80] * 4)
    valid(figure)
    chart = page_chart(figure)

    assert chart["title"] == "Does the ECM agree at Smith & Sons?"
    figure = json.loads(chart["json"])
    assert figure["layout"]["title"]["text"] == "Does the ECM agree at Smith &amp; Sons?"
