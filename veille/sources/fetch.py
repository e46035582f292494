"""The one HTTP fetcher of the collector: polite, bounded, and honest about failures.

Every source goes through `Fetcher`: it sends the project's User-Agent, uses conditional
GETs, caps the decoded body, the number of redirects and the wall-clock time of a request,
retries transient failures with backoff (honouring Retry-After), limits concurrency
globally and per host, and optionally obeys robots.txt. Every failure becomes a
`FetchError` whose message is a French sentence for staff; no httpx exception escapes.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import unicodedata
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Literal
from urllib.robotparser import RobotFileParser

import httpx

from veille.errors import VeilleError

FetchErrorKind = Literal[
    "timeout", "network", "http", "too_large", "redirects", "robots", "rate_limited"
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers still sent when a redirect leaves the origin; the caller's others may be secrets.
CROSS_ORIGIN_HEADERS = frozenset({"user-agent", "accept", "accept-language", "content-type"})
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 lets crawlers ignore what follows 500 KiB

_STATUS_REASONS = {
    400: "requête refusée",
    401: "authentification requise",
    403: "accès refusé",
    404: "page introuvable",
    405: "méthode refusée",
    408: "délai dépassé côté serveur",
    410: "page supprimée",
    429: "trop de requêtes",
    500: "erreur interne du site",
    502: "passerelle en erreur",
    503: "service indisponible",
    504: "passerelle expirée",
}


class FetchError(VeilleError):
    """A fetch that failed; `str(exc)` is the sentence shown to staff."""

    def __init__(
        self,
        kind: FetchErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait, if any


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
            # Only the codings _BoundedDecoder can undo under the size cap.
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


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    encoded = bool(response.headers.get("content-encoding"))
    if not encoded and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    decoder = _BoundedDecoder(response.headers.get("content-encoding", ""))
    body = bytearray()
    async for raw in response.aiter_raw():
        body += decoder.decode(raw, room=max_bytes + 1 - len(body))
        if len(body) > max_bytes:  # stops endless bodies and compression bombs early
            raise _too_large(max_bytes)
    return bytes(body)


class _BoundedDecoder:
    """Undoes gzip/deflate without ever producing more than the room left under the cap.

    httpx's own decoding (`aiter_bytes`) inflates a whole network chunk at once: one
    64 KB chunk of a gzip bomb becomes ~150 MB before any cap can be checked.
    """

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        # Like httpx, unknown codings ("utf-8", "none"...) sent by broken servers are ignored.
        known = [c for c in codings if c in ("gzip", "x-gzip", "deflate")]
        if len(known) > 1:
            raise FetchError(
                "network", "Réponse illisible (compression multiple non prise en charge)."
            )
        self._coding = known[0] if known else None
        wbits = zlib.MAX_WBITS | 16 if self._coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def decode(self, data: bytes, room: int) -> bytes:
        """At most `room` (>= 1; zlib reads 0 as "no limit") bytes of output."""
        if self._coding is None:
            return data
        try:
            return self._inflate(data, room)
        except zlib.error:
            raise FetchError("network", "Réponse illisible (compression invalide).") from None

    def _inflate(self, data: bytes, room: int) -> bytes:
        if self._coding == "deflate" and not self._started:
            self._started = True
            try:
                return self._zlib.decompress(data, room)
            except zlib.error:
                # Some servers send raw deflate without the zlib header (httpx does the same).
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        if self._zlib.eof:
            return b""  # trailing bytes after the compressed stream are ignored
        return self._zlib.decompress(data, room)


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


# --- errors ----------------------------------------------------------------------------


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


def _status_error(status: int, retry_after: float | None) -> FetchError:
    if status == 429:
        return _rate_limited(status, retry_after)
    reason = _STATUS_REASONS.get(status)
    message = (
        f"Le site a répondu {status} ({reason})." if reason else f"Le site a répondu {status}."
    )
    return FetchError("http", message, status=status, retry_after=retry_after)


def _rate_limited(status: int, retry_after: float | None) -> FetchError:
    message = f"Le site demande de patienter ({status})"
    if retry_after is not None:
        message += f", nouvel essai dans {_number(retry_after)} s"
    return FetchError("rate_limited", message + ".", status=status, retry_after=retry_after)


def _too_large(max_bytes: int) -> FetchError:
    megabytes = max_bytes / (1024 * 1024)
    size = f"{_number(megabytes)} Mo" if megabytes >= 1 else f"{max_bytes // 1024} Ko"
    return FetchError("too_large", f"Réponse trop volumineuse (plus de {size}).")


def _timeout_error(seconds: float) -> FetchError:
    return FetchError(
        "timeout", f"Le site n'a pas répondu à temps (délai de {_number(seconds)} s dépassé)."
    )


def _httpx_timeout_error(exc: httpx.TimeoutException, policy: FetchPolicy) -> FetchError:
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchError(
            "timeout",
            f"Le site ne répond pas (connexion impossible en {_number(policy.connect_timeout)} s).",
        )
    if isinstance(exc, httpx.PoolTimeout):
        return _timeout_error(policy.total_timeout)
    return _timeout_error(policy.read_timeout)


def _network_error(exc: Exception) -> FetchError:
    return FetchError("network", _network_message(exc))


def _network_message(exc: Exception) -> str:
    causes = _causes(exc)
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "Impossible de joindre le site (connexion refusée)."
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
        return "Impossible de joindre le site (certificat TLS invalide)."
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "Impossible de joindre le site (erreur TLS)."
    text = " ".join(str(c) for c in causes).lower()
    if "name or service not known" in text or "getaddrinfo" in text or "nodename" in text:
        return "Impossible de joindre le site (nom de domaine introuvable)."
    if "refused" in text:
        return "Impossible de joindre le site (connexion refusée)."
    if isinstance(exc, httpx.RemoteProtocolError):
        return "Le site a coupé la connexion avant la fin de la réponse."
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return "Adresse invalide."
    return f"Impossible de joindre le site (erreur réseau : {exc.__class__.__name__})."


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and its causes: httpx wraps the OSError that tells what happened."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _number(value: float) -> str:
    """French number: 20, 0,3, 2,5."""
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
