"""Building one subscriber's message and handing it to the outbox or to an SMTP server."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import tempfile
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import unquote, urlsplit

from veille.errors import DeliveryError


def build_message(
    *,
    sender: str,
    to: str,
    to_name: str,
    subject: str,
    html: str,
    text: str,
    message_id: str,
    unsubscribe_url: str,
    list_id: str,
    date: object,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = Address(display_name=to_name, addr_spec=to) if to_name else to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)  # type: ignore[arg-type]
    msg["Message-ID"] = message_id
    msg["List-Id"] = list_id
    # RFC 8058 one-click unsubscribe: mail clients show a button that POSTs to this URL.
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def envelope_sender(sender: str) -> str:
    return parseaddr(sender)[1] or sender


class Mailer(Protocol):
    def send(self, msg: EmailMessage) -> None: ...
    def close(self) -> None: ...


class OutboxMailer:
    """Each message becomes an `.eml` file; the file name is its delivery's identity."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def send(self, msg: EmailMessage) -> None:
        name = str(msg["Message-ID"]).strip("<>").replace("/", "_").replace("@", "_at_")
        target = self.directory / f"{name}.eml"
        # Write then rename: a crash never leaves half a message in the outbox.
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(msg.as_bytes())
        os.replace(tmp, target)

    def close(self) -> None:
        pass


class SmtpMailer:
    """One SMTP connection reused for a whole edition; reopened if the server drops it."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise DeliveryError(
                f"VEILLE_SMTP_URL invalide : « {url} » (attendu smtp://hôte:port ou smtps://...)."
            )
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = "starttls" in parts.query or (parts.scheme == "smtp" and self.port == 587)
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.scheme == "smtps":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    conn.starttls(context=ssl.create_default_context())
            if self.user:
                conn.login(self.user, self.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"Impossible de joindre le serveur d'envoi {self.host}:{self.port} ({exc})."
            ) from exc
        return conn

    def send(self, msg: EmailMessage) -> None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(msg)
        except smtplib.SMTPServerDisconnected:
            # Dropped between two messages (idle timeout): this one was not accepted.
            self._conn = self._connect()
            self._conn.send_message(msg)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._conn.quit()
            self._conn = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def make_mailer(smtp_url: str | None, outbox: Path) -> Mailer:
    return SmtpMailer(smtp_url) if smtp_url else OutboxMailer(outbox)
