"""Bringing an instance up to date: schema, bulletins, sources from the sources file."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from veille.bulletins import ensure_bulletins
from veille.config import Settings
from veille.db import make_engine, make_sessionmaker, session_scope, upgrade_schema
from veille.sources.collect import sync_sources
from veille.sources.spec import load_sources


def initialise(settings: Settings) -> sessionmaker[Session]:
    """Create or upgrade the schema and the five bulletins; idempotent."""
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as session:
        ensure_bulletins(session)
    return sessions


def load_and_sync_sources(sessions: sessionmaker[Session], settings: Settings) -> int:
    specs = load_sources(settings.sources)
    with session_scope(sessions) as session:
        return len(sync_sources(session, specs))
