"""Render a pack template to PDF with WeasyPrint, fetching nothing but our own static files.

A pack is evidence: it is rendered by a worker from a frozen snapshot and stored with its sha256,
so the same snapshot must give the same PDF, today and after an inspection next year. That is
why the URL fetcher given to WeasyPrint serves only files that `{% static %}` can name (found by
Django's staticfiles finders, or in STATIC_ROOT for the hashed names of a collected build) and
refuses every other URL with `ForbiddenURL`:

- http(s): a remote stylesheet, font or image can change or vanish between two renders, the
  workers have no internet, and a URL that slipped into a pack through typed text or a data
  import would make the worker call hosts on our own network (server-side request forgery).
- file: outside the static folders: a pack goes to commissioners and inspectors; it must never
  be able to carry a file from the worker's disk (`file:///etc/passwd`, a settings file).
- data: also refused. WeasyPrint draws an inline `<svg>` (our Plotly charts) straight from the
  parsed page without calling the fetcher, and the `url(#clip...)` references inside Plotly's
  SVG are fragments of that same tree, so nothing we make needs data: URLs. One rule, "our
  static files only", is easier to trust than a list of exceptions.

Refusal is loud. The fetcher raises, WeasyPrint is told that fetch errors are fatal, and
`render_pdf` re-raises the fetcher's own exception. Some WeasyPrint paths (drawing an image
inside an SVG) swallow even fatal errors, so the fetcher also keeps every error it raised and
`render_pdf` raises the first one after rendering: a pack is never stored with a hole in it.

Text stays text: WeasyPrint embeds subsets of the installed fonts (DejaVu Sans) and draws SVG
text as PDF text, so every heading, table cell and chart title can be selected and searched.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from django.utils._os import safe_join
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

#: Root-relative links such as `{% static %}`'s "/static/css/pack.css" resolve against this.
#: A file: base keeps every resolved URL local; the fetcher maps STATIC_URL paths to files.
BASE_URL = "file:///"


class PackResourceError(Exception):
    """A pack asked for a resource the PDF renderer will not give it."""


class ForbiddenURL(PackResourceError):
    """The URL is not one of our static files: remote, data:, or a file outside the static
    folders. Nothing was requested or read."""


class MissingStaticFile(PackResourceError):
    """The URL names a static file that no staticfiles finder (nor STATIC_ROOT) has."""


class StaticFileFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves our static files and refuses everything else."""

    def __init__(self) -> None:
        # fail_on_errors: WeasyPrint stops instead of logging a warning and leaving a hole.
        super().__init__(fail_on_errors=True)
        self.errors: list[Exception] = []

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        try:
            path = self.resolve(url)
            body = path.read_bytes()
        except Exception as exc:
            self.errors.append(exc)
            raise
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # The file's own URL, so that what WeasyPrint may re-read from `response.path` is the
        # very file we checked, and relative url()s in a stylesheet resolve beside it.
        return URLFetcherResponse(path.as_uri(), body, {"Content-Type": mime_type})

    def resolve(self, url: str) -> Path:
        """The local static file that `url` names; raises ForbiddenURL or MissingStaticFile."""
        static_prefix = urljoin(BASE_URL, settings.STATIC_URL)
        bare_url = url.split("#", 1)[0].split("?", 1)[0]
        if bare_url.startswith(static_prefix):
            return _find_static(unquote(bare_url[len(static_prefix) :]), url)
        parts = urlsplit(bare_url)
        if parts.scheme.lower() == "file" and parts.netloc in ("", "localhost"):
            return _static_file_at(Path(url2pathname(parts.path)), url)
        raise ForbiddenURL(
            f"Refused {url[:200]!r}: a pack may only use our own static files "
            f"(URLs under {settings.STATIC_URL!r}, e.g. from {{% static %}})."
        )


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    pages: int


def render_pdf(template_name: str, context: dict) -> bytes:
    """The PDF of `template_name` rendered with `context`.

    Raises ForbiddenURL when the page refers to anything but our static files, and
    MissingStaticFile when it names a static file that does not exist.
    """
    return render_pdf_pages(template_name, context).content


def render_pdf_pages(template_name: str, context: dict) -> RenderedPdf:
    """As render_pdf, with the number of pages laid out."""
    html = render_to_string(template_name, context)
    fetcher = StaticFileFetcher()
    try:
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render()
        pdf = document.write_pdf()
    except FatalURLFetchingError:
        if fetcher.errors:
            raise fetcher.errors[0] from None
        raise
    if fetcher.errors:
        raise fetcher.errors[0]
    return RenderedPdf(pdf, len(document.pages))


def _find_static(name: str, url: str) -> Path:
    if not name or ".." in Path(name).parts or name.startswith("/"):
        raise ForbiddenURL(f"Refused {url[:200]!r}: not a plain static file name.")
    try:
        found = finders.find(name)
        if not found and settings.STATIC_ROOT:
            # Hashed names ("css/pack.3f2a1c.css") exist only in a collected STATIC_ROOT.
            candidate = Path(safe_join(settings.STATIC_ROOT, name))
            found = str(candidate) if candidate.is_file() else None
    except SuspiciousFileOperation as exc:
        raise ForbiddenURL(f"Refused {url[:200]!r}: outside the static folders.") from exc
    if not found:
        raise MissingStaticFile(f"No static file {name!r} (from {url[:200]!r}).")
    return Path(found)


def _static_file_at(path: Path, url: str) -> Path:
    real = path.resolve()
    if not any(real.is_relative_to(root) for root in _static_roots()):
        raise ForbiddenURL(f"Refused {url[:200]!r}: not inside our static folders.")
    if not real.is_file():
        raise MissingStaticFile(f"No static file at {str(path)!r} (from {url[:200]!r}).")
    return real


def _static_roots() -> list[Path]:
    """Every folder the staticfiles finders search, and STATIC_ROOT."""
    roots = [Path(settings.STATIC_ROOT)] if settings.STATIC_ROOT else []
    for finder in finders.get_finders():
        roots.extend(Path(root) for _prefix, root in getattr(finder, "locations", ()))
        roots.extend(Path(s.location) for s in getattr(finder, "storages", {}).values())
    return [root.resolve() for root in roots]
