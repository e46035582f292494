"""The shared fetcher against a real HTTP server on loopback (no mocks)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar

import pytest

from tests import loopback
from tests.conftest import free_port
from tests.loopback import LoopbackServer, respond
from veille.sources.fetch import Fetcher, FetchError, FetchPolicy, FetchResult

http_server = loopback.http_server  # the shared fixture (an import would trip ruff F811)

UA = "veille-test/1.0 (+mailto:veille@example.org)"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make_policy(**overrides: Any) -> FetchPolicy:
    # Short delays keep the file fast; each test overrides what it exercises.
    settings: dict[str, Any] = {
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
        "backoff": 0.01,
    }
    settings.update(overrides)
    return FetchPolicy(user_agent=UA, **settings)


def fetch(url: str, policy: FetchPolicy | None = None, **kwargs: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(policy or make_policy()) as fetcher:
            return await fetcher.get(url, **kwargs)

    return run(go())


def fetch_error(url: str, policy: FetchPolicy | None = None, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, policy, **kwargs)
    return caught.value


@pytest.fixture
def second_host() -> Iterator[LoopbackServer]:
    """A second host on loopback, for what differs between hosts."""
    with LoopbackServer("127.0.0.2") as server:
        yield server


# --- plain and conditional GET ---------------------------------------------------------


def test_ok_returns_body_validators_and_charset(http_server: LoopbackServer) -> None:
    http_server.add(
        "/page",
        "<p>Élan</p>".encode("iso-8859-1"),
        content_type="text/html; charset=ISO-8859-1",
        etag='"v1"',
        last_modified="Wed, 01 Oct 2025 08:00:00 GMT",
        headers={"Cache-Control": "public, max-age=600"},
    )

    result = fetch(http_server.url("/page"))

    assert result.status == 200 and not result.not_modified
    assert result.url == http_server.url("/page")
    assert result.content == "<p>Élan</p>".encode("iso-8859-1")
    assert result.charset == "iso-8859-1"
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 Oct 2025 08:00:00 GMT"
    assert result.headers["content-type"] == "text/html; charset=ISO-8859-1"
    assert result.max_age == 600


def test_max_age_absent_or_unusable_is_none(http_server: LoopbackServer) -> None:
    http_server.add("/plain", "x")
    http_server.add("/nocache", "x", headers={"Cache-Control": "no-cache"})
    http_server.add("/spaced", "x", headers={"Cache-Control": "s-maxage=10, MAX-AGE = 60"})

    assert fetch(http_server.url("/plain")).max_age is None
    assert fetch(http_server.url("/nocache")).max_age is None
    assert fetch(http_server.url("/spaced")).max_age == 60


def test_conditional_get_answered_304_is_not_modified(http_server: LoopbackServer) -> None:
    stamp = "Wed, 01 Oct 2025 08:00:00 GMT"
    http_server.add("/feed", "<rss/>", etag='"v1"', last_modified=stamp)

    result = fetch(http_server.url("/feed"), etag='"v1"', last_modified=stamp)

    assert result.not_modified and result.status == 304
    assert result.content == b""
    assert result.etag == '"v1"'
    sent = http_server.requests[-1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == stamp


def test_changed_resource_is_fetched_despite_old_validators(
    http_server: LoopbackServer,
) -> None:
    http_server.add("/feed", "<rss>new</rss>", etag='"v2"')

    result = fetch(http_server.url("/feed"), etag='"v1"')

    assert not result.not_modified
    assert result.content == b"<rss>new</rss>" and result.etag == '"v2"'


def test_last_modified_alone_gives_304(http_server: LoopbackServer) -> None:
    stamp = "Wed, 01 Oct 2025 08:00:00 GMT"
    http_server.add("/feed", "<rss/>", last_modified=stamp)

    assert fetch(http_server.url("/feed"), last_modified=stamp).not_modified


def test_honest_user_agent_on_every_request(http_server: LoopbackServer) -> None:
    http_server.add("/page", "ok")

    fetch(http_server.url("/page"), headers={"User-Agent": "Mozilla/5.0", "X-Extra": "1"})

    sent = http_server.requests[-1].headers
    assert sent["user-agent"] == UA
    assert sent["x-extra"] == "1"


def test_accented_user_agent_is_sent_in_ascii(http_server: LoopbackServer) -> None:
    http_server.add("/page", "ok")
    policy = FetchPolicy(user_agent="veille/0.1 (Occitanie Coopération; +mailto:a@b.org)")

    fetch(http_server.url("/page"), policy, headers={"X-Note": "clé"})

    sent = http_server.requests[-1].headers
    assert sent["user-agent"] == "veille/0.1 (Occitanie Cooperation; +mailto:a@b.org)"
    assert sent["x-note"] == "cle"


def test_gzip_and_raw_deflate_bodies_are_decoded(http_server: LoopbackServer) -> None:
    page = "<p>Appel à projets</p>".encode() * 100
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    http_server.add("/gz", gzip.compress(page), headers={"Content-Encoding": "gzip"})
    http_server.add(
        "/deflate",
        raw_deflate.compress(page) + raw_deflate.flush(),
        headers={"Content-Encoding": "deflate"},
    )
    http_server.add("/zlib", zlib.compress(page), headers={"Content-Encoding": "deflate"})

    for path in ("/gz", "/deflate", "/zlib"):
        assert fetch(http_server.url(path)).content == page, path


def test_post_json_sends_json_and_reads_the_answer(http_server: LoopbackServer) -> None:
    http_server.add("/v2/jobs", '{"count": 1}', content_type="application/json")

    async def go() -> FetchResult:
        async with Fetcher(make_policy()) as fetcher:
            return await fetcher.post_json(
                http_server.url("/v2/jobs?appname=x"),
                {"preset": "latest", "limit": 2},
                headers={"X-Auth-Token": "k"},
            )

    result = run(go())

    assert json.loads(result.content) == {"count": 1}
    request = http_server.requests[-1]
    assert request.method == "POST" and request.path == "/v2/jobs?appname=x"
    assert json.loads(request.body) == {"preset": "latest", "limit": 2}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-auth-token"] == "k"
    assert request.headers["user-agent"] == UA


# --- failures --------------------------------------------------------------------------


def test_total_timeout_on_a_slow_page(http_server: LoopbackServer) -> None:
    http_server.add_slow("/slow", 5)

    error = fetch_error(http_server.url("/slow"), make_policy(total_timeout=0.3, retries=0))

    assert error.kind == "timeout"
    assert str(error) == "Le site n'a pas répondu à temps (délai de 0,3 s dépassé)."


def test_read_timeout_is_retried_then_reported(http_server: LoopbackServer) -> None:
    http_server.add_slow("/slow", 5)

    error = fetch_error(http_server.url("/slow"), make_policy(read_timeout=0.2, retries=1))

    assert error.kind == "timeout"
    assert "0,2 s" in str(error)
    assert http_server.count("/slow") == 2


def test_404_is_an_http_error_without_retry(http_server: LoopbackServer) -> None:
    error = fetch_error(http_server.url("/missing"))

    assert (error.kind, error.status) == ("http", 404)
    assert str(error) == "Le site a répondu 404 (page introuvable)."
    assert http_server.count("/missing") == 1


def test_500_then_success_is_retried(http_server: LoopbackServer) -> None:
    http_server.add_flaky("/flaky", failures=2, then_body="enfin")

    result = fetch(http_server.url("/flaky"), make_policy(retries=2))

    assert result.content == b"enfin"
    assert http_server.count("/flaky") == 3


def test_500_always_fails_after_all_attempts(http_server: LoopbackServer) -> None:
    http_server.add_status("/broken", 500)

    error = fetch_error(http_server.url("/broken"), make_policy(retries=2))

    assert (error.kind, error.status) == ("http", 500)
    assert str(error) == "Le site a répondu 500 (erreur interne du site)."
    assert http_server.count("/broken") == 3


def test_429_with_short_retry_after_is_waited_for(http_server: LoopbackServer) -> None:
    http_server.add_rate_limited("/api", retry_after="1", then_body="ok")

    assert fetch(http_server.url("/api"), make_policy(retries=1)).content == b"ok"
    assert http_server.count("/api") == 2


async def _get_within(url: str, policy: FetchPolicy, seconds: float) -> FetchResult:
    # A guard, not a timing assertion: a wrongly honoured Retry-After would hang for an hour.
    async with asyncio.timeout(seconds), Fetcher(policy) as fetcher:
        return await fetcher.get(url)


def test_429_with_long_retry_after_is_reported_not_waited(
    http_server: LoopbackServer,
) -> None:
    http_server.add_rate_limited("/api", retry_after="3600")

    with pytest.raises(FetchError) as caught:
        run(_get_within(http_server.url("/api"), make_policy(retries=2), 10))

    error = caught.value
    assert (error.kind, error.status, error.retry_after) == ("rate_limited", 429, 3600)
    assert str(error) == "Le site demande de patienter (429), nouvel essai dans 3600 s."
    assert http_server.count("/api") == 1


def test_retry_after_as_http_date_on_503(http_server: LoopbackServer) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    http_server.add_status("/down", 503, headers={"Retry-After": later})

    with pytest.raises(FetchError) as caught:
        run(_get_within(http_server.url("/down"), make_policy(retries=2), 10))

    error = caught.value
    assert (error.kind, error.status) == ("rate_limited", 503)
    assert error.retry_after is not None and 7000 < error.retry_after <= 7200
    assert http_server.count("/down") == 1


def test_connection_refused_is_a_network_error() -> None:
    port = free_port()  # nobody listens there
    error = fetch_error(f"http://127.0.0.1:{port}/", make_policy(retries=1))

    assert error.kind == "network" and error.status is None
    assert str(error) == "Impossible de joindre le site (connexion refusée)."


def test_invalid_url_is_a_fetch_error_not_a_crash() -> None:
    for url in ("ftp://example.org/file", "pas une adresse", "http://"):
        assert fetch_error(url).kind == "network", url


# --- redirects -------------------------------------------------------------------------


def test_redirects_are_followed_to_the_final_url(http_server: LoopbackServer) -> None:
    http_server.add_redirect("/old", "/middle", status=301)
    http_server.add_redirect("/middle", http_server.url("/new"), status=308)
    http_server.add("/new", "arrivé")

    result = fetch(http_server.url("/old"))

    assert result.url == http_server.url("/new")
    assert result.content == "arrivé".encode()


def test_secrets_do_not_follow_a_redirect_to_another_host(
    http_server: LoopbackServer, second_host: LoopbackServer
) -> None:
    http_server.add_redirect("/api", second_host.url("/elsewhere"))
    http_server.add_redirect("/same", "/final")
    http_server.add("/final", "ok")
    second_host.add("/elsewhere", "ok")
    secret = {"X-Api-Key": "s3cret", "Authorization": "Bearer t"}

    fetch(http_server.url("/api"), headers=secret)
    fetch(http_server.url("/same"), headers=secret)

    elsewhere = second_host.requests[-1].headers
    assert "x-api-key" not in elsewhere and "authorization" not in elsewhere
    assert elsewhere["user-agent"] == UA
    assert http_server.requests[-1].headers["x-api-key"] == "s3cret"


def test_post_redirected_by_303_becomes_a_get(http_server: LoopbackServer) -> None:
    http_server.add_redirect("/login", "/token", status=303)
    http_server.add("/token", "{}", content_type="application/json")

    async def go() -> FetchResult:
        async with Fetcher(make_policy()) as fetcher:
            return await fetcher.post_json(http_server.url("/login"), {"k": 1})

    assert run(go()).url == http_server.url("/token")
    assert http_server.requests[-1].method == "GET"
    assert http_server.requests[-1].body == b""


def test_redirect_loop_is_detected(http_server: LoopbackServer) -> None:
    http_server.add_redirect_loop("/loop")

    error = fetch_error(http_server.url("/loop"))

    assert error.kind == "redirects"
    assert http_server.count("/loop") == 2


def test_too_many_redirects(http_server: LoopbackServer) -> None:
    for hop in range(4):
        http_server.add_redirect(f"/r{hop}", f"/r{hop + 1}")
    http_server.add("/r4", "fin")

    error = fetch_error(http_server.url("/r0"), make_policy(max_redirects=3))

    assert error.kind == "redirects"
    assert str(error) == "Trop de redirections."
    assert fetch(http_server.url("/r0"), make_policy(max_redirects=4)).content == b"fin"


# --- body caps -------------------------------------------------------------------------


def test_endless_body_is_cut_at_max_bytes(http_server: LoopbackServer) -> None:
    http_server.add_endless("/endless")

    error = fetch_error(http_server.url("/endless"), make_policy(max_bytes=1024 * 1024))

    assert error.kind == "too_large"
    assert str(error) == "Réponse trop volumineuse (plus de 1 Mo)."


def test_declared_length_over_the_cap_is_refused(http_server: LoopbackServer) -> None:
    http_server.add("/big", b"x" * 5000)

    error = fetch_error(http_server.url("/big"), make_policy(max_bytes=4096))

    assert error.kind == "too_large"
    assert str(error) == "Réponse trop volumineuse (plus de 4 Ko)."


def test_gzip_bomb_is_stopped_without_inflating_it(http_server: LoopbackServer) -> None:
    http_server.add_gzip_bomb("/bomb", decompressed_size=200 * 1024 * 1024)
    policy = make_policy(max_bytes=1024 * 1024)

    tracemalloc.start()
    try:
        error = fetch_error(http_server.url("/bomb"), policy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert error.kind == "too_large"
    assert peak < 20 * 1024 * 1024  # 200 MB decoded, at most ~1 MB of it ever held


def test_bomb_under_the_cap_is_read_whole(http_server: LoopbackServer) -> None:
    http_server.add_gzip_bomb("/zeros", decompressed_size=3 * 1024 * 1024)

    result = fetch(http_server.url("/zeros"), make_policy(max_bytes=3 * 1024 * 1024))

    assert result.content == bytes(3 * 1024 * 1024)


# --- robots.txt ------------------------------------------------------------------------


def test_robots_txt_is_obeyed_only_when_asked(http_server: LoopbackServer) -> None:
    http_server.add("/robots.txt", "User-agent: *\nDisallow: /private\n", content_type="text/plain")
    http_server.add("/private/page", "secret")
    http_server.add("/public", "ok")

    async def go() -> tuple[FetchError, FetchResult, FetchResult]:
        async with Fetcher(make_policy()) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.get(http_server.url("/private/page"), respect_robots=True)
            public = await fetcher.get(http_server.url("/public"), respect_robots=True)
            forced = await fetcher.get(http_server.url("/private/page"))
            return caught.value, public, forced

    refused, public, forced = run(go())

    assert refused.kind == "robots"
    assert str(refused) == "Le fichier robots.txt du site interdit cette page."
    assert public.content == b"ok"
    assert forced.content == b"secret"
    assert http_server.count("/robots.txt") == 1  # cached for the fetcher's lifetime
    robots_request = next(r for r in http_server.requests if r.path == "/robots.txt")
    assert robots_request.headers["user-agent"] == UA


def test_robots_rules_for_our_agent(http_server: LoopbackServer) -> None:
    http_server.add(
        "/robots.txt",
        "User-agent: veille-test\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
        content_type="text/plain",
    )
    http_server.add("/page", "ok")

    assert fetch_error(http_server.url("/page"), respect_robots=True).kind == "robots"


@pytest.mark.parametrize("status", [404, 500, 403])
def test_unusable_robots_txt_allows_everything(http_server: LoopbackServer, status: int) -> None:
    http_server.add_status("/robots.txt", status)
    http_server.add("/page", "ok")

    result = fetch(http_server.url("/page"), make_policy(retries=0), respect_robots=True)

    assert result.content == b"ok"


def test_unreachable_robots_txt_does_not_block(http_server: LoopbackServer) -> None:
    http_server.add_slow("/robots.txt", 5)
    http_server.add("/page", "ok")

    result = fetch(
        http_server.url("/page"), make_policy(total_timeout=0.3, retries=0), respect_robots=True
    )

    assert result.content == b"ok"


# --- concurrency -----------------------------------------------------------------------


class InFlight:
    """Server-side count of requests being handled at once, shared by several servers."""

    def __init__(self, seconds: float = 0.3) -> None:
        self.seconds = seconds
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def route(self, server: LoopbackServer) -> Callable[[BaseHTTPRequestHandler], None]:
        def handle(req: BaseHTTPRequestHandler) -> None:
            with self._lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            server.sleep(self.seconds)
            with self._lock:  # before answering, so the next request cannot look overlapping
                self.now -= 1
            respond(req, "ok")

        return handle


async def _get_all(policy: FetchPolicy, urls: list[str]) -> list[FetchResult]:
    async with Fetcher(policy) as fetcher:
        return await asyncio.gather(*(fetcher.get(url) for url in urls))


def test_per_host_limit(http_server: LoopbackServer) -> None:
    in_flight = InFlight()
    http_server.add_handler("/slow", in_flight.route(http_server))

    run(_get_all(make_policy(per_host=1), [http_server.url("/slow")] * 3))

    assert in_flight.peak == 1
    assert http_server.count("/slow") == 3


def test_server_does_overlap_when_the_limit_allows(http_server: LoopbackServer) -> None:
    # The control for the test above: the loopback server itself serves in parallel.
    in_flight = InFlight()
    http_server.add_handler("/slow", in_flight.route(http_server))

    run(_get_all(make_policy(per_host=3), [http_server.url("/slow")] * 3))

    assert in_flight.peak >= 2


def test_different_hosts_are_fetched_in_parallel(
    http_server: LoopbackServer, second_host: LoopbackServer
) -> None:
    in_flight = InFlight()
    http_server.add_handler("/slow", in_flight.route(http_server))
    second_host.add_handler("/slow", in_flight.route(second_host))
    urls = [http_server.url("/slow"), second_host.url("/slow")] * 2

    run(_get_all(make_policy(per_host=1), urls))

    assert in_flight.peak == 2


def test_global_limit(http_server: LoopbackServer, second_host: LoopbackServer) -> None:
    in_flight = InFlight()
    http_server.add_handler("/slow", in_flight.route(http_server))
    second_host.add_handler("/slow", in_flight.route(second_host))
    urls = [http_server.url("/slow"), second_host.url("/slow")] * 2

    run(_get_all(make_policy(per_host=2, concurrency=1), urls))

    assert in_flight.peak == 1


# --- the loopback server itself --------------------------------------------------------


def test_loopback_routes_match_query_first(http_server: LoopbackServer) -> None:
    http_server.add("/list", "any page")
    http_server.add("/list?page=2", "page 2")

    assert fetch(http_server.url("/list?page=2")).content == b"page 2"
    assert fetch(http_server.url("/list?page=3")).content == b"any page"
    assert http_server.count("/list") == 2
    assert http_server.count("/list?page=2") == 1
    assert http_server.errors == []
