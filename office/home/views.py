from __future__ import annotations

from flask import Blueprint, Response, render_template

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
