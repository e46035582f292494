"""JSON APIs: Aides-territoires, ReliefWeb, OpenDataSoft (Région Occitanie), API Engagement.

One adapter per `format` of the source, kept in the `ADAPTERS` registry: it knows how to
authenticate (`connect`, which returns a page fetcher), where paging starts (`first_url`)
and how one page of JSON becomes `CollectedItem`s (the pure `parse_<format>` functions,
which also name the next page, so they are tested without HTTP). Pages are followed up to
the source's `max_pages` (default 5), and only on the API's own host.

An answer that is not the JSON a format expects is an `ApiResponseError` (a `ValueError`
with a French sentence, recorded in the source's health); a missing or refused key is
`NeedsConfiguration`. Keys, tokens and secret application names never appear in a message.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
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
    html_to_text,
    infer_kind,
    sanitize_html,
    truncate,
)

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_MAX_PAGES = 5
_END_OF_DAY = time(23, 59)

AT_LABEL = "Aides-territoires"
RW_LABEL = "ReliefWeb"
ODS_LABEL = "OpenDataSoft"
AE_LABEL = "API Engagement"

# ReliefWeb v2: what each page asks for; a source's `params.query` is merged into it.
RELIEFWEB_FIELDS = ["title", "url_alias", "date", "source", "country", "city", "type"]
RELIEFWEB_KINDS = {"jobs": "offre", "training": "offre", "reports": "actualite"}

_CLOSED_TITLE = re.compile(r"\b(clos|clotures?|cloturees?)\b")
_CLOSED_TEXT = re.compile(
    r"\b(cet|l')\s*appel\s+(a\s+(projets?|candidatures?|manifestations?\s+d'interet)\s+)?"
    r"est\s+(desormais\s+|maintenant\s+)?(clos|cloture|termine)\b"
)

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


async def harvest(task: SourceTask, fetcher: Fetcher, *, today: date) -> Harvest:
    fmt = task.rules.get("format")
    adapter = ADAPTERS.get(fmt) if isinstance(fmt, str) else None
    if adapter is None:
        raise ApiResponseError(
            f"Format d'API inconnu : « {fmt} » (attendu : {', '.join(ADAPTERS)})."
        )
    fetch_page = await adapter.connect(task, fetcher)
    return await _paginate(task, adapter, fetch_page, today)


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


# --- Aides-territoires -----------------------------------------------------------------


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


# --- ReliefWeb -------------------------------------------------------------------------


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


# --- OpenDataSoft (Région Occitanie) ---------------------------------------------------


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
    folded_title, folded_text = _fold(title), _fold(text)
    closed = (
        info.closed
        or bool(_CLOSED_TITLE.search(folded_title))
        or bool(_CLOSED_TEXT.search(folded_text))
    )
    url = _http_url(record.get("url"))
    is_call = _fold(_str(record.get("type"))).startswith("appel")
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


# --- API Engagement (service civique, JeVeuxAider) -------------------------------------


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


ADAPTERS: dict[str, Adapter] = {
    "aides-territoires": Adapter(
        AT_LABEL, parse_aides_territoires, _connect_aides_territoires, _first_url_aides_territoires
    ),
    "reliefweb": Adapter(RW_LABEL, parse_reliefweb, _connect_reliefweb, lambda t: t.url),
    "opendatasoft": Adapter(ODS_LABEL, parse_opendatasoft, _connect_open, _first_url_opendatasoft),
    "api-engagement": Adapter(
        AE_LABEL, parse_api_engagement, _connect_api_engagement, _first_url_api_engagement
    ),
}


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


def _tags(value: object) -> list[str]:
    """Themes as a list, or as one "a;b" string (OpenDataSoft multi-valued text)."""
    if isinstance(value, str):
        return _unique([clean_text(part) for part in value.split(";")])
    return _names(value)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


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


def _without_none(**values: object) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'").lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


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
