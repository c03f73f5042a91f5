"""Reports printed to PDF (WeasyPrint), reading nothing but our own static files.

The monthly report (`office.reviews`) and the UN petroleum report (`office.fuel`) print
through it.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any

from werkzeug.security import safe_join

from office.errors import DomainError
from office.i18n import _l

logger = logging.getLogger(__name__)


class PdfUnavailable(DomainError):
    status_code = 503


class PdfFailed(DomainError):
    """The report's content could not be printed; the HTML and CSV reports still can."""

    status_code = 422


def static_fetcher(static_url: str, static_folder: str | None) -> Any:
    """Return a WeasyPrint URL fetcher that reads our own static files (the stylesheet and
    its font) from disk and refuses every other address: nothing is fetched from a network,
    a file outside static/ or a `data:` URL, whatever the report's text holds."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFiles(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = None
            if url.startswith(static_url) and static_folder:
                path = safe_join(static_folder, url[len(static_url) :].split("?")[0])
            if path is None:
                raise ValueError(f"{url} is not one of our static files")
            with open(path, "rb") as file:
                body = file.read()
            kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, headers={"Content-Type": kind})

    # A refused or missing file is left out of the PDF (WeasyPrint logs it) rather than
    # stopping it: with fail_on_errors, WeasyPrint raises a BaseException that no error
    # handler catches, and one resource named <img src=...> broke the month's PDF for all.
    return StaticFiles(fail_on_errors=False)


def pdf(html: str, *, static_url: str, static_folder: str | None) -> bytes:
    """Print a report's HTML to PDF, reading only our own static files.

    Raises PdfUnavailable without Pango on the server, PdfFailed when WeasyPrint cannot print
    the content.
    """
    try:
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError
    except OSError:  # WeasyPrint loads Pango, a system library, when imported
        raise PdfUnavailable(
            _l(
                "PDF reports need the Pango library on the server (Debian: apt-get install "
                "libpango-1.0-0 libpangoft2-1.0-0); the HTML and CSV reports work without it."
            )
        ) from None
    try:
        printed: bytes = HTML(  # WeasyPrint ships no types
            string=html, base_url=static_url, url_fetcher=static_fetcher(static_url, static_folder)
        ).write_pdf()
    except (Exception, FatalURLFetchingError):
        logger.exception("WeasyPrint could not print a report")
        raise PdfFailed(
            _l(
                "This report could not be printed to PDF; the HTML and CSV reports hold the "
                "same figures."
            )
        ) from None
    return printed
