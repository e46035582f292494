"""HTML listings read with CSS selectors and French labels into `CollectedItem`s.

A source's `[source.select]` names, per field, either a CSS selector relative to each item
element (`h3 a`, `a@href` for an attribute, an empty selector `@href` for the item itself)
or `label:Texte`, the text that follows a French label in the item ("Date de clôture :
1 juin 2019"). Many partner sites have no stable classes but print the same labels on every
page, so labels are what survives a redesign.

The listing is paginated by a `next` selector (bounded, never the same page twice). With
`follow = true`, each new item's detail page is read too (bounded, once per run, through the
same polite fetcher) and `[source.detail]` rules fill or override the listing's values.
Nothing here raises on odd HTML; only a failed first page (FetchError) or invalid rules
(RulesError) fail the source, so the health record tells staff what to fix.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html as html_lib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from veille.errors import VeilleError
from veille.sources.dates import extract_deadline, parse_date, parse_event_dates
from veille.sources.fetch import Fetcher, FetchError, FetchResult
from veille.sources.items import DETAIL_READ, CollectedItem, Harvest, SourceTask
from veille.sources.labels import COMMON_LABELS, text_after_label
from veille.sources.normalize import (
    canonical_url,
    clean_text,
    decode_bytes,
    html_to_text,
    infer_kind,
    sanitize_html,
    truncate,
)
from veille.sources.offload import parse

# Fields with a meaning of their own; any other field of the rules lands in `item.extra`.
_FIELDS = frozenset(
    {"title", "link", "date", "deadline", "summary", "funder", "place", "event", "kind"}
    | {"status", "tags", "body"}
)
_CONTROL_KEYS = frozenset({"item", "next", "follow"})
_DEFAULT_MAX_PAGES = 5
_DEFAULT_MAX_FOLLOW = 20
# A listing page holds tens of items; thousands mean a too broad `item` selector, and
# reading them all would take minutes.
MAX_ITEMS_PER_PAGE = 500
# Links to documents are not detail pages: fetching a 10 MB PDF to find no label is waste.
_DOCUMENT_LINK = re.compile(r"\.(?:pdf|docx?|odt|xlsx?|ods|pptx?|zip|rar|7z)$", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
# Where a detail page keeps its content, tried in order; the rest is menus and footers.
_MAIN_CONTENT = ("main", "[role=main]", "article", "#content", "#main", ".main-content")
_RULE_ATTR = re.compile(r"^(?P<selector>.*?)\s*@(?P<attr>[A-Za-z_][\w:.-]*)$", re.DOTALL)
_TAG_SPLIT = re.compile(r"\s*[,;•|]\s*")


class RulesError(VeilleError):
    """The source's selectors cannot be used as written (a configuration mistake)."""


# --- rules -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One field's rule: a CSS selector (with an optional attribute) or a French label."""

    field: str
    selector: str | None = None  # "" = the scope element itself
    attr: str | None = None
    label: str | None = None


def parse_rule(field: str, spec: str) -> Rule:
    spec = spec.strip()
    if spec.lower().startswith("label:"):
        return Rule(field, label=spec[len("label:") :].strip().rstrip(":").strip())
    match = _RULE_ATTR.match(spec)
    if match:
        return Rule(field, selector=match["selector"].strip(), attr=match["attr"])
    return Rule(field, selector=spec)


def _field_rules(rules: dict[str, Any]) -> dict[str, Rule]:
    """The usable field rules; control keys and non-text values (typos in TOML) are skipped."""
    return {
        name: parse_rule(name, value)
        for name, value in rules.items()
        if name not in _CONTROL_KEYS and isinstance(value, str) and value.strip()
    }


def _stop_labels(rules: dict[str, Rule]) -> list[str]:
    return [*COMMON_LABELS, *(r.label for r in rules.values() if r.label)]


# --- reading one scope (an item element, or a detail page) -------------------------------


_ADJACENT_LINKS = re.compile(r"</a>(\s*)<a\b", re.IGNORECASE)


def _label_text(element: Tag) -> str:
    """The text that `label:` rules read. Links printed side by side are separate things
    (themes, countries): "<a>Santé</a><a>Jeunesse</a>" must not read as one word."""
    return html_to_text(_ADJACENT_LINKS.sub(r"</a>,\1<a", str(element)))


