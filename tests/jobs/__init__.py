"""Following a job from a test: the request that asks for it, the worker's run (in the test's
process and transaction), and the file it leaves."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from office.jobs import runner

JOB_PAGE = re.compile(r"^/jobs/(\d+)$")


def job_id_of(response: TestResponse) -> int:
    """The id of the job whose page `response` sends the browser to."""
    assert response.status_code in (302, 303), (response.status_code, response.get_data(True)[:500])
    found = JOB_PAGE.match(response.location)
    assert found, response.location
    return int(found[1])


def run_jobs(app: Flask) -> int:
    """Run what the app's queue holds here, as a worker would; return how many ran."""
    return runner.run_queued(app)


def fetched(client: FlaskClient, path: str, data: dict | None = None) -> TestResponse:
    """Ask for the export or report at `path` (a POST, as its button sends it), let the
    worker make it, and download the file it left."""
    response = client.post(path, data=data or {})
    job_id = job_id_of(response)
    run_jobs(client.application)
    return client.get(f"/jobs/{job_id}/download")
