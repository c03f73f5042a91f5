"""A real SMTP server (aiosmtpd) on a free port for the notices' mails, and the app sending
to it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

BASE_URL = "https://office.test"


class Mailbox:
    """What the server received, parsed; `refusing` makes it answer 451 to every mail."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refusing = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refusing:
            return "451 Requested action aborted: try again later"
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smtp_server(port: int) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox


def send_to(config: dict[str, object], port: int) -> None:
    config.update(
        OFFICE_MAIL_BACKEND="smtp",
        OFFICE_SMTP_URL=f"smtp://127.0.0.1:{port}",
        OFFICE_MAIL_FROM="office@unikorea.test",
        OFFICE_BASE_URL=BASE_URL,
    )


@pytest.fixture
def mailbox(app, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """The app's mails go to a real SMTP server on a free port; what arrives is here."""
    port = free_port()
    controller, box = smtp_server(port)
    for name in ("OFFICE_MAIL_BACKEND", "OFFICE_SMTP_URL", "OFFICE_MAIL_FROM", "OFFICE_BASE_URL"):
        monkeypatch.setitem(app.config, name, app.config[name])
    send_to(app.config, port)
    try:
        yield box
    finally:
        controller.stop()
