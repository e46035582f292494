"""ReliefWeb v2 (jobs, training, reports): offers and news of the humanitarian sector.

Pages are POSTed under an application name approved by ReliefWeb (secret in the variable
`key_env`, else `params.appname` or ?appname= in the URL); the source's `params.query` is
merged into each request, and the page cursor travels as ?offset= in the page URL.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from veille.sources.api.common import (
    Adapter,
    ApiResponseError,
    PageFetch,
    _dict,
    _end_of_day,
    _header_safe,
    _http_url,
    _int,
    _moment,
    _names,
    _page_size,
    _params,
    _query_int,
    _records,
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
    infer_kind,
    sanitize_html,
    truncate,
)

RW_LABEL = "ReliefWeb"

# ReliefWeb v2: what each page asks for; a source's `params.query` is merged into it.
RELIEFWEB_FIELDS = ["title", "url_alias", "date", "source", "country", "city", "type"]
RELIEFWEB_KINDS = {"jobs": "offre", "training": "offre", "reports": "actualite"}


def _reliefweb_appname(task: SourceTask) -> tuple[str, str]:
    """(appname, how to name it in a message): a secret one is named by its variable."""
    env_name = task.rules.get("key_env")
    if env_name:
        value = os.environ.get(str(env_name), "").strip()
        if value and _header_safe(value):
            return value, f"le nom d'application de la variable {env_name}"
    value = _str(_params(task.rules).get("appname")).strip()
    if not value:
        value = dict(parse_qsl(urlsplit(task.url).query)).get("appname", "").strip()
    if value and _header_safe(value):
        return value, f"le nom d'application « {value} »"
    where = f"variable {env_name} ou " if env_name else ""
    raise NeedsConfiguration(
        f"À configurer : le nom d'application ReliefWeb ({where}params.appname) n'est pas défini."
    )


async def _connect_reliefweb(task: SourceTask, fetcher: Fetcher) -> PageFetch:
    appname, named = _reliefweb_appname(task)
    params = _params(task.rules)
    base = {
        "preset": "latest",
        "limit": _page_size(task.rules, 50),
        "fields": {"include": list(RELIEFWEB_FIELDS)},
    }
    query = _merge(base, _dict(params.get("query")))

    async def fetch_page(url: str) -> FetchResult:
        # The page cursor travels as ?offset= in the page URL; ReliefWeb reads it in the body.
        body = {**query, "offset": _query_int(url, "offset")}
        target = _with_query(url, appname=appname, offset=None)
        try:
            return await fetcher.post_json(target, body)
        except FetchError as exc:
            if exc.status in (400, 403):
                message = (
                    f"À configurer : ReliefWeb refuse {named} (il doit être approuvé par ReliefWeb"
                )
                if exc.status == 400:  # 400 also answers a malformed query
                    message += ", ou la requête params.query de la source est invalide"
                raise NeedsConfiguration(message + ").") from None
            raise

    return fetch_page


def parse_reliefweb(
    data: dict[str, Any], *, base_url: str, today: date, default_kind: str | None = None
) -> tuple[list[CollectedItem], str | None]:
    """A page of /v2/jobs, /v2/training or /v2/reports; the next page is ?offset=N."""
    if "data" not in data:
        raise ApiResponseError(f"Réponse inattendue de l'API {RW_LABEL} : champ « data » absent.")
    records = _records(data["data"], RW_LABEL, "data")
    endpoint = urlsplit(base_url).path.rstrip("/").rsplit("/", 1)[-1]
    items = [_reliefweb_item(r, endpoint, today, default_kind) for r in records]
    offset = _query_int(base_url, "offset") + len(records)
    total = _int(data.get("totalCount"))
    more = bool(records) and total is not None and offset < total
    return [i for i in items if i is not None], _with_query(
        base_url, offset=offset
    ) if more else None


def _reliefweb_item(
    record: dict[str, Any], endpoint: str, today: date, default_kind: str | None
) -> CollectedItem | None:
    fields = _dict(record.get("fields"))
    title = clean_text(_str(fields.get("title")))
    if not title:
        return None
    dates = _dict(fields.get("date"))
    training = endpoint == "training"
    sources = _names(fields.get("source"))
    countries = _names(fields.get("country"))
    places = [*_names(fields.get("city")), *countries]
    types = _names(fields.get("type"))
    body_html = _str(fields.get("body-html"))
    text = html_to_text(body_html) if body_html else _str(fields.get("body"))
    facts = [
        ("Organisation", ", ".join(sources)),
        ("Lieu", ", ".join(places)),
        ("Type", ", ".join(types)),
    ]
    summary = text or " ".join(f"{label} : {value}." for label, value in facts if value)
    ident = _str(record.get("id"))
    start, end = (dates.get("start"), dates.get("end")) if training else (None, None)
    deadline = None
    if endpoint != "reports":
        deadline = _end_of_day(dates.get("registration" if training else "closing"), today)
    return CollectedItem(
        title=title,
        url=_http_url(fields.get("url_alias")) or _http_url(fields.get("url")),
        guid=f"reliefweb:{ident}" if ident else None,
        summary=truncate(summary),
        body=sanitize_html(body_html),
        published_at=_moment(dates.get("created"), today),
        deadline=deadline,
        event_start=_start_of_day(start, today),
        event_end=_end_of_day(end, today),
        event_place=", ".join(places) or None,
        funder=", ".join(sources) or None,
        kind=RELIEFWEB_KINDS.get(endpoint) or infer_kind(default_kind, title, text),
        raw_tags=_unique([*types, *countries]),
    )


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` merged into `base`: nested objects merged, `include` lists joined."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        elif key == "include" and isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *(v for v in value if v not in merged[key])]
        else:
            merged[key] = value
    return merged


ADAPTER = Adapter(RW_LABEL, parse_reliefweb, _connect_reliefweb, lambda t: t.url)