@dataclass(slots=True)
class _Scope:
    """An element the rules apply to, with its text computed once and only if a label needs it."""

    element: Tag
    stops: list[str]
    _text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _label_text(self.element)
        return self._text


def _elements(scope: _Scope, selector: str, *, first: bool) -> list[Tag]:
    if selector == "":
        return [scope.element]
    try:
        if first:
            found = scope.element.select_one(selector)
            return [found] if found is not None else []
        return list(scope.element.select(selector))
    # soupsieve raises NotImplementedError for valid CSS it cannot evaluate ("p::before"):
    # to staff that is a rule to rewrite, like a syntax error.
    except (SelectorSyntaxError, ValueError, NotImplementedError) as exc:
        raise RulesError(f"Sélecteur CSS invalide « {selector} » : {exc}") from None


def _attr_value(element: Tag, attr: str) -> str | None:
    value = element.get(attr)
    if isinstance(value, list):  # multi-valued attributes such as class
        value = " ".join(value)
    return value if value else None


def _values(scope: _Scope, rule: Rule, *, as_html: bool = False, every: bool = False) -> list[str]:
    """Raw values of a rule: attribute values, inner HTML (as_html) or element texts."""
    if rule.label is not None:
        value = text_after_label(scope.text, rule.label, scope.stops)
        return [html_lib.escape(value) if as_html else value] if value else []
    values = []
    for element in _elements(scope, rule.selector or "", first=not every):
        if rule.attr:
            value = _attr_value(element, rule.attr)
        elif as_html:
            value = element.decode_contents()
        else:
            value = clean_text(element.decode_contents())
        if value and value.strip():
            values.append(value)
    return values


def _text(scope: _Scope, rule: Rule | None) -> str | None:
    if rule is None:
        return None
    values = _values(scope, rule)
    if not values:
        return None
    return clean_text(values[0]) or None


def _inner_html(scope: _Scope, rule: Rule | None) -> str | None:
    if rule is None:
        return None
    values = _values(scope, rule, as_html=True)
    return values[0] if values else None


def _href(scope: _Scope, rule: Rule | None) -> str | None:
    """A link rule; without "@attr" the element's own href (`link = "h3 a"` just works)."""
    if rule is None:
        first_link = _first_link(scope.element)
        return _attr_value(first_link, "href") if first_link is not None else None
    if rule.label is not None or rule.attr:
        values = _values(scope, rule)
        return values[0].strip() if values else None
    elements = _elements(scope, rule.selector or "", first=True)
    return _attr_value(elements[0], "href") if elements else None


def _first_link(element: Tag) -> Tag | None:
    if element.name == "a" and element.get("href"):
        return element
    return element.select_one("a[href]")


@dataclass(slots=True)
class _Fields:
    """What a scope's rules found; None = the rule is absent or found nothing."""

    title: str | None = None
    link: str | None = None
    published: str | None = None
    deadline: str | None = None
    summary: str | None = None
    funder: str | None = None
    place: str | None = None
    event: str | None = None
    kind: str | None = None
    status: str | None = None
    tags: list[str] | None = None
    body: str | None = None  # raw inner HTML, sanitised when the item is built
    extra: dict[str, str] = dataclasses.field(default_factory=dict)


def _read_fields(scope: _Scope, rules: dict[str, Rule], *, default_link: bool) -> _Fields:
    get = rules.get
    summary_html = _inner_html(scope, get("summary"))
    fields = _Fields(
        title=_text(scope, get("title")),
        link=_href(scope, get("link")) if (get("link") or default_link) else None,
        published=_text(scope, get("date")),
        deadline=_text(scope, get("deadline")),
        summary=truncate(html_to_text(summary_html)) if summary_html else None,
        funder=_text(scope, get("funder")),
        place=_text(scope, get("place")),
        event=_text(scope, get("event")),
        kind=_text(scope, get("kind")),
        status=_text(scope, get("status")),
        tags=_tags(scope, get("tags")),
        body=_inner_html(scope, get("body")),
    )
    for name, rule in rules.items():
        if name not in _FIELDS:
            value = _text(scope, rule)
            if value:
                fields.extra[name] = value
    return fields


