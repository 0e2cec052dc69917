import hashlib
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

from reporting.pdf import (
    ForbiddenURL,
    MissingStaticFile,
    StaticFileFetcher,
    render_pdf,
)
from tests.reporting.builders import audit_rows, pack_context, pdf_pages

#: A hand-made chart: enough SVG to prove a figure is drawn as text, clip path included.
FIGURE = """
<svg xmlns="http://www.w3.org/2000/svg" width="400" height="120" viewBox="0 0 400 120">
  <defs><clipPath id="plot-area"><rect x="0" y="0" width="400" height="120"/></clipPath></defs>
  <g clip-path="url(#plot-area)">
    <text x="10" y="20" font-family="DejaVu Sans" font-size="14">Completeness by month</text>
    <polyline points="10,100 100,80 200,60 300,40" fill="none" stroke="black"/>
  </g>
</svg>
"""


@pytest.fixture
def sample_pack():
    return render_pdf("reporting_tests/sample_pack.html", pack_context(chart=FIGURE))


def test_pack_reads_like_a_board_paper_with_selectable_text(sample_pack):
    pages = pdf_pages(sample_pack)
    text = "\n".join(pages)

    assert sample_pack.startswith(b"%PDF-")
    assert "Board assurance pack" in pages[0]
    assert "Contents" in pages[1]
    for heading in ("Summary", "What needs your decision", "Audited records"):
        assert heading in text
    assert "Completeness by month" in text  # the figure's own text, not a picture of it


def test_every_page_carries_organisation_pack_period_and_page_number(sample_pack):
    pages = pdf_pages(sample_pack)

    assert len(pages) > 3
    assert f"Page 1 of {len(pages)}" in pages[0]
    for number, page in enumerate(pages, start=1):
        assert "Oakfield Care Group" in page
        assert "Board assurance pack • Q3 2026 (Jul to Sep)" in page
        assert f"Page {number} of {len(pages)}" in page
        assert "Official: sensitive" in page


def test_contents_gives_the_page_each_section_starts_on(sample_pack):
    pages = pdf_pages(sample_pack)

    listed = re.search(r"Audited records\W+(\d+)", pages[1])
    starts_on = next(n for n, page in enumerate(pages, 1) if "Record reference" in page)
    assert listed is not None
    assert int(listed.group(1)) == starts_on


def test_long_table_repeats_its_header_row_on_the_next_page():
    pdf = render_pdf("reporting_tests/long_table.html", pack_context(rows=audit_rows(30)))
    pages = pdf_pages(pdf, layout=True)

    assert len(pages) >= 2
    assert "R00001" in pages[0]
    assert "R00030" not in pages[0]  # the table did break
    for page in pages:
        assert re.search(r"Record\s+Service\s+Finding\s+Score", page)  # header row
    # Nothing cut at the page edge: a row's wrapped finding ends on the page it starts on.
    for row in audit_rows(30):
        (page,) = [page for page in pages if f"Start of {row['reference']}." in page]
        assert f"End of {row['reference']}." in page


def test_same_context_gives_the_same_bytes():
    """A pack is stored with its sha256: rebuilding it from its snapshot must match."""
    first = render_pdf("reporting_tests/sample_pack.html", pack_context(chart=FIGURE))
    second = render_pdf("reporting_tests/sample_pack.html", pack_context(chart=FIGURE))

    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()


def test_static_stylesheet_and_image_are_fetched_and_used(audit_events):
    pdf = render_pdf("reporting_tests/static_assets.html", {})
    text = "\n".join(pdf_pages(pdf))

    assert "Stylesheet from static applied. Body text" in text
    assert "Image from static" in text
    opened = {path for event, path in audit_events if event == "open"}
    assert str(Path(finders.find("reporting_tests/pack-test.css"))) in opened


def test_inline_svg_needs_no_fetch(monkeypatch):
    """Why data: URLs can be refused: an inline chart never reaches the fetcher."""
    fetched = []
    original = StaticFileFetcher.fetch
    monkeypatch.setattr(
        StaticFileFetcher,
        "fetch",
        lambda self, url, headers=None: fetched.append(url) or original(self, url, headers),
    )

    render_pdf("reporting_tests/sample_pack.html", pack_context(chart=FIGURE))

    assert fetched == []


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/x.png",
        "http://127.0.0.1:8000/static/img/favicon.svg",
        "ftp://example.org/x.png",
        "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A//www.w3.org/2000/svg%22/%3E",
        "file:///etc/passwd",
        "file://example.org/static/img/favicon.svg",
        "file:///static/../etc/passwd",
        "file:///static/%2e%2e/%2e%2e/etc/passwd",
        "file:///static//etc/passwd",
    ],
)
def test_fetcher_refuses_anything_but_our_static_files(url, audit_events):
    with pytest.raises(ForbiddenURL):
        StaticFileFetcher().fetch(url)

    assert audit_events == []  # nothing opened, nothing asked of the network


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("image", "https://example.org/x.png"),
        ("stylesheet", "https://example.org/pack.css"),
        # WeasyPrint swallows errors while drawing an SVG; render_pdf still raises.
        ("svg_image", "https://example.org/x.png"),
    ],
)
def test_pack_naming_a_remote_url_fails_without_a_request(field, url, audit_events):
    with pytest.raises(ForbiddenURL, match="example.org"):
        render_pdf("reporting_tests/resource.html", {field: url})

    network = [e for e in audit_events if e[0] != "open"]
    assert network == []


@pytest.mark.parametrize("field", ["image", "stylesheet", "svg_image"])
def test_pack_naming_a_file_outside_static_fails_without_reading_it(field, audit_events):
    with pytest.raises(ForbiddenURL, match="/etc/passwd"):
        render_pdf("reporting_tests/resource.html", {field: "file:///etc/passwd"})

    assert not any("passwd" in path for _event, path in audit_events)


def test_pack_naming_a_missing_static_file_fails_loudly():
    with pytest.raises(MissingStaticFile, match="reporting_tests/gone.css"):
        render_pdf(
            "reporting_tests/resource.html", {"stylesheet": static("reporting_tests/gone.css")}
        )


def test_fetcher_serves_a_static_file_by_url_and_by_path_with_its_type():
    path = Path(finders.find("img/favicon.svg"))

    for url in (f"file://{static('img/favicon.svg')}", path.as_uri()):
        response = StaticFileFetcher().fetch(url)
        assert response.read() == path.read_bytes()
        assert response.content_type == "image/svg+xml"
