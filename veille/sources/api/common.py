"""What the JSON API adapters share: the `Adapter` shape, `ApiResponseError`, the
pagination loop, and readers for settings, secrets, URLs, JSON values and dates.

`_paginate` follows pages up to the source's `max_pages` (default 5), and only on the API's
own host: keys and tokens go with every page. The JSON of these APIs follows no schema we
control, so the value readers turn whatever a field holds into the expected type or an
empty value: a record with odd fields is read as far as it goes instead of failing its page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from veille.sources.collect import NeedsConfiguration
from veille.sources.dates import extract_deadline, parse_date
from veille.sources.fetch import Fetcher, FetchError, FetchResult
from veille.sources.items import CollectedItem, Harvest, SourceTask
from veille.sources.normalize import (
    clean_text,
    decode_bytes,
)

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_MAX_PAGES = 5
_END_OF_DAY = time(23, 59)

Parser = Callable[..., tuple[list[CollectedItem], str | None]]
PageFetch = Callable[[str], Awaitable[FetchResult]]


class ApiResponseError(ValueError):
    """The API answered, but not with the JSON its format promises."""


@dataclass(frozen=True, slots=True)
class Adapter:
    label: str  # the API's name in messages
    parse: Parser  # one page of JSON -> (items, next page URL or None)
    connect: Callable[[SourceTask, Fetcher], Awaitable[PageFetch]]  # auth -> page fetcher
    first_url: Callable[[SourceTask], str]


async def _paginate(
    task: SourceTask, adapter: Adapter, fetch_page: PageFetch, today: date
) -> Harvest:
    """Pages from `first_url`, following each page's next link on the API's own host."""
    url = adapter.first_url(task)
    items: list[CollectedItem] = []
    keys: set[str] = set()
    visited: set[str] = set()
    problem = None
    for number in range(1, _max_pages(task.rules) + 1):
        visited.add(url)
        try:
            result = await fetch_page(url)
            data = load_json(result.content, adapter.label, result.charset)
            page, next_url = adapter.parse(
                data, base_url=url, today=today, default_kind=task.item_kind
            )
        except (FetchError, ValueError) as exc:
            if number == 1:
                raise
            problem = f"Page {number} non lue ({exc}) : les pages précédentes sont gardées."
            break
        for item in page:  # offsets shift when the API adds records between two pages
            key = item.guid or item.url or item.title
            if key not in keys:
                keys.add(key)
                items.append(item)
        if next_url is None:
            break
        followed = _on_host(next_url, task.url)
        if followed is None:
            problem = (
                f"Lien vers la page suivante ignoré : il sort du site de l'API {adapter.label}."
            )
            break
        if followed in visited:
            break
        url = followed
    return Harvest(items=items, problem=problem)


def load_json(content: bytes, label: str, charset: str | None = None) -> dict[str, Any]:
    text = decode_bytes(content, charset or "utf-8")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        what = "une page HTML" if text.lstrip()[:1] == "<" else "un contenu qui n'est pas du JSON"
        raise ApiResponseError(f"Réponse illisible de l'API {label} : {what}.") from None
    if not isinstance(data, dict):
        raise ApiResponseError(f"Réponse inattendue de l'API {label} : objet JSON attendu.")
    return data


# --- settings and secrets --------------------------------------------------------------


def _params(rules: dict[str, Any]) -> dict[str, Any]:
    return _dict(rules.get("params"))


def _max_pages(rules: dict[str, Any]) -> int:
    value = _int(rules.get("max_pages"))
    return value if value is not None and value >= 1 else DEFAULT_MAX_PAGES


def _page_size(rules: dict[str, Any], default: int) -> int:
    value = _int(_params(rules).get("page_size"))
    return value if value is not None and value >= 1 else default


def _secret(task: SourceTask, label: str) -> tuple[str, str]:
    """(variable name, key) from the environment; NeedsConfiguration before any request."""
    name = task.rules.get("key_env")
    if not name or not isinstance(name, str):
        raise NeedsConfiguration(
            f"À configurer : la variable de la clé d'API {label} n'est pas indiquée "
            "(champ key_env de la source)."
        )
    value = os.environ.get(name, "").strip()
    if not value:
        raise NeedsConfiguration(
            f"À configurer : la clé d'API (variable {name}) n'est pas définie."
        )
    if not _header_safe(value):
        raise NeedsConfiguration(
            f"À configurer : la clé d'API (variable {name}) contient des caractères invalides."
        )
    return name, value


def _header_safe(value: str) -> bool:
    return bool(value.strip()) and value.isascii() and value.isprintable()


# --- URLs ------------------------------------------------------------------------------


def _with_query(url: str, **values: object) -> str:
    """`url` with these query parameters set (None removes one); the others kept."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    pairs += [(k, str(v)) for k, v in values.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(pairs, quote_via=quote)))


