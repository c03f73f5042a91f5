"""The notices' mails: what they say, in the reader's language, and how a worker sends them,
never a request.

A mail owed (`NoticeDelivery`) is claimed by one worker in a short transaction of its own
(`services.claim_mail`), sent outside any transaction, and marked sent, or owed again after a
wait, in another. Two workers never send one mail: the claim is a conditional UPDATE. A
worker that dies at the SMTP server leaves a claim that goes stale and is owed again: a mail
may then go twice, never not at all; the notice itself is in the app whatever the mail does.

The backend is chosen by OFFICE_MAIL_BACKEND (`office.config.mail_settings`): `smtp` (the
ministry's relay), `console` (the log, for development), `file` (.eml files under
instance/mail/), or `off` (nothing is sent; the mails stay owed).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from office.alerts import services
from office.alerts.labels import KIND_LABELS, notice_message
from office.alerts.models import Notice, NoticeDelivery, NoticePreference
from office.auth.models import User
from office.db import db, utcnow
from office.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, force_locale, format_date, office_date

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30
SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


# --- backends ----------------------------------------------------------------------------


def _smtp(app: Flask, message: EmailMessage) -> None:
    url = urlsplit(app.config["OFFICE_SMTP_URL"])
    scheme = url.scheme.lower()
    host, port = url.hostname or "localhost", url.port or SMTP_PORTS[scheme]
    client: smtplib.SMTP
    if scheme == "smtps":
        client = smtplib.SMTP_SSL(
            host, port, timeout=SMTP_TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)


def _console(app: Flask, message: EmailMessage) -> None:
    logger.info("mail (console backend, not sent):\n%s", message.as_string())


def _file(app: Flask, message: EmailMessage) -> None:
    folder = Path(app.config["OFFICE_MAIL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
    # Written beside, then renamed: a reader of the folder never sees half a mail.
    partial = folder / f".{name}.part"
    partial.write_bytes(bytes(message))
    partial.rename(folder / name)


BACKENDS: dict[str, Callable[[Flask, EmailMessage], None]] = {
    "smtp": _smtp,
    "console": _console,
    "file": _file,
}


def _send(app: Flask, message: EmailMessage) -> str | None:
    """Send `message` by the configured backend; return None, or what went wrong."""
    try:
        BACKENDS[app.config["OFFICE_MAIL_BACKEND"]](app, message)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("mail to %s not sent: %s", message["To"], exc)
        return f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug must not leave the mail claimed for ever
        logger.exception("mail to %s not sent", message["To"])
        return f"{type(exc).__name__}: {exc}"
    return None


# --- what a mail says --------------------------------------------------------------------


def mail_language(session: Session, user: User) -> str:
    """The language of `user`'s mails: the one they chose with the switch, else the one they
    read the page in when they chose their mails."""
    if user.language in LANGUAGES:
        return str(user.language)
    chosen = session.scalar(
        select(NoticePreference.language)
        .where(NoticePreference.user_id == user.id)
        .order_by(NoticePreference.updated_at.desc(), NoticePreference.id.desc())
        .limit(1)
    )
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _link(notice: Notice) -> str:
    return url_for(notice.endpoint, **notice.endpoint_args, _external=True)


def _message(app: Flask, user: User, subject: str, body: str, language: str) -> EmailMessage:
    sender = app.config["OFFICE_MAIL_FROM"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = user.email
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to it
    message.set_content(body)
    message["Content-Language"] = language  # after the content, which replaces Content-*
    return message


def compose_notice(app: Flask, session: Session, user: User, notice: Notice) -> EmailMessage:
    """The mail of one notice to `user`, in their language, with the link to its record."""
    language = mail_language(session, user)
    with (
        app.test_request_context("/", base_url=app.config["OFFICE_BASE_URL"]),
        force_locale(language),
    ):
        kind = str(KIND_LABELS[notice.kind])
        body = "\n\n".join(
            [
                notice_message(notice),
                _("Open it: %(link)s", link=_link(notice)),
                "-- ",
                _(
                    "You receive this mail because you chose to receive notices of this kind "
                    "by email: %(kind)s. Choose otherwise at %(link)s",
                    kind=kind,
                    link=url_for("notices.settings", _external=True),
                ),
            ]
        )
        subject = _("Notice: %(kind)s", kind=kind)
        return _message(app, user, subject, body, language)


def compose_digest(
    app: Flask, session: Session, user: User, notices: list[Notice], *, now: datetime
) -> EmailMessage:
    """The daily digest of `notices` to `user`, in their language, each with its link."""
    language = mail_language(session, user)
    with (
        app.test_request_context("/", base_url=app.config["OFFICE_BASE_URL"]),
        force_locale(language),
    ):
        lines = [
            f"- {format_date(notice.raised_on)} {notice_message(notice)}\n  {_link(notice)}"
            for notice in notices
        ]
        body = "\n\n".join(
            [
                _("Your notices since the last digest:"),
                "\n".join(lines),
                "-- ",
                _(
                    "You receive this digest because you chose it for some kinds of notice. "
                    "Choose otherwise at %(link)s",
                    link=url_for("notices.settings", _external=True),
                ),
            ]
        )
        subject = _(
            "Notices of %(day)s: %(count)s",
            day=format_date(office_date(now)),
            count=len(notices),
        )
        return _message(app, user, subject, body, language)


# --- what the workers do -----------------------------------------------------------------


def _settle(app: Flask, delivery_ids: list[int], error: str | None) -> None:
    with db.new_session(writes=True) as session:
        if error is None:
            services.mails_sent(session, delivery_ids, now=utcnow())
        else:
            services.mails_not_sent(session, delivery_ids, error, now=utcnow())
        session.commit()


def send_owed_mails(app: Flask, *, now: datetime | None = None, limit: int = 100) -> int:
    """Send the mails owed and due now, each claimed first, and retry the digests that
    failed; return how many mails went out."""
    if app.config["OFFICE_MAIL_BACKEND"] == "off":
        return 0
    sent = 0
    with app.app_context():
        now = now or utcnow()
        with db.new_session(writes=True) as session:
            services.release_stale_mails(session, now=now)
            due = services.due_mails(session, now=now, limit=limit)
            session.commit()
        for delivery_id in due:
            with db.new_session(writes=True) as session:
                delivery = services.claim_mail(session, delivery_id, now=now)
                message = None
                if delivery is not None:
                    user = session.get(User, delivery.user_id)
                    assert user is not None
                    if user.is_active:
                        message = _compose_owed(app, session, user, delivery)
                    else:  # deactivated since: no more of the office's mail
                        services.mails_dropped(session, [delivery_id], "the user is deactivated")
                session.commit()
            if message is None:
                continue  # another worker has it
            error = _send(app, message)
            _settle(app, [delivery_id], error)
            sent += error is None
        sent += send_digests(app, now=now, retries_only=True)
    return sent


def _compose_owed(
    app: Flask, session: Session, user: User, delivery: NoticeDelivery
) -> EmailMessage:
    notice = session.get(Notice, delivery.notice_id)
    assert notice is not None
    return compose_notice(app, session, user, notice)


def send_digests(app: Flask, *, now: datetime, retries_only: bool = False) -> int:
    """Send each reader of digests one mail of the notices owed to them; with
    `retries_only`, only those whose digest failed before. Return how many went out."""
    if app.config["OFFICE_MAIL_BACKEND"] == "off":
        return 0
    sent = 0
    with app.app_context():
        with db.new_session(writes=False) as session:
            readers = services.digest_readers(session, now=now, retries_only=retries_only)
            session.commit()
        for user_id in readers:
            with db.new_session(writes=True) as session:
                claimed = services.claim_digest(
                    session, user_id, now=now, retries_only=retries_only
                )
                message = None
                user = session.get(User, user_id)
                if claimed and user is not None and not user.is_active:
                    services.mails_dropped(session, claimed, "the user is deactivated")
                elif claimed:
                    notices = list(
                        session.scalars(
                            select(Notice)
                            .join(NoticeDelivery, NoticeDelivery.notice_id == Notice.id)
                            .where(NoticeDelivery.id.in_(claimed))
                            .order_by(Notice.raised_on, Notice.id)
                        )
                    )
                    assert user is not None
                    message = compose_digest(app, session, user, notices, now=now)
                session.commit()
            if message is None:
                continue
            error = _send(app, message)
            _settle(app, claimed, error)
            sent += error is None
        return sent
