"""`flask jobs ...`: run a worker, sweep, clean up, list."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from office.db import db

jobs_cli = AppGroup("jobs", help="The job queue: run a worker, list and tidy jobs.")


@jobs_cli.command("worker")
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Jobs this worker runs at once.",
)
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Also run the periodic jobs' clock (the sweep, the daily clean-up).",
)
def worker(threads: int, periodic: bool) -> None:
    """Take jobs from the queue and run them until stopped (Ctrl-C, or SIGTERM for a
    graceful stop)."""
    from huey.consumer import Consumer

    from office.jobs.queue import queue_of

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    queue = queue_of(app)
    consumer = Consumer(
        queue.huey,
        workers=threads,
        periodic=periodic,
        worker_type="thread",
        # The queue is polled at most this long apart when idle; PostgreSQL's LISTEN/NOTIFY
        # wakes a waiting worker at once.
        max_delay=2.0,
        graceful_signal="TERM",
        shutdown_timeout=60,
    )
    click.echo(f"Worker started: {threads} thread(s), periodic jobs {'on' if periodic else 'off'}.")
    consumer.run()


@jobs_cli.command("sweep")
def sweep() -> None:
    """Retry or fail the jobs whose worker died; hand lost ones to the queue again."""
    from office.jobs import runner

    handed = runner.sweep(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"{handed} job(s) handed to the queue again.")


@jobs_cli.command("list")
@click.option("--limit", default=20, show_default=True)
def list_jobs(limit: int) -> None:
    """List the newest jobs."""
    from office.jobs import services

    for job in services.jobs_of(db.session, None, limit=limit):
        owner = job.owner.email if job.owner else "-"
        made = f"{job.created_at:%Y-%m-%d %H:%M}"
        click.echo(f"{job.id}\t{job.kind}\t{job.state.value}\t{job.attempts}\t{owner}\t{made}")


@jobs_cli.command("run-queued")
def run_queued() -> None:
    """Run what is waiting in the queue here, one job after another, then stop."""
    from office.jobs import runner

    ran = runner.run_queued(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"{ran} job(s) run.")
