"""API Engagement (service civique, JeVeuxAider): volunteering missions, each an `offre`.

The source's API key (variable `key_env`) is sent as `x-api-key` with every page of
/v0/mission, which is paged with ?skip= and ?limit=.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from veille.sources.api.common import (
    Adapter,
    ApiResponseError,
    PageFetch,
    _end_of_day,
    _first,
    _http_url,
    _int,
    _list,
    _moment,
    _names,
    _page_size,
    _query_int,
    _records,
    _secret,
    _start_of_day,
    _str,
    _unique,
    _with_query,
)
from veille.sources.collect import NeedsConfiguration
from veille.sources.fetch import Fetcher, FetchError, FetchResult
from veille.sources.items import CollectedItem, SourceTask
from veille.sources.normalize import (
    clean_text,
    html_to_text,
    sanitize_html,
    truncate,
)

AE_LABEL = "API Engagement"


async def _connect_api_engagement(task: SourceTask, fetcher: Fetcher) -> PageFetch:
    name, key = _secret(task, AE_LABEL)
    headers = {"x-api-key": key, "Accept": "application/json"}

    async def fetch_page(url: str) -> FetchResult:
        try:
            return await fetcher.get(url, headers=headers)
        except FetchError as exc:
            if exc.status in (401, 403):
                raise NeedsConfiguration(
                    f"À configurer : {AE_LABEL} refuse la clé d'API (variable {name})."
                ) from None
            raise

    return fetch_page


def _first_url_api_engagement(task: SourceTask) -> str:
    current = dict(parse_qsl(urlsplit(task.url).query))
    limit = current.get("limit") or _page_size(task.rules, 50)
    return _with_query(task.url, skip=current.get("skip") or 0, limit=limit)


def parse_api_engagement(
    data: dict[str, Any], *, base_url: str, today: date, default_kind: str | None = None
) -> tuple[list[CollectedItem], str | None]:
    """A page of /v0/mission: `{ok, data}` (or `hits`); the next page is ?skip=N."""
    key = "data" if "data" in data else "hits" if "hits" in data else None
    if key is None:
        raise ApiResponseError(f"Réponse inattendue de l'API {AE_LABEL} : champ « data » absent.")
    records = _records(data[key], AE_LABEL, key)
    items = [_mission_item(r, today) for r in records]
    skip = _query_int(base_url, "skip") + len(records)
    limit, total = _query_int(base_url, "limit"), _int(data.get("total"))
    if total is not None:
        more = bool(records) and skip < total
    else:
        more = bool(records) and limit > 0 and len(records) >= limit
    return [i for i in items if i is not None], _with_query(base_url, skip=skip) if more else None


def _mission_item(record: dict[str, Any], today: date) -> CollectedItem | None:
    title = clean_text(_str(record.get("title")))
    if not title:
        return None
    description = _str(record.get("description"))
    ident = _str(record.get("id")) or _str(record.get("_id"))
    tags = [_str(record.get("type")), _str(record.get("domain")), *_names(record.get("activities"))]
    return CollectedItem(
        title=title,
        url=_http_url(record.get("applicationUrl")),
        guid=f"api-engagement:{ident}" if ident else None,
        summary=truncate(html_to_text(description)),
        body=sanitize_html(description),
        published_at=_moment(_first(record, "postedAt", "createdAt"), today),
        event_start=_start_of_day(record.get("startAt"), today),
        event_end=_end_of_day(record.get("endAt"), today),
        event_place=_mission_place(record),
        funder=clean_text(_str(record.get("organizationName"))) or None,
        kind="offre",
        raw_tags=_unique([clean_text(t) for t in tags]),
    )


def _mission_place(record: dict[str, Any]) -> str | None:
    """'Toulouse (31)', 'Dakar (SN)', or 'À distance' for a fully remote mission."""
    if _str(record.get("remote")).lower() == "full":
        return "À distance"
    addresses = [a for a in _list(record.get("addresses")) if isinstance(a, dict)]
    where = addresses[0] if addresses else record  # older answers had the fields on top
    city = clean_text(_str(where.get("city")))
    code = clean_text(_str(where.get("departmentCode")))
    country = clean_text(_str(where.get("country")))
    if city and code:
        return f"{city} ({code})"
    if city and country and country.upper() not in ("FR", "FRANCE"):
        return f"{city} ({country})"
    return city or clean_text(_str(where.get("region"))) or country or None


ADAPTER = Adapter(
    AE_LABEL, parse_api_engagement, _connect_api_engagement, _first_url_api_engagement
)
