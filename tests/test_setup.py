"""`veille init` and the settings: what an admin configures and relies on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import Database, run
from veille.bulletins import SLUGS
from veille.config import Settings, get_settings
from veille.models import Bulletin


def test_init_is_idempotent_and_keeps_staff_changes(
    veille_env: Path, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "init")[0] == 0
    with db.sessions.begin() as session:
        bloc = session.scalar(select(Bulletin).where(Bulletin.slug == "bloc-note"))
        bloc.title = "Bloc-note hebdomadaire"
    assert run(capsys, "init")[0] == 0
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Bulletin)) == 5
        bulletins = {b.slug: b for b in session.scalars(select(Bulletin))}
        assert set(bulletins) == set(SLUGS)
        assert bulletins["bloc-note"].title == "Bloc-note hebdomadaire"
        assert bulletins["echos"].title == "Les Échos du Réseau"
        assert bulletins["info-flash"].cadence is None  # sent on demand
        assert [s["key"] for s in bulletins["bloc-note"].sections][0] == "appels"


def test_environment_overrides_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("VEILLE_DATABASE_URL", "VEILLE_SMTP_URL", "VEILLE_OUTBOX", "VEILLE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().database_url == "sqlite:///veille.db"
    assert Settings().smtp_url is None and Settings().outbox == Path("outbox")
    (tmp_path / "veille.toml").write_text(
        'database_url = "sqlite:///depuis-le-fichier.db"\nbase_url = "https://veille.oc.org"\n',
        encoding="utf-8",
    )
    assert Settings().database_url == "sqlite:///depuis-le-fichier.db"
    monkeypatch.setenv("VEILLE_DATABASE_URL", "postgresql://veille@db/veille")
    settings = Settings()
    assert settings.database_url == "postgresql://veille@db/veille"
    assert settings.base_url == "https://veille.oc.org"
    get_settings.cache_clear()


def test_an_outdated_database_asks_for_init(
    veille_env: Path, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import text

    assert run(capsys, "init")[0] == 0
    with db.engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    try:
        code, _, err = run(capsys, "items", "list")
    finally:  # the PostgreSQL database is shared by the whole session
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert code == 1 and "lancez « veille init » pour la mettre à jour" in err
