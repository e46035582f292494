"""The sources file (TOML, one `[[source]]` table each): parsing and validation.

Every error names the file, the source and the field, in French, so that staff can fix
the file without reading a traceback.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from veille.bulletins import SLUGS
from veille.errors import SourcesFileError
from veille.sources.items import KINDS

API_FORMATS = ("aides-territoires", "reliefweb", "opendatasoft", "api-engagement")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdj])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "j": 86400}


def parse_duration(text: str | int) -> int:
    """'30m', '6h', '1d' (or '1j') -> seconds."""
    if isinstance(text, int):
        return text
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"durée illisible « {text} » (exemples : 30m, 6h, 1d)")
    return int(match.group(1)) * _UNITS[match.group(2)]


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)
    name: str = Field(min_length=1)
    kind: Literal["rss", "html", "api", "ics"]
    url: str
    bulletin: str | None = None
    tags: list[str] = Field(default_factory=list)
    every: int = 6 * 3600
    enabled: bool = True
    item_kind: str | None = Field(default=None, alias="item_kind")
    # html: CSS selectors (or "label:Texte") per field; pagination and detail pages.
    select: dict[str, Any] | None = None
    detail: dict[str, str] | None = None
    max_pages: int = Field(default=5, ge=1, le=50)
    max_follow: int = Field(default=20, ge=0, le=200)
    # api
    format: str | None = None
    key_env: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    # ics: how far ahead recurring events are expanded
    window_days: int = Field(default=180, ge=1, le=3650)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("adresse invalide : elle doit commencer par http:// ou https://")
        return value

    @field_validator("bulletin")
    @classmethod
    def _known_bulletin(cls, value: str | None) -> str | None:
        if value is not None and value not in SLUGS:
            raise ValueError(f"bulletin inconnu « {value} » (attendu : {', '.join(SLUGS)})")
        return value

    @field_validator("item_kind")
    @classmethod
    def _known_kind(cls, value: str | None) -> str | None:
        if value is not None and value not in KINDS:
            raise ValueError(f"type inconnu « {value} » (attendu : {', '.join(KINDS)})")
        return value

    @field_validator("every", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return parse_duration(value)

    @model_validator(mode="after")
    def _method_fields(self) -> SourceSpec:
        if self.kind == "html":
            select = self.select or {}
            missing = [k for k in ("item", "title", "link") if not select.get(k)]
            if missing:
                raise ValueError(
                    f"une source html a besoin de [source.select] avec {', '.join(missing)}"
                )
        if self.kind == "api" and self.format not in API_FORMATS:
            raise ValueError(
                f"une source api a besoin de format = l'un de : {', '.join(API_FORMATS)}"
            )
        return self

    def rules(self) -> dict[str, Any]:
        """What the database keeps as the source's parsing rules."""
        return self.model_dump(
            exclude={"slug", "name", "kind", "url", "bulletin", "tags", "every", "enabled"},
            exclude_defaults=True,
            by_alias=True,
        )


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts) if parts else "?"


def parse_sources(data: dict[str, Any], path: str) -> list[SourceSpec]:
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise SourcesFileError(path, "attendu une liste de tables [[source]]")
    specs: list[SourceSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        label = (
            str(entry.get("slug") or f"n° {index}") if isinstance(entry, dict) else f"n° {index}"
        )
        try:
            spec = SourceSpec.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            message = first["msg"].removeprefix("Value error, ")
            if first["type"] == "missing":
                message = "champ obligatoire manquant"
            elif first["type"] == "extra_forbidden":
                message = "champ inconnu"
            raise SourcesFileError(
                path, message, source=label, field=_field_name(first["loc"])
            ) from None
        if spec.slug in seen:
            raise SourcesFileError(path, "identifiant en double", source=spec.slug, field="slug")
        seen.add(spec.slug)
        specs.append(spec)
    return specs


def load_sources(path: Path) -> list[SourceSpec]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesFileError(str(path), "fichier introuvable") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourcesFileError(str(path), f"TOML invalide ({exc})") from None
    return parse_sources(data, str(path))
