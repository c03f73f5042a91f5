"""Domain errors and the handlers that turn errors into HTML pages or JSON problem details."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from office.i18n import _

API_PREFIX = "/api/"


class DomainError(Exception):
    """A rule of the domain refused an action; the message is for the user to read."""

    status_code = 422

    def __init__(self, message: Any, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def __str__(self) -> str:
        return str(self.message)


class InvalidInput(DomainError):
    """The input is well formed but does not make sense (a date in the future, a bad unit)."""

    status_code = 422


class NotFoundError(DomainError):
    """The thing asked for does not exist."""

    status_code = 404


class ForbiddenError(DomainError):
    """The acting user's role does not allow the action."""

    status_code = 403


class ConflictError(DomainError):
    """The action clashes with the current state of the thing (a transition not allowed)."""

    status_code = 409


def wants_json() -> bool:
    return request.path.startswith(API_PREFIX)


def problem(status: int, detail: str, title: str | None = None, **members: Any) -> Response:
    """Return an RFC 9457 problem-details response."""
    from werkzeug.http import HTTP_STATUS_CODES

    body = {
        "type": "about:blank",
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **members,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _page(status: int, message: str | None = None) -> tuple[str, int]:
    template = f"errors/{status}.html" if status in (400, 403, 404, 500) else "errors/generic.html"
    return render_template(template, status=status, message=message), status


def page_or_problem(status: int, message: str) -> Any:
    """Answer `status` with `message`: a problem for the API, an error page for the rest."""
    return problem(status, message) if wants_json() else _page(status, message)


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    if wants_json():
        response = problem(status, exc.description or "")
    elif status == 405:
        response = make_response(
            _page(status, _("This address does not accept that kind of request."))
        )
    elif status == 413:
        return _page(status, _("The upload is too large."))
    elif status not in (400, 403, 404, 500):
        return _page(status, exc.description)
    else:
        return _page(status)
    # The exception's own headers, such as a 405's Allow (RFC 9110 requires it there).
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _csrf_error(exc: CSRFError) -> Any:
    message = _(
        "The form had expired or was not sent from this site. Reload the page and try again."
    )
    if wants_json():
        return problem(400, str(message))
    return _page(400, message)


def _domain_error(exc: DomainError) -> Any:
    # Views catch domain errors to show them beside the form; this is the safety net for one
    # that escapes, so the user still reads the rule instead of a server error.
    if wants_json():
        return problem(exc.status_code, str(exc))
    return _page(exc.status_code, str(exc))


def _server_error(exc: InternalServerError) -> Any:
    # Flask has already logged the original exception; reveal nothing of it.
    if wants_json():
        return problem(500, "The server could not complete the request.")
    return _page(500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
