"""Shared fixtures: a real database on SQLite and on PostgreSQL, a real SMTP server.

Every test that asks for `db` runs twice: once on a fresh SQLite file, once on a
PostgreSQL database created for this test session (127.0.0.1:5432, trust auth).
`--db sqlite` or `--db postgresql` narrows the run.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from veille.bulletins import ensure_bulletins
from veille.cli import main
from veille.config import get_settings
from veille.db import make_engine, make_sessionmaker, upgrade_schema
from veille.models import Base

pytest_plugins = ["tests.loopback"]  # the `http_server` fixture

PG_ADMIN_URL = os.environ.get("VEILLE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="store",
        default="both",
        choices=("both", "sqlite", "postgresql"),
        help="database backends for the data-layer tests",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = ["sqlite", "postgresql"] if choice == "both" else [choice]
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of our own for the whole session, dropped at the end."""
    name = f"veille_test_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrated = make_engine(url)
    upgrade_schema(migrated)
    migrated.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    backend: str

    def session(self) -> Session:
        return self.sessions()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database with the five bulletins."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'veille.db'}"
        engine = make_engine(url)
        upgrade_schema(engine)
    else:
        url = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        _truncate_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        ensure_bulletins(session)
    yield Database(url=url, engine=engine, sessions=sessions, backend=backend)
    engine.dispose()


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


class _KeepHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.sink.messages.append(msg)  # type: ignore[arg-type]
        self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(_KeepHandler(sink), hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def veille_env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the command at the test database and a sources file of our own."""
    monkeypatch.setenv("VEILLE_DATABASE_URL", db.url)
    monkeypatch.setenv("VEILLE_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("VEILLE_BASE_URL", "https://veille.example.org")
    monkeypatch.delenv("VEILLE_SMTP_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray veille.toml
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
