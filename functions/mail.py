"""Outgoing mail: a `Mailer` port with three adapters.

- `OutboxMailer` (the local default) writes each message as an `.eml` file
  into `var/outbox/`, where any mail client can open it;
- `SMTPMailer` when `MAIL_SERVER` is set, configured as in the tutorial
  (`MAIL_PORT`, `MAIL_USE_TLS`, `MAIL_USERNAME`, `MAIL_PASSWORD`);
- `SESMailer` when `MAIL_TRANSPORT=ses` (deployed): Amazon SES v2.

Sending happens after the response (FastAPI background tasks), and a
failure is logged, never raised into the request that asked for it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from .domain import new_id

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class OutboxMailer:
    """Messages as `.eml` files, named so they sort by time."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        """Write the message owner-only (0600, in a 0700 folder): a reset
        mail holds a link that logs its reader in."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = new_id()
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(message.as_bytes())
        os.replace(tmp, self.folder / f"{name}.eml")  # a reader never sees half a mail


class SMTPMailer:
    def __init__(
        self,
        server: str,
        port: int = 25,
        use_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
    ):
        self.server, self.port, self.use_tls = server, port, use_tls
        self.username, self.password = username, password

    def send(self, message: EmailMessage) -> None:
        import smtplib  # here, not at import: on Lambda mail goes through SES

        with smtplib.SMTP(self.server, self.port, timeout=30) as smtp:
            if self.use_tls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


class SESMailer:
    """Amazon SES v2; its client is made on the first mail, then kept (a
    cold start that sends nothing does not pay for it)."""

    def __init__(self, client=None):
        self._client = client

    def send(self, message: EmailMessage) -> None:
        if self._client is None:
            import boto3

            self._client = boto3.client("sesv2")
        self._client.send_email(
            FromEmailAddress=str(message["From"]),
            Destination={"ToAddresses": [str(message["To"])]},
            Content={"Raw": {"Data": message.as_bytes()}},
        )


def make_mailer(settings) -> Mailer:
    if settings.mail_transport == "ses":
        return SESMailer()
    if settings.mail_server:
        return SMTPMailer(
            settings.mail_server,
            settings.mail_port,
            settings.mail_use_tls,
            settings.mail_username,
            settings.mail_password,
        )
    return OutboxMailer(settings.var_dir / "outbox")


# SES v2 takes messages of at most 40 MB, attachments included as base64
# (4/3 of their size, plus a line break every 76 characters).
SES_MESSAGE_MAX = 40 * 1024 * 1024
ATTACHMENT_MAX = SES_MESSAGE_MAX * 3 // 4 * 76 // 78 - 1024 * 1024  # room for the text parts


@dataclass(frozen=True)
class Attachment:
    """A file to attach: its name, MIME type ("application/json") and bytes."""

    filename: str
    content_type: str
    data: bytes


def compose(
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A text and HTML message, with `attachments` (the tutorial's send_email)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def send_quietly(mailer: Mailer, message: EmailMessage) -> None:
    """Send, logging instead of raising: runs after the response is gone."""
    try:
        mailer.send(message)
    except Exception:
        log.exception("could not send mail to %s", message["To"])
