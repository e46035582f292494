"""OpenDataSoft Explore v2.1 `/records` (the Région Occitanie's portal): open, no key.

Calls for projects and news share one dataset; a call's deadline, and whether it is
closed, are read from its title and text.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from veille.sources.api.common import (
    Adapter,
    ApiResponseError,
    PageFetch,
    _first,
    _http_url,
    _int,
    _moment,
    _names,
    _page_size,
    _query_int,
    _records,
    _str,
    _unique,
    _with_query,
    _without_none,
)
from veille.sources.dates import extract_deadline
from veille.sources.fetch import Fetcher, FetchResult
from veille.sources.folding import fold
from veille.sources.items import CollectedItem, SourceTask
from veille.sources.normalize import (
    clean_text,
    html_to_text,
    infer_kind,
    sanitize_html,
    truncate,
)

ODS_LABEL = "OpenDataSoft"

_CLOSED_TITLE = re.compile(r"\b(clos|clotures?|cloturees?)\b")
_CLOSED_TEXT = re.compile(
    r"\b(cet|l')\s*appel\s+(a\s+(projets?|candidatures?|manifestations?\s+d'interet)\s+)?"
    r"est\s+(desormais\s+|maintenant\s+)?(clos|cloture|termine)\b"
)


async def _connect_open(task: SourceTask, fetcher: Fetcher) -> PageFetch:
    async def fetch_page(url: str) -> FetchResult:
        return await fetcher.get(url, headers={"Accept": "application/json"})

    return fetch_page


def _first_url_opendatasoft(task: SourceTask) -> str:
    current = dict(parse_qsl(urlsplit(task.url).query))
    limit = current.get("limit") or min(_page_size(task.rules, 100), 100)
    return _with_query(task.url, limit=limit, offset=current.get("offset") or 0)


def parse_opendatasoft(
    data: dict[str, Any], *, base_url: str, today: date, default_kind: str | None = None
) -> tuple[list[CollectedItem], str | None]:
    """A page of an Explore v2.1 `/records` answer: `{total_count, results}`."""
    if "results" not in data:
        raise ApiResponseError(
            f"Réponse inattendue de l'API {ODS_LABEL} : champ « results » absent."
        )
    records = _records(data["results"], ODS_LABEL)
    items = [_ods_item(r, today, default_kind) for r in records]
    offset = _query_int(base_url, "offset") + len(records)
    total = _int(data.get("total_count"))
    more = bool(records) and total is not None and offset < total
    return [i for i in items if i is not None], _with_query(
        base_url, offset=offset
    ) if more else None


def _ods_item(
    record: dict[str, Any], today: date, default_kind: str | None
) -> CollectedItem | None:
    title = clean_text(_str(record.get("titre")))
    if not title:
        return None
    chapo, introduction = _str(record.get("chapo")), _str(record.get("introduction"))
    text = "\n".join(t for t in (html_to_text(chapo), html_to_text(introduction)) if t)
    info = extract_deadline(f"{title}\n{text}", today=today)
    folded_title, folded_text = fold(title), fold(text)
    closed = (
        info.closed
        or bool(_CLOSED_TITLE.search(folded_title))
        or bool(_CLOSED_TEXT.search(folded_text))
    )
    url = _http_url(record.get("url"))
    is_call = fold(_str(record.get("type"))).startswith("appel")
    published = _first(record, "date_publication", "date_modification")
    return CollectedItem(
        title=title,
        url=url,
        guid=url,
        summary=truncate(html_to_text(chapo) or text),
        body=sanitize_html(introduction or chapo),
        published_at=_moment(published, today),
        deadline=info.deadline,
        closed=closed,
        kind="appel" if is_call else infer_kind(default_kind, title, text),
        raw_tags=_tags(record.get("thematiques")),
        extra=_without_none(opens=info.opens.isoformat() if info.opens else None),
    )


def _tags(value: object) -> list[str]:
    """Themes as a list, or as one "a;b" string (OpenDataSoft multi-valued text)."""
    if isinstance(value, str):
        return _unique([clean_text(part) for part in value.split(";")])
    return _names(value)


ADAPTER = Adapter(ODS_LABEL, parse_opendatasoft, _connect_open, _first_url_opendatasoft)
