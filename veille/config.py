"""Settings: environment variables (VEILLE_*) override an optional `veille.toml`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SOURCES = PACKAGE_DIR / "sources" / "catalog" / "sources.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VEILLE_", toml_file="veille.toml", extra="ignore")

    database_url: str = "sqlite:///veille.db"
    smtp_url: str | None = None
    outbox: Path = Path("outbox")
    base_url: str = "http://localhost:8000"
    secret_key: str = "change-me"
    sources: Path = DEFAULT_SOURCES
    # Sender of the bulletins and the contact shown in the collector's User-Agent.
    mail_from: str = "Occitanie Coopération <veille@oc-cooperation.org>"
    contact_email: str = "veille@oc-cooperation.org"
    timezone: str = "Europe/Paris"
    fetch_concurrency: int = Field(default=20, ge=1)
    fetch_per_host: int = Field(default=2, ge=1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