def _tags(scope: _Scope, rule: Rule | None) -> list[str] | None:
    if rule is None:
        return None
    raw = _values(scope, rule, every=True)
    if rule.label is not None:  # "Thématique(s) : Eau, Santé" is two tags
        raw = [part for value in raw for part in _TAG_SPLIT.split(value)]
    tags = list(dict.fromkeys(t for t in (clean_text(v) for v in raw) if t))
    return tags or None


# --- listing -----------------------------------------------------------------------------


def parse_html(html: str) -> BeautifulSoup:
    """A tree for any input: lxml first (fast, lenient), html.parser if lxml gives up."""
    html = html.encode("utf-8", errors="replace").decode("utf-8")  # lone surrogates
    for parser in ("lxml", "html.parser"):
        try:
            return BeautifulSoup(html, parser)
        except Exception:  # a parser crash on junk must not lose the source
            continue
    return BeautifulSoup("", "html.parser")


def _base_url(soup: BeautifulSoup, page_url: str) -> str:
    """The page's URL, or its <base href> which browsers resolve relative links against."""
    base = soup.find("base", href=True)
    href = _attr_value(base, "href") if isinstance(base, Tag) else None
    return urljoin(page_url, href) if href else page_url


def extract_listing(
    html: str,
    *,
    base_url: str,
    rules: dict[str, Any],
    today: date,
    item_kind: str | None = None,
) -> list[CollectedItem]:
    """The items of one listing page, by the source's `[source.select]` rules."""
    soup = parse_html(html)
    return _listing_items(soup, base_url=base_url, rules=rules, today=today, item_kind=item_kind)[0]


def _listing_items(
    soup: BeautifulSoup,
    *,
    base_url: str,
    rules: dict[str, Any],
    today: date,
    item_kind: str | None,
) -> tuple[list[CollectedItem], int]:
    """(items, number of elements the item selector matched)."""
    item_selector = rules.get("item")
    if not isinstance(item_selector, str) or not item_selector.strip():
        raise RulesError("La règle « item » de [source.select] est obligatoire.")
    field_rules = _field_rules(rules)
    stops = _stop_labels(field_rules)
    base = _base_url(soup, base_url)
    root = _Scope(soup, stops)
    elements = _elements(root, item_selector.strip(), first=False)
    items: dict[str, CollectedItem] = {}
    for element in _outermost(elements[:MAX_ITEMS_PER_PAGE]):
        fields = _read_fields(_Scope(element, stops), field_rules, default_link=True)
        item = _build_item(fields, element, base=base, today=today, item_kind=item_kind)
        if item is not None:
            _add_unique(items, item)
    return list(items.values()), len(elements)


def _outermost(elements: list[Tag]) -> list[Tag]:
    """Matches nested in another match are part of it (`item = "div"` on nested divs):
    reading each would repeat the same text and cost quadratic time on deep markup."""
    matched = {id(e) for e in elements}
    return [e for e in elements if not any(id(p) in matched for p in e.parents)]


def _add_unique(items: dict[str, CollectedItem], item: CollectedItem) -> None:
    """A call shown twice ("À la une" and in the list, or on two pages) is one item: the
    first place wins, the other fills what the first lacks (tags, dates...)."""
    key = item.guid or item.title
    kept = items.get(key)
    if kept is None:
        items[key] = item
        return
    for field in dataclasses.fields(CollectedItem):
        if not getattr(kept, field.name) and getattr(item, field.name):
            setattr(kept, field.name, getattr(item, field.name))


def _build_item(
    fields: _Fields, element: Tag, *, base: str, today: date, item_kind: str | None
) -> CollectedItem | None:
    url = canonical_url(fields.link, base) if fields.link else None
    title = fields.title
    if title is None and (link := _first_link(element)) is not None:
        title = clean_text(link.decode_contents()) or None
    if not title and not url:
        return None  # a decorative block matched by a broad selector
    item = CollectedItem(
        title=title or url or "",
        url=url,
        guid=url,
        body=sanitize_html(element.decode_contents()),
    )
    _apply_fields(item, fields, today=today)
    item.kind = infer_kind(item_kind, item.title, fields.kind or html_to_text(item.body))
    return item