def _query_int(url: str, name: str) -> int:
    value = dict(parse_qsl(urlsplit(url).query)).get(name, "")
    return int(value) if value.isdigit() else 0


def _join(base: str, link: str) -> str | None:
    try:
        absolute = urljoin(base, link.strip())
    except ValueError:
        return None
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _link(value: object, base_url: str) -> str | None:
    return _join(base_url, value) if isinstance(value, str) and value.strip() else None


def _on_host(link: str, source_url: str) -> str | None:
    """The next page's URL if it stays on the source's host (keys and tokens are sent to
    it), with the source's scheme and port: APIs behind a proxy often announce http://."""
    try:
        target, source = urlsplit(link), urlsplit(source_url)
        if not target.hostname or target.hostname != source.hostname:
            return None
    except ValueError:
        return None
    return urlunsplit((source.scheme, source.netloc, target.path, target.query, ""))


def _http_url(value: object) -> str | None:
    text = _str(value).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme in ("http", "https") and parts.netloc else None


# --- JSON values of any shape ----------------------------------------------------------


def _records(value: object, label: str, field: str = "results") -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ApiResponseError(
            f"Réponse inattendue de l'API {label} : le champ « {field} » n'est pas une liste."
        )
    return [r for r in value if isinstance(r, dict)]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _first(record: dict[str, Any], *names: str) -> Any:
    for name in names:
        if record.get(name) not in (None, ""):
            return record[name]
    return None


def _names(value: object) -> list[str]:
    """Names from ["a", "b"], [{"name": "a"}], "a" or {"name": "a"}."""
    values = value if isinstance(value, list) else [value]
    names = []
    for entry in values:
        name = _str(entry.get("name")) if isinstance(entry, dict) else _str(entry)
        names.append(clean_text(name))
    return _unique(names)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _without_none(**values: object) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# --- dates -----------------------------------------------------------------------------


def _moment(value: object, today: date, *, day_at: time | None = None) -> datetime | None:
    """An ISO 8601 date or date-time (naive = Paris time), else French text; aware, Paris.

    With `day_at`, a bare date or a midnight (how APIs store a day) is that day at `day_at`
    Paris time: 23:59 for a deadline or the end of an event, 00:00 for its start.
    """
    text = _str(value).strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if day_at == _END_OF_DAY:
            return extract_deadline(text, today=today).deadline
        return parse_date(text, today=today)
    try:
        if day_at is not None and moment.time() == time(0):
            return datetime.combine(moment.date(), day_at, tzinfo=PARIS)
        return moment.replace(tzinfo=PARIS) if moment.tzinfo is None else moment.astimezone(PARIS)
    except (ValueError, OverflowError):  # an offset that pushes the year out of range
        return None


def _end_of_day(value: object, today: date) -> datetime | None:
    return _moment(value, today, day_at=_END_OF_DAY)


def _start_of_day(value: object, today: date) -> datetime | None:
    return _moment(value, today, day_at=time(0))
