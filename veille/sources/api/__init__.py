"""JSON APIs: Aides-territoires, ReliefWeb, OpenDataSoft (Région Occitanie), API Engagement.

One adapter per `format` of the source, one module per format named after it, kept in the
`ADAPTERS` registry: it knows how to authenticate (`connect`, which returns a page
fetcher), where paging starts (`first_url`) and how one page of JSON becomes
`CollectedItem`s (the pure `parse_<format>` functions, which also name the next page, so
they are tested without HTTP). What the adapters share (the `Adapter` shape, the error,
the pagination loop, readers of JSON values, URLs and dates) is in `common`. Pages are
followed up to the source's `max_pages` (default 5), and only on the API's own host.

An answer that is not the JSON a format expects is an `ApiResponseError` (a `ValueError`
with a French sentence, recorded in the source's health); a missing or refused key is
`NeedsConfiguration`. Keys, tokens and secret application names never appear in a message.
"""

from __future__ import annotations

from datetime import date

from veille.sources.api import aides_territoires, api_engagement, opendatasoft, reliefweb
from veille.sources.api.aides_territoires import AT_LABEL, parse_aides_territoires
from veille.sources.api.api_engagement import AE_LABEL, parse_api_engagement
from veille.sources.api.common import (
    DEFAULT_MAX_PAGES,
    PARIS,
    Adapter,
    ApiResponseError,
    PageFetch,
    Parser,
    _paginate,
    load_json,
)
from veille.sources.api.opendatasoft import ODS_LABEL, parse_opendatasoft
from veille.sources.api.reliefweb import (
    RELIEFWEB_FIELDS,
    RELIEFWEB_KINDS,
    RW_LABEL,
    parse_reliefweb,
)
from veille.sources.fetch import Fetcher
from veille.sources.items import Harvest, SourceTask

__all__ = [
    "ADAPTERS",
    "AE_LABEL",
    "AT_LABEL",
    "DEFAULT_MAX_PAGES",
    "ODS_LABEL",
    "PARIS",
    "RELIEFWEB_FIELDS",
    "RELIEFWEB_KINDS",
    "RW_LABEL",
    "Adapter",
    "ApiResponseError",
    "PageFetch",
    "Parser",
    "harvest",
    "load_json",
    "parse_aides_territoires",
    "parse_api_engagement",
    "parse_opendatasoft",
    "parse_reliefweb",
]

ADAPTERS: dict[str, Adapter] = {
    "aides-territoires": aides_territoires.ADAPTER,
    "reliefweb": reliefweb.ADAPTER,
    "opendatasoft": opendatasoft.ADAPTER,
    "api-engagement": api_engagement.ADAPTER,
}


async def harvest(task: SourceTask, fetcher: Fetcher, *, today: date) -> Harvest:
    fmt = task.rules.get("format")
    adapter = ADAPTERS.get(fmt) if isinstance(fmt, str) else None
    if adapter is None:
        raise ApiResponseError(
            f"Format d'API inconnu : « {fmt} » (attendu : {', '.join(ADAPTERS)})."
        )
    fetch_page = await adapter.connect(task, fetcher)
    return await _paginate(task, adapter, fetch_page, today)
