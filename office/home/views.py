from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_from_directory

from office.auth.access import login_required, public

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> str:
    return render_template("home/index.html")


@bp.get("/healthz")
@public
def healthz() -> Response:
    """Tell a load balancer the process is up; touches nothing else."""
    return Response("ok\n", mimetype="text/plain")


@bp.get("/favicon.ico")
@public
def favicon() -> Response:
    """Answer the browser's own request for the site's icon with the SVG the pages link to."""
    return send_from_directory(
        current_app.static_folder or "static", "favicon.svg", mimetype="image/svg+xml"
    )
