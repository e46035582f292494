"""Aides-territoires (aides-territoires.beta.gouv.fr): public funding for local projects.

The source's API key (variable `key_env`) is exchanged for a bearer token at
/api/connexion/, then /api/aids/ is paged; a page is `{count, next, results}` or JSON-LD
(`hydra:member`). Every record is funding, so an `appel` unless the source says otherwise.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from veille.sources.api.common import (
    Adapter,
    ApiResponseError,
    PageFetch,
    _dict,
    _end_of_day,
    _first,
    _header_safe,
    _http_url,
    _join,
    _link,
    _moment,
    _names,
    _page_size,
    _records,
    _secret,
    _str,
    _with_query,
    _without_none,
    load_json,
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

AT_LABEL = "Aides-territoires"


async def _connect_aides_territoires(task: SourceTask, fetcher: Fetcher) -> PageFetch:
    name, key = _secret(task, AT_LABEL)
    parts = urlsplit(task.url)
    login = urlunsplit((parts.scheme, parts.netloc, "/api/connexion/", "", ""))
    try:
        result = await fetcher.post_json(login, {}, headers={"X-AUTH-TOKEN": key})
    except FetchError as exc:
        if exc.status in (401, 403):
            raise NeedsConfiguration(
                f"À configurer : {AT_LABEL} refuse la clé d'API (variable {name})."
            ) from None
        raise
    token = load_json(result.content, AT_LABEL, result.charset).get("token")
    if not isinstance(token, str) or not _header_safe(token):
        raise ApiResponseError(
            f"Réponse inattendue de l'API {AT_LABEL} : champ « token » absent de la connexion."
        )
    headers = {"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"}

    async def fetch_page(url: str) -> FetchResult:
        return await fetcher.get(url, headers=headers)

    return fetch_page


def _first_url_aides_territoires(task: SourceTask) -> str:
    size = _page_size(task.rules, 0)
    return _with_query(task.url, itemsPerPage=min(size, 100)) if size else task.url


def parse_aides_territoires(
    data: dict[str, Any], *, base_url: str, today: date, default_kind: str | None = None
) -> tuple[list[CollectedItem], str | None]:
    """A page of /api/aids/: `{count, next, results}` or JSON-LD (`hydra:member`)."""
    if "results" in data:
        records, link = data["results"], data.get("next")
    elif "hydra:member" in data or "member" in data:
        records = data.get("hydra:member", data.get("member"))
        view = _dict(data.get("hydra:view", data.get("view")))
        link = view.get("hydra:next", view.get("next"))
    else:
        raise ApiResponseError(
            f"Réponse inattendue de l'API {AT_LABEL} : champ « results » absent."
        )
    items = [_aid_item(r, base_url, today, default_kind) for r in _records(records, AT_LABEL)]
    return [i for i in items if i is not None], _link(link, base_url)


def _aid_item(
    record: dict[str, Any], base_url: str, today: date, default_kind: str | None
) -> CollectedItem | None:
    title = clean_text(_str(record.get("name")))
    if not title:
        return None
    page = _str(record.get("url"))
    aid_url = _join(base_url, page) if page else None  # a path on the Aides-territoires site
    origin = _http_url(record.get("origin_url"))
    ident = _str(record.get("id")) or _str(record.get("slug"))
    description = _str(record.get("description"))
    deadline = _first(record, "submission_deadline", "date_submission_deadline")
    financers = _names(record.get("financers")) or _names(record.get("financers_full"))
    return CollectedItem(
        title=title,
        url=origin or aid_url,
        guid=f"aides-territoires:{ident}" if ident else None,
        summary=truncate(html_to_text(description)),
        body=sanitize_html(description),
        published_at=_moment(_first(record, "date_created", "time_create"), today),
        deadline=_end_of_day(deadline, today),
        funder=", ".join(financers) or None,
        kind=default_kind or "appel",  # every Aides-territoires record is funding
        raw_tags=_names(record.get("categories")),
        extra=_without_none(
            aides_territoires_url=aid_url,
            application_url=_http_url(record.get("application_url")),
            opens=_str(_first(record, "start_date", "date_start")) or None,
        ),
    )


ADAPTER = Adapter(
    AT_LABEL, parse_aides_territoires, _connect_aides_territoires, _first_url_aides_territoires
)
