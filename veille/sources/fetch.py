"""The one HTTP fetcher of the collector: polite, bounded, and honest about failures.

Every source goes through `Fetcher`: it sends the project's User-Agent, uses conditional
GETs, caps the decoded body, the number of redirects and the wall-clock time of a request,
retries transient failures with backoff (honouring Retry-After), limits concurrency
globally and per host, and optionally obeys robots.txt. Every failure becomes a
`FetchError` whose message is a French sentence for staff; no httpx exception escapes.

Two modules beside it do the rest: `decoding` reads a body under the size cap (gzip and
deflate included), `fetch_errors` builds each `FetchError` and its French message.
`FetchError` is re-exported here: callers import it with `Fetcher` and `FetchPolicy`.
"""

from __future__ import annotations

import asyncio
import json
import random
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.robotparser import RobotFileParser

import httpx

from veille.sources.decoding import _read_capped
from veille.sources.fetch_errors import FetchError as FetchError
from veille.sources.fetch_errors import FetchErrorKind as FetchErrorKind
from veille.sources.fetch_errors import (
    _httpx_timeout_error,
    _network_error,
    _rate_limited,
    _status_error,
    _timeout_error,
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers still sent when a redirect leaves the origin; the caller's others may be secrets.
CROSS_ORIGIN_HEADERS = frozenset({"user-agent", "accept", "accept-language", "content-type"})
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 lets crawlers ignore what follows 500 KiB


@dataclass(slots=True)
class FetchResult:
    url: str  # final URL after redirects
    status: int  # 200 (any 2xx) or 304
    content: bytes  # b"" when not modified
    headers: dict[str, str]  # lower-case names
    etag: str | None
    last_modified: str | None
    not_modified: bool
    max_age: float | None = None  # Cache-Control max-age: the server's hint for the next fetch

    @property
    def charset(self) -> str | None:
        return _charset(self.headers.get("content-type", ""))


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    user_agent: str
    concurrency: int = 20  # global limit of requests in flight
    per_host: int = 2  # limit per host (hostname:port)
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # wall-clock cap per attempt, body included
    max_bytes: int = 10 * 1024 * 1024  # cap on the decoded (decompressed) body
    max_redirects: int = 5
    retries: int = 2  # extra attempts on 5xx / 429 / network errors / timeouts
    backoff: float = 0.5  # base seconds, exponential with jitter
    max_retry_wait: float = 30.0  # a longer Retry-After is reported, not waited for

    def __post_init__(self) -> None:
        # A zero limit would make every fetch wait forever: fail at configuration time.
        if min(self.concurrency, self.per_host, self.max_bytes) < 1:
            raise ValueError("concurrency, per_host and max_bytes must be at least 1")
        if min(self.retries, self.max_redirects) < 0:
            raise ValueError("retries and max_redirects cannot be negative")


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: httpx.URL
    headers: dict[str, str]
    content: bytes | None = None


class Fetcher:
    """Owns one pooled HTTP/1.1 client; use as `async with Fetcher(policy) as fetcher`."""

    def __init__(
        self, policy: FetchPolicy, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.policy = policy
        self._user_agent = _ascii(policy.user_agent)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(policy.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._robots: dict[str, RobotFileParser | None] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def __aenter__(self) -> Fetcher:
        p = self.policy
        self._client = httpx.AsyncClient(
            transport=self._transport,
            http1=True,
            http2=False,
            follow_redirects=False,  # followed by hand: the limit, loops and robots per hop
            timeout=httpx.Timeout(
                connect=p.connect_timeout,
                read=p.read_timeout,
                write=p.read_timeout,
                pool=p.total_timeout,
            ),
            limits=httpx.Limits(
                max_connections=p.concurrency, max_keepalive_connections=p.concurrency
            ),
            # Only the codings decoding._BoundedDecoder can undo under the size cap.
            headers={"User-Agent": self._user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- public API ------------------------------------------------------------------

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        respect_robots: bool = False,
        headers: dict[str, str] | None = None,
    ) -> FetchResult:
        extra = dict(headers or {})
        if etag:
            extra["If-None-Match"] = etag
        if last_modified:
            extra["If-Modified-Since"] = last_modified
        request = _Request("GET", _parse_url(url), self._headers(extra))
        return await self._with_retries(request, respect_robots)

    async def post_json(
        self, url: str, payload: object, *, headers: dict[str, str] | None = None
    ) -> FetchResult:
        extra = {"Content-Type": "application/json", "Accept": "application/json"}
        extra.update(headers or {})
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        request = _Request("POST", _parse_url(url), self._headers(extra), body)
        return await self._with_retries(request, respect_robots=False)

    # --- retries ---------------------------------------------------------------------

    async def _with_retries(self, request: _Request, respect_robots: bool) -> FetchResult:
        attempt = 0
        while True:
            try:
                return await self._attempt(request, respect_robots)
            except FetchError as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    raise _final_error(exc, self.policy.max_retry_wait) from None
            attempt += 1
            await asyncio.sleep(wait)

    def _retry_wait(self, exc: FetchError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        p = self.policy
        if not _is_transient(exc) or attempt >= p.retries:
            return None
        if exc.retry_after is not None:
            return exc.retry_after if exc.retry_after <= p.max_retry_wait else None
        # Jitter spreads the retries of many sources that failed at the same moment.
        return p.backoff * (2**attempt) * random.uniform(0.5, 1.5)

    # --- one attempt: redirects, each hop inside its host's slot ---------------------

    async def _attempt(self, request: _Request, respect_robots: bool) -> FetchResult:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        seen: set[str] = set()
        hops = 0
        while True:
            if respect_robots:
                await self._check_robots(request.url)
            seen.add(str(request.url))
            async with self._slot(request.url):
                # The clock starts once we may send: time spent queued is not the site's.
                if deadline is None:
                    deadline = loop.time() + self.policy.total_timeout
                result = await self._hop(request, deadline)
            if isinstance(result, FetchResult):
                return result
            hops += 1
            if str(result.url) in seen:
                raise FetchError("redirects", "Le site redirige en boucle.")
            if hops > self.policy.max_redirects:
                raise FetchError("redirects", "Trop de redirections.")
            request = result

    async def _hop(self, request: _Request, deadline: float) -> FetchResult | _Request:
        """Send one request; return the result, or the next request for a redirect."""
        try:
            async with asyncio.timeout_at(deadline):
                async with self._http().stream(
                    request.method,
                    request.url,
                    headers=request.headers,
                    content=request.content,
                ) as response:
                    return await self._handle(request, response)
        except TimeoutError:
            raise _timeout_error(self.policy.total_timeout) from None
        except httpx.TimeoutException as exc:
            raise _httpx_timeout_error(exc, self.policy) from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise _network_error(exc) from None

    async def _handle(self, request: _Request, response: httpx.Response) -> FetchResult | _Request:
        status = response.status_code
        location = response.headers.get("location")
        if status in REDIRECT_STATUSES and location:
            return _redirected(request, response.url, status, location)
        if status == 304:
            return _result(response, b"")  # nothing to read: the body is empty by definition
        if not 200 <= status < 300:
            raise _status_error(status, _retry_after(response.headers.get("retry-after")))
        return _result(response, await _read_capped(response, self.policy.max_bytes))

    # --- politeness: slots and robots.txt --------------------------------------------

    @asynccontextmanager
    async def _slot(self, url: httpx.URL) -> AsyncIterator[None]:
        key = _host_key(url)
        host_slots = self._host_slots.get(key)
        if host_slots is None:
            host_slots = self._host_slots[key] = asyncio.Semaphore(self.policy.per_host)
        # Host first: waiting for a busy host must not hold one of the global slots.
        async with host_slots, self._slots:
            yield

    async def _check_robots(self, url: httpx.URL) -> None:
        rules = await self._robots_for(url)
        if rules is not None and not rules.can_fetch(self._user_agent, str(url)):
            raise FetchError("robots", "Le fichier robots.txt du site interdit cette page.")

    async def _robots_for(self, url: httpx.URL) -> RobotFileParser | None:
        key = f"{url.scheme}://{_host_key(url)}"
        lock = self._robots_locks.setdefault(key, asyncio.Lock())
        async with lock:  # one fetch per host even when many pages ask at once
            if key not in self._robots:
                self._robots[key] = await self._fetch_robots(
                    url.copy_with(path="/robots.txt", query=None, fragment=None)
                )
            return self._robots[key]

    async def _fetch_robots(self, robots_url: httpx.URL) -> RobotFileParser | None:
        """Parsed rules, or None (everything allowed) when there is no usable file."""
        request = _Request("GET", robots_url, self._headers({}))
        try:
            result = await self._attempt(request, respect_robots=False)
        except FetchError:
            return None  # missing, broken or unreachable robots.txt must not block a source
        if result.not_modified:
            return None
        rules = RobotFileParser(str(robots_url))
        text = result.content[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        rules.parse(text.splitlines())
        return rules

    # --- helpers ---------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("Fetcher must be used as `async with Fetcher(policy)`.")
        return self._client

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        # The policy's User-Agent always wins: sites must be able to tell who we are.
        headers = {name: _ascii(value) for name, value in extra.items()}
        return {**headers, "User-Agent": self._user_agent}


# --- requests and responses ------------------------------------------------------------


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError("network", f"Adresse invalide : {url}")
    return parsed


def _ascii(value: str) -> str:
    """Header values must be ASCII: "Coopération" is sent as "Cooperation", not a crash."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return folded.replace("\r", " ").replace("\n", " ")


def _host_key(url: httpx.URL) -> str:
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"


def _redirected(request: _Request, base: httpx.URL, status: int, location: str) -> _Request:
    try:
        target = base.join(location)
    except httpx.InvalidURL:
        raise FetchError("redirects", "Le site redirige vers une adresse invalide.") from None
    if target.scheme not in ("http", "https"):
        raise FetchError("redirects", "Le site redirige vers une adresse invalide.")
    headers = request.headers
    if not _trusted_redirect(request.url, target):
        # API keys and tokens must not follow a redirect to someone else's server.
        headers = {k: v for k, v in headers.items() if k.lower() in CROSS_ORIGIN_HEADERS}
    if status == 303 or (status in (301, 302) and request.method == "POST"):
        # Browsers' behaviour, as httpx does it: the body is not sent again.
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        return _Request("GET", target, headers)
    return _Request(request.method, target, headers, request.content)


def _trusted_redirect(source: httpx.URL, target: httpx.URL) -> bool:
    """Same origin, or the same host moving from http to https."""
    if source.host != target.host:
        return False
    if source.scheme == target.scheme:
        return _host_key(source) == _host_key(target)
    return source.scheme == "http" and target.scheme == "https"


def _result(response: httpx.Response, content: bytes) -> FetchResult:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return FetchResult(
        url=str(response.url),
        status=response.status_code,
        content=content,
        headers=headers,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        not_modified=response.status_code == 304,
        max_age=_max_age(headers.get("cache-control", "")),
    )


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower() or None
    return None


def _max_age(cache_control: str) -> float | None:
    for directive in cache_control.split(","):
        name, _, value = directive.partition("=")
        if name.strip().lower() == "max-age":
            value = value.strip().strip('"')
            return float(value) if value.isdigit() else None
    return None


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# --- retry decisions -------------------------------------------------------------------


def _is_transient(exc: FetchError) -> bool:
    if exc.kind in ("timeout", "network", "rate_limited"):
        return True
    return exc.kind == "http" and exc.status is not None and exc.status >= 500


def _final_error(exc: FetchError, max_retry_wait: float) -> FetchError:
    """A server asking for a wait longer than we accept is rate limiting us, whatever code."""
    wait = exc.retry_after
    if exc.kind == "http" and wait is not None and wait > max_retry_wait:
        return _rate_limited(exc.status or 503, wait)
    return exc
