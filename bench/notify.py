"""Print how fast the workers send the notices' mails to a real SMTP server, and that several
workers at once send each mail once.

    .venv/bin/python bench/notify.py [--notices 100] [--readers 5] [--workers 4]
                                     [--database-url URL]

A database is built with the real migrations (a temporary SQLite file, or the empty
PostgreSQL database given); `--readers` administrators choose every reviewer's query by email;
`--notices` queries are raised through `office.alerts.services.raise_notice`, each owing a mail
to each reader. A local SMTP server (aiosmtpd) takes the mails; `--workers` threads run the
workers' sender (`office.alerts.mail.send_owed_mails`) at once. The script prints the mails
owed, received and sent, the duplicates (must be 0), and the time and rate.

Timing never goes into the tests; this script only prints.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.ledger import migrate  # noqa: E402
from office import create_app  # noqa: E402
from office.alerts import mail, services  # noqa: E402
from office.alerts.models import (  # noqa: E402
    Channel,
    DeliveryState,
    NoticeDelivery,
    NoticeKind,
    NoticePreference,
)
from office.auth import services as auth_services  # noqa: E402
from office.auth.permissions import Role  # noqa: E402
from office.db import create_engine_for, db, utcnow  # noqa: E402
from tests.alerts.conftest import free_port, send_to, smtp_server  # noqa: E402

SECRET = "bench-notify-secret-" + "x" * 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=100)
    parser.add_argument("--readers", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="office-bench-notify-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'office.db'}"
        engine = create_engine_for(url)
        migrate(engine)
        now = utcnow()
        with Session(engine) as session:
            for n in range(args.readers):
                user = auth_services.create_user(
                    session,
                    email=f"admin{n}@bench.example",
                    display_name=f"Admin {n}",
                    role=Role.ADMIN,
                    password="bench-notify-password",
                    actor=None,
                    now=now,
                )
                session.add(
                    NoticePreference(
                        user_id=user.id,
                        kind=NoticeKind.QUERY_ASKED,
                        channel=Channel.EMAIL,
                        language="ko" if n % 2 else "en",
                        updated_at=now,
                    )
                )
            session.commit()
        engine.dispose()

        app = create_app(
            {"OFFICE_ENV": "development", "SECRET_KEY": SECRET, "OFFICE_DATABASE_URL": url},
            OFFICE_JOBS_URL="memory://",
        )
        port = free_port()
        controller, mailbox = smtp_server(port)
        send_to(app.config, port)
        try:
            with app.app_context(), db.new_session(writes=True) as session:
                for n in range(args.notices):
                    services.raise_notice(
                        session,
                        NoticeKind.QUERY_ASKED,
                        f"review:query:{n}",
                        {"item_kind": "dip_variance", "id": n, "who": "R", "words": f"#{n}"},
                        "reviews.queue",
                        {},
                        now=now,
                        actor=None,
                    )
                session.commit()
                owed = session.scalar(select(func.count()).select_from(NoticeDelivery)) or 0

            start = threading.Barrier(args.workers)
            sent: list[int] = []

            def worker() -> None:
                start.wait()
                sent.append(mail.send_owed_mails(app, limit=owed))

            threads = [threading.Thread(target=worker) for _ in range(args.workers)]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - began

            with app.app_context(), db.new_session(writes=False) as session:
                states = Counter(session.scalars(select(NoticeDelivery.state)))
                session.commit()
        finally:
            controller.stop()
            with app.app_context():
                db.engine.dispose()

    keys = Counter((m["To"], m.get_content().splitlines()[0]) for m in mailbox.messages)
    duplicates = sum(count - 1 for count in keys.values())
    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite'}; workers: {args.workers}")
    print(f"mails owed: {owed}; received: {len(mailbox.messages)}; sent (workers): {sum(sent)}")
    print(f"duplicates: {duplicates}; sent rows: {states[DeliveryState.SENT]} of {owed}")
    print(f"time: {seconds:.2f} s; {owed / seconds:.0f} mails/s")


if __name__ == "__main__":
    main()