def _apply_fields(item: CollectedItem, fields: _Fields, *, today: date) -> None:
    """Set on `item` every value the fields hold (shared by listing and detail pages)."""
    if fields.title:
        item.title = fields.title
    if fields.summary:
        item.summary = fields.summary
    if fields.body:
        item.body = sanitize_html(fields.body)
    if fields.published and (published := parse_date(fields.published, today=today)):
        item.published_at = published
    if fields.deadline:
        info = extract_deadline(fields.deadline, today=today)
        item.deadline = info.deadline or item.deadline
        item.closed = item.closed or info.closed
        if info.opens is not None:
            item.extra["opens"] = info.opens.isoformat()
    if fields.status and extract_deadline(fields.status, today=today).closed:
        item.closed = True
    if fields.event:
        start, end = parse_event_dates(fields.event, today=today)
        if start is not None:
            item.event_start, item.event_end = start, end
    item.funder = fields.funder or item.funder
    item.event_place = fields.place or item.event_place
    if fields.tags:
        item.raw_tags = list(fields.tags)
    item.extra.update(fields.extra)


# --- detail pages ------------------------------------------------------------------------


def _main_content(soup: BeautifulSoup) -> Tag:
    for selector in _MAIN_CONTENT:
        found = soup.select_one(selector)
        if found is not None and found.get_text(strip=True):
            return found
    return soup.body or soup


def apply_detail(
    item: CollectedItem,
    html: str,
    *,
    base_url: str,
    rules: dict[str, str],
    today: date,
    item_kind: str | None = None,
) -> CollectedItem:
    """A copy of `item` completed by its detail page: selectors apply to the whole page,
    labels to its main text; values found here win over the listing's."""
    soup = parse_html(html)
    field_rules = _field_rules(rules)
    # The item's identity is its listing link: a detail page cannot move it elsewhere.
    field_rules.pop("link", None)
    stops = _stop_labels(field_rules)
    scope = _Scope(soup, stops, _text=_label_text(_main_content(soup)))
    fields = _read_fields(scope, field_rules, default_link=False)
    updated = dataclasses.replace(item, raw_tags=list(item.raw_tags), extra=dict(item.extra))
    _apply_fields(updated, fields, today=today)
    if fields.body and not fields.summary and not item.summary:
        updated.summary = truncate(html_to_text(fields.body))
    if fields.title or fields.kind:
        updated.kind = infer_kind(item_kind or item.kind, updated.title, fields.kind or "")
    return updated


# --- harvest -----------------------------------------------------------------------------


def _int_rule(task: SourceTask, name: str, default: int, minimum: int) -> int:
    value = task.rules.get(name, (task.rules.get("select") or {}).get(name, default))
    try:
        return max(minimum, int(value))
    except (TypeError, ValueError):
        return default


def _decode(result: FetchResult) -> str:
    return decode_bytes(result.content, result.charset)


async def harvest(task: SourceTask, fetcher: Fetcher, *, today: date) -> Harvest:
    select = task.rules.get("select")
    if not isinstance(select, dict):
        raise RulesError("Une source html a besoin de règles [source.select].")
    first = await fetcher.get(
        task.url, etag=task.etag, last_modified=task.last_modified, respect_robots=True
    )
    if first.not_modified:
        return Harvest.unchanged(first)
    items, problems = await _read_listing(task, fetcher, first, select, today=today)
    detail = task.rules.get("detail")
    if (select.get("follow") or task.rules.get("follow")) and isinstance(detail, dict) and detail:
        items, failed = await _follow(task, fetcher, items, detail, today=today)
        if failed:
            problems.append(
                "1 page de détail n'a pas pu être lue."
                if failed == 1
                else f"{failed} pages de détail n'ont pas pu être lues."
            )
    return Harvest(
        items=items,
        etag=first.etag,
        last_modified=first.last_modified,
        problem=" ".join(problems) or None,
        hint_seconds=first.max_age,
    )


