"""Reports never fetch anything from outside the app, and no content can break one (#15,
finding 2): a resource named `<img src="http://...">` made WeasyPrint's URL fetcher raise a
BaseException that escaped Flask, a bare 500 without the security headers on every request
for that month's PDF."""

from __future__ import annotations

import socket
from datetime import date

import pypdfium2
import pytest

from office.auth.permissions import Role
from office.reviews import report
from tests.conftest import log_in
from tests.factories import draw, make_resource, make_user, make_waiver
from tests.jobs import fetched

IMAGE = '<img src="http://evil.example/pixel.png">'


@pytest.fixture
def outbound(monkeypatch):
    """Every network connection attempted, refused."""
    attempts: list[object] = []

    def connect(address, *args, **kwargs):
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", connect)
    return attempts


@pytest.fixture
def october(session):
    """An override in October 2018 on a resource whose name is an image tag."""
    admin = make_user(session, Role.ADMIN)
    pixel = make_resource(session, "pixel", name=IMAGE)
    line = make_waiver(session, [(pixel, pixel.unit, "100", "100")]).lines[0]
    draw(session, pixel, "300", line=line, on=date(2018, 10, 3), actor=admin, override="Urgent.")
    return pixel


def pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    try:
        text = "".join(document[n].get_textpage().get_text_range() for n in range(len(document)))
    finally:
        document.close()
    return "".join(text.split())


def test_a_resource_named_like_an_image_is_printed_as_text(client, session, october, outbound):
    log_in(client, make_user(session, Role.REVIEWER))

    response = fetched(client, "/reviews/reports/2018-10.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "".join(IMAGE.split()) in pdf_text(response.get_data())
    assert outbound == []


def test_the_pdf_reads_our_static_files_and_nothing_else(app, outbound):
    html = (
        '<link rel="stylesheet" href="http://localhost/static/css/print.css">'
        '<link rel="stylesheet" href="file:///etc/passwd">'
        f"<p>Report</p>{IMAGE}"
        '<img src="https://evil.example/a.png"><img src="../../../etc/passwd">'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
    )
    with app.test_request_context():
        printed = report.pdf(
            html, static_url="http://localhost/static/", static_folder=app.static_folder
        )
    assert printed.startswith(b"%PDF") and "Report" in pdf_text(printed)
    assert outbound == []

    fetch = report.static_fetcher("http://localhost/static/", app.static_folder)
    assert fetch("http://localhost/static/css/print.css").read()
    for url in (
        "http://evil.example/pixel.png",
        "file:///etc/passwd",
        "http://localhost/static/../../../etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
    ):
        with pytest.raises(ValueError):
            fetch(url)


@pytest.mark.parametrize("failure", ["error", "fatal fetch"])
def test_a_pdf_that_cannot_be_printed_is_a_clear_message_not_a_500(
    client, session, october, monkeypatch, failure
):
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    def broken(self, *args, **kwargs):
        if failure == "error":
            raise ValueError("a layout WeasyPrint cannot make")
        raise FatalURLFetchingError("a fetch that must stop the rendering")

    monkeypatch.setattr(HTML, "write_pdf", broken)
    log_in(client, make_user(session, Role.REVIEWER))

    response = fetched(client, "/reviews/reports/2018-10.pdf")

    # The job failed, once (printing again would fail again), and says why on its page.
    assert response.status_code == 404
    assert "This job failed: it left no file." in response.get_data(as_text=True)
    assert "Content-Security-Policy" in response.headers
    job = client.get(response.request.path.removesuffix("/download") + ".json").get_json()
    assert job["state"] == "failed"
    assert "could not be printed to PDF" in job["detail_html"]
    # The month's other reports still work.
    assert client.get("/reviews/reports/2018-10").status_code == 200
    assert client.get("/reviews/reports/2018-10.csv").status_code == 200