async def _read_listing(
    task: SourceTask,
    fetcher: Fetcher,
    first: FetchResult,
    select: dict[str, Any],
    *,
    today: date,
) -> tuple[list[CollectedItem], list[str]]:
    """Every page of the listing, up to max_pages, each URL at most once."""
    max_pages = _int_rule(task, "max_pages", _DEFAULT_MAX_PAGES, 1)
    seen = {u for u in (canonical_url(task.url), canonical_url(first.url)) if u}
    items: dict[str, CollectedItem] = {}
    problems: list[str] = []
    page, number = first, 1
    while True:
        found, matched, next_url = await parse(
            read_page, page.content, page.charset, page.url, select, today, task.item_kind
        )
        if number == 1 and matched == 0:
            problems.append(
                f"Aucun élément trouvé avec le sélecteur « {select['item']} » : "
                "la page a peut-être changé."
            )
        elif matched > MAX_ITEMS_PER_PAGE and not any("seuls les" in p for p in problems):
            problems.append(
                f"{matched} éléments trouvés avec « {select['item']} » : seuls les "
                f"{MAX_ITEMS_PER_PAGE} premiers de chaque page sont lus (sélecteur trop large ?)."
            )
        elif number == 1 and not found:
            problems.append(
                f"{matched} éléments trouvés avec « {select['item']} » mais aucun n'a de titre "
                "ni de lien : les sélecteurs sont peut-être à revoir."
            )
        for item in found:
            _add_unique(items, item)
        if number >= max_pages or next_url is None or next_url in seen:
            break
        seen.add(next_url)
        try:
            page = await fetcher.get(next_url, respect_robots=True)
        except FetchError as exc:
            problems.append(f"La page {number + 1} de la liste n'a pas pu être lue : {exc}")
            break
        final = canonical_url(page.url)
        if final and final != next_url and final in seen:
            break  # redirected back to a page already read
        seen.add(final or next_url)
        number += 1
    return list(items.values()), problems


def read_page(
    content: bytes,
    charset: str | None,
    page_url: str,
    select: dict[str, Any],
    today: date,
    item_kind: str | None,
) -> tuple[list[CollectedItem], int, str | None]:
    """One listing page: its items, how many elements the `item` selector matched, and the
    next page's URL. Pure, so that it can run in a worker process."""
    soup = parse_html(decode_bytes(content, charset))
    base = _base_url(soup, page_url)
    found, matched = _listing_items(
        soup, base_url=base, rules=select, today=today, item_kind=item_kind
    )
    return found, matched, _next_url(soup, select.get("next"), base)


def _next_url(soup: BeautifulSoup, spec: Any, base: str) -> str | None:
    if not isinstance(spec, str) or not spec.strip():
        return None
    href = _href(_Scope(soup, list(COMMON_LABELS)), parse_rule("next", spec))
    return canonical_url(href, base) if href else None


async def _follow(
    task: SourceTask,
    fetcher: Fetcher,
    items: list[CollectedItem],
    detail: dict[str, Any],
    *,
    today: date,
) -> tuple[list[CollectedItem], int]:
    """Items completed by their detail pages; returns them and the number of failed pages."""
    max_follow = _int_rule(task, "max_follow", _DEFAULT_MAX_FOLLOW, 0)
    urls: list[str] = []
    for item in items:
        url = item.url
        if url and url not in task.known_urls and url not in urls and not _is_document(url):
            urls.append(url)
    urls = urls[:max_follow]
    # One fetch per URL (the in-run cache); the fetcher's host limits keep this polite.
    pages = await asyncio.gather(*(_fetch_detail(fetcher, url) for url in urls))
    cache = dict(zip(urls, pages, strict=True))
    completed = []
    for item in items:
        page = cache.get(item.url or "")
        if isinstance(page, FetchResult):
            item = await parse(
                apply_detail,
                item,
                _decode(page),
                base_url=page.url,
                rules=detail,
                today=today,
                item_kind=task.item_kind,
            )
        if page is not None and (item.url or "") in cache:
            # Read (or nothing to read): not followed again. An item over the cap or whose
            # page failed is followed at a later run instead of losing its detail for good.
            item.extra[DETAIL_READ] = True
        completed.append(item)
    return completed, sum(1 for p in pages if p is None)


async def _fetch_detail(fetcher: Fetcher, url: str) -> FetchResult | bool | None:
    """The page, False when it is not HTML (nothing to read, no failure), None on failure."""
    try:
        result = await fetcher.get(url, respect_robots=True)
    except FetchError:
        return None
    content_type = result.headers.get("content-type", "").split(";")[0].strip().lower()
    return result if content_type in _HTML_TYPES else False


def _is_document(url: str) -> bool:
    return bool(_DOCUMENT_LINK.search(url.split("?", 1)[0]))
