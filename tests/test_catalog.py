"""The packaged catalogue of real sources, read from synthetic copies of their pages.

Every source of `veille/sources/catalog/sources.toml` is collected with its own rules from a
fixture served on a loopback server under the real URL's path and query (only scheme and
host change), through the real fetcher: listings, next pages, detail pages, API logins.
The fixtures follow the structures of SOURCES.md; they are synthetic, so these tests prove
that the rules read those structures, not that the live sites still have them (that is
`veille sources check SLUG`).
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.loopback import LoopbackServer, respond
from veille.config import DEFAULT_SOURCES
from veille.sources.collect import NeedsConfiguration, harvest_one
from veille.sources.fetch import Fetcher, FetchPolicy
from veille.sources.items import CollectedItem, Harvest, SourceTask
from veille.sources.spec import SourceSpec, load_sources

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"
CATALOGUE = load_sources(DEFAULT_SOURCES)
SPECS = {spec.slug: spec for spec in CATALOGUE}
TODAY = date(2026, 12, 1)  # the fixtures were "recorded" at the end of November 2026
PARIS = ZoneInfo("Europe/Paris")
TEST_KEY = "cle-de-test-0123456789"  # what the loopback APIs accept; never a real key
CONTENT_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json; charset=utf-8",
}

Check = Callable[[list[CollectedItem], LoopbackServer], None]


@dataclass(frozen=True)
class Case:
    """What one source's fixture must yield."""

    min_items: int
    check: Check
    # Other pages of the source (next pages, detail pages): path[?query] -> fixture file.
    pages: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {}


def case(
    slug: str, min_items: int, pages: dict[str, str] | None = None
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        CASES[slug] = Case(min_items, check, pages or {})
        return check

    return register


# --- helpers -------------------------------------------------------------------------------


def main_fixture(slug: str) -> Path:
    found = sorted(p for p in FIXTURES.glob(f"{slug}.*") if p.suffix in CONTENT_TYPES)
    assert len(found) == 1, f"{slug}: expected one fixture {slug}.xml|html|json, found {found}"
    return found[0]


def fixture_slug(path: Path) -> str:
    return path.stem.split("--", 1)[0]


def by_title(items: list[CollectedItem], words: str) -> CollectedItem:
    found = [i for i in items if words.lower() in i.title.lower()]
    assert len(found) == 1, (
        f"one item titled like « {words} » expected, got {[i.title for i in items]}"
    )
    return found[0]


def paris(year: int, month: int, day: int, hour: int = 23, minute: int = 59) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def query_pairs(query: str) -> set[tuple[str, str]]:
    return set(parse_qsl(query, keep_blank_values=True))


Guard = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, bytes] | None]


def serve(server: LoopbackServer, routes: dict[str, Path], guard: Guard | None = None) -> None:
    """Each path answers the fixture whose query is the largest subset of the request's
    query (an API adds its own paging parameters; a listing's page=1 must pick page 1)."""
    by_path: dict[str, list[tuple[set[tuple[str, str]], Path]]] = {}
    for target, path in routes.items():
        parts = urlsplit(target)
        by_path.setdefault(parts.path, []).append((query_pairs(parts.query), path))

    def handler(entries: list[tuple[set[tuple[str, str]], Path]]) -> Callable[..., None]:
        def handle(req: BaseHTTPRequestHandler) -> None:
            body = next(  # the loopback server read the body before routing
                (
                    r.body
                    for r in reversed(server.requests)
                    if r.path == req.path and r.method == req.command
                ),
                b"",
            )
            if guard is not None and (refusal := guard(req, body)) is not None:
                respond(req, refusal[1], status=refusal[0], content_type="application/json")
                return
            asked = query_pairs(urlsplit(req.path).query)
            matching = [(len(q), p) for q, p in entries if q <= asked]
            if not matching:
                respond(req, "no fixture for this query", status=404, content_type="text/plain")
                return
            fixture = max(matching)[1]
            respond(req, fixture.read_bytes(), content_type=CONTENT_TYPES[fixture.suffix])

        return handle

    for url_path, entries in by_path.items():
        server.add_handler(url_path, handler(entries))


def loopback_url(server: LoopbackServer, url: str) -> str:
    parts = urlsplit(url)
    return server.base_url + parts.path + (f"?{parts.query}" if parts.query else "")


def task_for(spec: SourceSpec, url: str) -> SourceTask:
    rules = spec.rules()
    return SourceTask(
        id=1,
        slug=spec.slug,
        name=spec.name,
        kind=spec.kind,
        url=url,
        rules=rules,
        item_kind=rules.get("item_kind"),
    )


def harvest(spec: SourceSpec, url: str) -> Harvest:
    async def run() -> Harvest:
        async with Fetcher(FetchPolicy(user_agent="veille-test")) as fetcher:
            return await harvest_one(task_for(spec, url), fetcher, today=TODAY)

    return asyncio.run(run())


# --- the APIs' own doors: logins and keys ---------------------------------------------------

AT_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"


def api_guard(spec: SourceSpec) -> Guard | None:
    """What the real API checks before answering, as the loopback server's gate."""
    if spec.format == "aides-territoires":

        def at_guard(req: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes] | None:
            if urlsplit(req.path).path == "/api/connexion/":
                if req.command != "POST" or req.headers.get("X-AUTH-TOKEN") != TEST_KEY:
                    return 401, b'{"message": "Invalid credentials."}'
                return 200, json.dumps({"token": AT_TOKEN}).encode()
            if req.headers.get("Authorization") != f"Bearer {AT_TOKEN}":
                return 401, b'{"code": 401, "message": "JWT Token not found"}'
            return None

        return at_guard
    if spec.format == "reliefweb":

        def rw_guard(req: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes] | None:
            appname = dict(parse_qsl(urlsplit(req.path).query)).get("appname")
            if appname != TEST_KEY:
                return 403, b'{"status": 403, "error": {"message": "appname not approved"}}'
            query = json.loads(body or b"{}")
            if req.command != "POST" or query.get("preset") != "latest":
                return 400, b'{"status": 400, "error": {"message": "bad query"}}'
            return None

        return rw_guard
    if spec.format == "api-engagement":

        def ae_guard(req: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes] | None:
            if req.headers.get("x-api-key") != TEST_KEY:
                return 401, b'{"ok": false, "code": "UNAUTHORIZED"}'
            return None

        return ae_guard
    return None


def api_routes(spec: SourceSpec, main: Path) -> dict[str, Path]:
    if spec.format == "aides-territoires":
        return {"/api/connexion/": main}  # the login route; its answer comes from the guard
    return {}


# --- every source --------------------------------------------------------------------------


def collect_fixture(slug: str, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Harvest:
    """Serve the source's fixtures under its real paths and collect it with its own rules."""
    spec = SPECS[slug]
    main = main_fixture(slug)
    routes: dict[str, Path] = {urlsplit(spec.url)._replace(scheme="", netloc="").geturl(): main}
    routes.update(api_routes(spec, main))
    routes.update({target: FIXTURES / name for target, name in CASES[slug].pages.items()})
    serve(server, routes, api_guard(spec))
    if spec.key_env:
        monkeypatch.setenv(spec.key_env, TEST_KEY)
    return harvest(spec, loopback_url(server, spec.url))


@pytest.mark.parametrize("slug", sorted(SPECS))
def test_each_catalogue_source_reads_its_fixture(
    slug: str, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = SPECS[slug]
    expected = CASES[slug]
    result = collect_fixture(slug, http_server, monkeypatch)

    assert result.problem is None, result.problem
    items = result.items
    assert len(items) >= expected.min_items, [i.title for i in items]
    for item in items:
        assert item.title.strip(), item
        assert item.url and re.match(r"^https?://[^/\s]+/", item.url), item
    if spec.item_kind and spec.kind != "rss":  # feeds leave the kind to the pipeline
        assert any(i.kind == spec.item_kind for i in items)
    expected.check(items, http_server)


@pytest.mark.parametrize("slug", sorted(s.slug for s in CATALOGUE if s.key_env))
def test_a_source_without_its_key_needs_configuration(
    slug: str, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = SPECS[slug]
    monkeypatch.delenv(str(spec.key_env), raising=False)
    with pytest.raises(NeedsConfiguration, match=str(spec.key_env)):
        harvest(spec, loopback_url(http_server, spec.url))
    assert http_server.requests == []  # nothing sent without the key


def test_every_catalogue_source_has_a_fixture_and_a_case() -> None:
    assert sorted(CASES) == sorted(SPECS), "each source needs a Case in this file"
    for slug in SPECS:
        main_fixture(slug)
    for path in FIXTURES.iterdir():
        assert fixture_slug(path) in SPECS, f"{path.name} belongs to no catalogue source"
    served = {name for c in CASES.values() for name in c.pages.values()}
    extra = {p.name for p in FIXTURES.iterdir() if "--" in p.name}
    assert extra == served, "every extra page is served by its source's case"


def test_every_fixture_says_it_is_synthetic() -> None:
    for path in FIXTURES.iterdir():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            assert json.loads(text).get("_note", "").startswith("synthetic fixture"), path.name
        else:
            assert re.search(r"<!--[^>]*synthetic fixture", text, re.IGNORECASE), path.name


def test_the_catalogue_holds_no_secret() -> None:
    text = DEFAULT_SOURCES.read_text(encoding="utf-8")
    raw = tomllib.loads(text)["source"]
    secret_words = re.compile(r"(key|token|secret|password|passwd|appname|jwt)", re.IGNORECASE)
    for entry, spec in zip(raw, CATALOGUE, strict=True):
        for name in entry:
            assert name == "key_env" or not secret_words.search(name), (spec.slug, name)
        assert not secret_words.search(json.dumps(spec.params)), (spec.slug, spec.params)
        parts = urlsplit(spec.url)
        assert parts.username is None and parts.password is None, spec.slug
        assert not secret_words.search(parts.query), (spec.slug, spec.url)
        if spec.key_env is not None:
            assert re.fullmatch(r"VEILLE_[A-Z0-9_]+", spec.key_env), spec.slug
            assert spec.key_env in text.split("\n[[source]]", 1)[0], "documented in the header"
    # Keys are long random strings (letters and digits mixed, or UUIDs): none in the file.
    assert not re.search(r"\b(?=\w*\d)(?=\w*[A-Za-z])\w{24,}\b", text)
    assert not re.search(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", text)
    assert not re.search(r"eyJ[A-Za-z0-9_\-]{10,}\.", text)  # a JWT


def test_key_sources_name_their_variable() -> None:
    needs_key = {"aides-territoires", "api-engagement", "reliefweb"}
    for spec in CATALOGUE:
        if spec.format in needs_key:
            assert spec.key_env, f"{spec.slug} must name its key's variable (key_env)"
    envs = {s.key_env for s in CATALOGUE if s.key_env}
    assert envs == {"VEILLE_AT_KEY", "VEILLE_RELIEFWEB_APPNAME", "VEILLE_API_ENGAGEMENT_KEY"}


def test_the_header_says_how_to_verify() -> None:
    header = DEFAULT_SOURCES.read_text(encoding="utf-8").split("\n[[source]]", 1)[0]
    assert "veille sources check SLUG" in header
    assert "2016" in header and "2026" in header


# --- what each source's fixture carries -----------------------------------------------------


@case("meae-actualites", min_items=8)
def _meae_actualites(items: list[CollectedItem], server: LoopbackServer) -> None:
    cncd = by_title(items, "Commission nationale de la coopération décentralisée")
    assert cncd.published_at == datetime(2026, 11, 25, 16, 2, 10, tzinfo=ZoneInfo("UTC"))
    assert all(i.published_at is not None for i in items)
    assert "orientations de l'année 2027" in cncd.summary


@case("meae-afrique", min_items=5)
def _meae_afrique(items: list[CollectedItem], server: LoopbackServer) -> None:
    fund = by_title(items, "fonds conjoint de coopération décentralisée franco-malgache")
    assert fund.deadline == paris(2027, 3, 15)
    assert by_title(items, "Burkina Faso").deadline is None


DAECT = (
    "/fr/politique-etrangere-de-la-france/action-exterieure-des-collectivites-territoriales/"
    "financer-mes-projets-de-cooperation-decentralisee/appels-a-projets-thematiques/"
)


@case(
    "meae-daect-appels",
    min_items=4,
    pages={
        f"{DAECT}{name}/": f"meae-daect-appels--{name}.html"
        for name in ("jeunesse", "cles-en-main", "egalite-femmes-hommes", "sport")
    },
)
def _meae_daect(items: list[CollectedItem], server: LoopbackServer) -> None:
    youth = by_title(items, "Jeunesse XII")  # the detail page's h1 replaced "Jeunesse"
    assert youth.deadline == paris(2027, 3, 15)
    assert youth.url == server.url(f"{DAECT}jeunesse/")
    assert youth.summary.startswith("L'appel à projets Jeunesse XII accompagne")
    assert by_title(items, "Clés en main").deadline == paris(2027, 2, 28)
    sport = by_title(items, "Sport 2026")
    assert sport.deadline == paris(2026, 4, 30) and sport.closed
    assert not youth.closed
    assert all(i.kind == "appel" for i in items)


@case("region-occitanie-aides", min_items=7)
def _region(items: list[CollectedItem], server: LoopbackServer) -> None:
    coop = by_title(items, "Coopération internationale pour le développement 2027")
    assert coop.deadline == paris(2027, 3, 31)  # from the prose "entre le ... et le 31 mars"
    assert coop.kind == "appel" and not coop.closed
    assert coop.extra.get("opens", "").startswith("2026-12-01")
    closed = by_title(items, "Éducation à la citoyenneté mondiale 2026")
    assert closed.closed  # "Clos - " in the title, "Cet appel à projets est clos"
    assert by_title(items, "Eau et assainissement en Méditerranée").deadline == paris(
        2027, 2, 15, 12, 0
    )
    assert by_title(items, "Budget participatif").raw_tags == ["Environnement", "Citoyenneté"]
    assert not by_title(items, "Pass Mobilité").closed
    dataset = "aides-et-appels-a-projets-de-la-region-occitanie"
    assert server.count(f"/api/explore/v2.1/catalog/datasets/{dataset}/records") == 1


AFD_LIST = "/fr/appels-a-projets/liste?status[ongoing]=ongoing&status[soon]=soon"


@case("afd-appels", min_items=9, pages={f"{AFD_LIST}&page=1": "afd-appels--page-1.html"})
def _afd(items: list[CollectedItem], server: LoopbackServer) -> None:
    osc = by_title(items, "Initiatives OSC 2027")
    assert osc.deadline == paris(2027, 1, 24)  # "17 décembre 2026 - 24 janvier 2027"
    assert osc.extra["opens"].startswith("2026-12-17")
    assert osc.url == server.url("/fr/appels-a-projets/initiatives-osc-2027")
    assert not osc.closed and osc.kind == "appel"
    assert not by_title(items, "FISONG 2027").closed  # "Prochainement"
    closed = [i for i in items if i.closed]
    assert {i.title for i in closed} == {
        "Initiatives OSC 2026 – session 2 : projets de terrain",
        "FISONG 2026 « Agroécologie et souveraineté alimentaire »",
    }
    assert by_title(items, "PIMEO").deadline == paris(2027, 1, 29)  # from page 2
    assert server.count("/fr/appels-a-projets/liste") == 2  # page 0, page 1, never twice


@case("aides-territoires", min_items=6)
def _aides_territoires(items: list[CollectedItem], server: LoopbackServer) -> None:
    region = by_title(items, "solidarité internationale des associations d'Occitanie")
    assert region.deadline == paris(2027, 3, 31)
    assert region.funder == "Conseil régional d'Occitanie"
    assert region.url.startswith("https://www.laregion.fr/")  # origin_url first
    assert region.guid == "aides-territoires:184512"
    assert region.kind == "appel"
    water = by_title(items, "dispositif 1 % eau")
    assert water.deadline is None and water.funder == "Agence de l'eau Adour-Garonne"
    # Without an origin URL the item points to its Aides-territoires page.
    ecm = by_title(items, "citoyenneté mondiale")
    assert ecm.url == server.url(
        "/aides/accompagner-les-projets-deducation-a-la-citoyennete-mondiale/"
    )
    login = [r for r in server.requests if r.path == "/api/connexion/"]
    assert len(login) == 1 and login[0].method == "POST"
    [aids] = [r for r in server.requests if r.path.startswith("/api/aids/")]
    assert aids.headers["authorization"] == f"Bearer {AT_TOKEN}"
    assert "organization_type_slugs=association" in aids.path


def reliefweb_query(server: LoopbackServer, endpoint: str) -> dict:
    [request] = [r for r in server.requests if r.path.startswith(endpoint)]
    assert request.method == "POST"
    assert f"appname={TEST_KEY}" in request.path  # from the environment, not the file
    return json.loads(request.body)


@case("reliefweb-emplois", min_items=7)
def _reliefweb_jobs(items: list[CollectedItem], server: LoopbackServer) -> None:
    wash = by_title(items, "Eau, hygiène et assainissement")
    assert wash.deadline == paris(2027, 1, 10)  # date.closing, a bare date: end of day
    assert wash.funder == "Solidarités International"
    assert wash.event_place == "Saint-Louis, Senegal"
    assert wash.url.startswith("https://reliefweb.int/job/4123456/chef-fe-de-projet-eau-")
    assert by_title(items, "Évaluation finale").deadline is None
    assert all(i.kind == "offre" for i in items)
    query = reliefweb_query(server, "/v2/jobs")
    assert query["preset"] == "latest" and query["limit"] == 50
    assert query["filter"]["field"] == "country.iso3" and "sen" in query["filter"]["value"]
    assert "url_alias" in query["fields"]["include"]


@case("reliefweb-formations", min_items=4)
def _reliefweb_training(items: list[CollectedItem], server: LoopbackServer) -> None:
    course = by_title(items, "cycle de projet")
    assert course.deadline == paris(2027, 1, 8)  # date.registration
    assert course.event_start == paris(2027, 1, 25, 0, 0)
    assert course.event_end == paris(2027, 1, 29)
    assert course.funder == "Bioforce"
    assert reliefweb_query(server, "/v2/training")["preset"] == "latest"


@case("api-engagement-missions", min_items=5)
def _api_engagement(items: list[CollectedItem], server: LoopbackServer) -> None:
    civic = by_title(items, "Accompagner des projets de solidarité internationale")
    assert civic.funder == "Occitanie Coopération"
    assert civic.event_place == "Ramonville-Saint-Agne (31)"
    assert civic.event_start is not None and civic.event_start.date() == date(2027, 1, 15)
    assert {"volontariat_service_civique", "humanitaire", "mission-internationale"} <= set(
        civic.raw_tags
    )
    assert by_title(items, "Sénégal").event_place == "Ziguinchor (SN)"
    assert by_title(items, "Traduire").event_place == "À distance"
    assert all(i.kind == "offre" for i in items)
    [request] = [r for r in server.requests if r.path.startswith("/v0/mission")]
    assert "domain=humanitaire" in request.path and "skip=0" in request.path


@case("coordination-sud-emplois", min_items=6)
def _csud_jobs(items: list[CollectedItem], server: LoopbackServer) -> None:
    advocacy = by_title(items, "plaidoyer financement du développement")
    assert advocacy.deadline == paris(2027, 1, 15)
    assert advocacy.published_at == datetime(2026, 11, 25, 14, 32, 10, tzinfo=ZoneInfo("UTC"))
    assert advocacy.url == (
        "https://www.coordinationsud.org/offre/charge-e-de-plaidoyer-financement-du-developpement-h-f/"
    )
    assert by_title(items, "Haïti").deadline is None  # "dès que possible"


@case("coordination-sud-appels", min_items=8)
def _csud_calls(items: list[CollectedItem], server: LoopbackServer) -> None:
    health = by_title(items, "Solidarité internationale et santé")
    assert health.deadline == paris(2027, 1, 15)  # "Clôture le 15/01/2027"
    assert health.funder == "Fondation de France"  # header > span.author
    assert health.event_place == "Sénégal, Mali, Burkina Faso"  # "Pays : ..."
    assert health.url.startswith("https://www.coordinationsud.org/appel-doffre/")
    assert by_title(items, "agroécologie").deadline == paris(2028, 2, 29)  # a leap day
    assert by_title(items, "Eau et climat au Sahel").kind == "appel"


@case("microprojets-guilde", min_items=6)
def _guilde(items: list[CollectedItem], server: LoopbackServer) -> None:
    spring = by_title(items, "Printemps 2027")
    assert spring.deadline == paris(2027, 3, 31)  # "se clôture le 31 mars 2027 à 23h59"
    assert spring.published_at == paris(2026, 11, 26, 10, 0)
    assert spring.kind == "appel"
    assert spring.raw_tags == ["Microprojets", "Appels à projets"]
    assert by_title(items, "Webinaire").kind == "evenement"
    assert by_title(items, "87 microprojets").deadline is None


@case("agence-eau-adour-garonne", min_items=5)
def _adour_garonne(items: list[CollectedItem], server: LoopbackServer) -> None:
    climate = by_title(items, "Eau et climat")
    assert climate.deadline == paris(2027, 3, 31)
    assert climate.url == server.url(
        "/sites/default/files/2026-11/aap-eau-climat-2027-reglement.pdf"
    )
    sahel = by_title(items, "Sahel")
    assert sahel.deadline == paris(2027, 5, 15)
    assert sahel.url == server.url(
        "/aides-financieres/appel-projets-solidarite-internationale-sahel-2027"
    )
    assert by_title(items, "1 % eau").deadline is None
    biodiversity = by_title(items, "Biodiversité")
    assert biodiversity.closed and biodiversity.deadline == paris(2026, 6, 30)
    assert not climate.closed


RMC = {
    "pro_104512/fr/appel-a-projets-eau-et-climat-2027": "rmc1",
    "pro_104498/fr/solidarite-internationale-eau-et-assainissement-2027": "rmc2",
    "pro_104455/fr/appel-a-projets-reduction-des-pollutions-par-les-pesticides": "rmc3",
    "pro_103981/fr/appel-a-projets-biodiversite-2026": "rmc4",
}


@case(
    "agence-eau-rmc",
    min_items=4,
    pages={f"/jcms/{path}": f"agence-eau-rmc--{name}.html" for path, name in RMC.items()},
)
def _rmc(items: list[CollectedItem], server: LoopbackServer) -> None:
    solidarity = by_title(items, "Solidarité internationale")
    assert solidarity.deadline == paris(2027, 5, 31)  # read on the detail page
    # Relative links resolve against the page's <base href>, as on the live JCMS pages.
    assert solidarity.url == server.url(
        "/jcms/pro_104498/fr/solidarite-internationale-eau-et-assainissement-2027"
    )
    assert solidarity.summary.startswith("Au titre du 1 % solidaire")  # meta description
    assert by_title(items, "Eau et climat 2027").deadline == paris(2027, 4, 15)
    closed = by_title(items, "Biodiversité 2026")
    assert closed.closed and closed.deadline == paris(2026, 9, 15)
    assert all(server.count(f"/jcms/{path}") == 1 for path in RMC)


@case("fondation-pierre-fabre", min_items=5)
def _pierre_fabre(items: list[CollectedItem], server: LoopbackServer) -> None:
    call = by_title(items, "Santé et développement » 2027")
    assert call.deadline == paris(2027, 3, 15)
    assert call.published_at == paris(2026, 11, 24, 0, 0)
    assert call.url == server.url(
        "/fr/suivre-notre-action/appel-a-projets-sante-et-developpement-occitanie-2027/"
    )
    assert call.kind == "appel"
    assert by_title(items, "dermatologie").deadline == paris(2027, 1, 10)
    assert by_title(items, "lauréats 2026").deadline is None


@case("pseau-actualites", min_items=5)
def _pseau(items: list[CollectedItem], server: LoopbackServer) -> None:
    veolia = by_title(items, "Fondation Veolia")
    assert veolia.deadline == paris(2027, 3, 15)
    assert veolia.url.startswith("https://www.pseau.org/appel-projet/fondation-veolia-eau-")
    assert by_title(items, "Solidarité Eau Méditerranée 2026").closed
    assert not veolia.closed


@case("cites-unies-france", min_items=4)
def _cuf(items: list[CollectedItem], server: LoopbackServer) -> None:
    youth = by_title(items, "Jeunesse XII")
    assert youth.deadline == paris(2027, 3, 15)  # "ouvert du 17 novembre 2026 au 15 mars 2027"
    assert youth.published_at is not None and youth.published_at.date() == date(2026, 11, 19)


@case("france-volontaires", min_items=6)
def _france_volontaires(items: list[CollectedItem], server: LoopbackServer) -> None:
    job = by_title(items, "Volontariat et collectivités territoriales")
    assert job.kind == "offre"  # "Offre d'emploi : ..." published as a news post
    assert job.deadline == paris(2027, 1, 3)
    assert job.published_at == paris(2026, 11, 27, 10, 30)
    assert by_title(items, "Offre de stage").kind == "offre"
    assert by_title(items, "Rapport annuel 2025").deadline is None


@case("fonjep-jsi-vvvsi", min_items=5)
def _fonjep(items: list[CollectedItem], server: LoopbackServer) -> None:
    session = by_title(items, "session T2-2027")
    assert session.deadline == paris(2027, 1, 15)
    assert session.published_at == paris(2026, 11, 25, 0, 0)  # "25/11/2026"
    assert session.url == server.url("/actualites/jsi-vvvsi-session-t2-2027-ouverture-des-depots")
    assert by_title(items, "Postes Fonjep").deadline == paris(2027, 1, 31)
    assert by_title(items, "les dépôts sont clos").closed
    assert by_title(items, "résultats du comité").deadline is None


def detail_pages(slug: str, kind: str, pages: dict[str, str]) -> dict[str, str]:
    return {f"/{kind}/{path}/": f"{slug}--{name}.html" for path, name in pages.items()}


@case(
    "oc-cooperation-appels",
    min_items=3,
    pages=detail_pages(
        "oc-cooperation-appels",
        "appel-projet",
        {
            "appel-a-projets-jeunesse-xii": "jeunesse-xii",
            "appel-a-projets-cooperation-internationale-region-occitanie-2027": "region-2027",
            "appel-a-projets-sante-et-developpement-2026": "sante-2026",
        },
    ),
)
def _oc_calls(items: list[CollectedItem], server: LoopbackServer) -> None:
    youth = by_title(items, "Jeunesse XII")
    assert youth.deadline == paris(2027, 3, 15)  # "Date de clôture : 15 mars 2027"
    assert youth.funder == (
        "Ministère de l'Europe et des Affaires étrangères - "
        "Délégation pour l'action extérieure des collectivités territoriales"
    )
    assert youth.published_at == paris(2026, 11, 20, 0, 0)  # "Publié le 20/11/2026"
    assert youth.url == server.url("/appel-projet/appel-a-projets-jeunesse-xii/")
    assert not youth.closed and youth.kind == "appel"
    region = by_title(items, "Région Occitanie")
    assert region.funder == "Région Occitanie" and region.deadline == paris(2027, 3, 31)
    health = by_title(items, "Santé et développement 2026")
    assert health.closed and health.deadline == paris(2026, 4, 30)  # "... Clôturé"
    assert health.funder == "Fondation Pierre Fabre"


@case(
    "oc-cooperation-actualites",
    min_items=3,
    pages=detail_pages(
        "oc-cooperation-actualites",
        "actualite",
        {
            "retour-sur-l-agora-2026": "agora",
            "nouveaux-adherents-novembre-2026": "adherents",
            "observatoire-regional-2026-chiffres-cles": "observatoire",
        },
    ),
)
def _oc_news(items: list[CollectedItem], server: LoopbackServer) -> None:
    agora = by_title(items, "Agora 2026")
    assert agora.published_at == paris(2026, 11, 24, 0, 0)
    assert agora.raw_tags == ["Vie du réseau"]
    assert by_title(items, "Observatoire régional").published_at == paris(2026, 9, 8, 0, 0)
    assert by_title(items, "nouveaux adhérents").kind == "actualite"


@case(
    "oc-cooperation-emplois",
    min_items=3,
    pages=detail_pages(
        "oc-cooperation-emplois",
        "emploi",
        {
            "charge-e-de-projets-eau-et-assainissement-cdd": "eau",
            "service-civique-animation-ecm-toulouse": "service-civique",
            "vsi-coordinateur-rice-projet-agricole-madagascar": "vsi",
        },
    ),
)
def _oc_jobs(items: list[CollectedItem], server: LoopbackServer) -> None:
    water = by_title(items, "eau et assainissement")
    assert water.deadline == paris(2027, 1, 8)  # "Date limite de candidature : 8 janvier 2027"
    assert water.event_place == "Montpellier (34)"
    assert water.published_at == paris(2026, 11, 26, 0, 0)
    assert by_title(items, "VSI").event_place == "Fianarantsoa (Madagascar)"
    assert all(i.kind == "offre" for i in items)


@case(
    "oc-cooperation-evenements",
    min_items=3,
    pages=detail_pages(
        "oc-cooperation-evenements",
        "evenement",
        {
            "rdv-des-collectivites-2027": "rdv-collectivites",
            "aper-oc-montpellier-decembre-2026": "aperoc",
            "formation-monter-son-projet-de-solidarite-internationale": "formation",
        },
    ),
)
def _oc_events(items: list[CollectedItem], server: LoopbackServer) -> None:
    rdv = by_title(items, "Rendez-vous des collectivités 2027")
    # "Date : Jeudi 21 janvier 2027 de 9h30 à 12h30"
    assert rdv.event_start == paris(2027, 1, 21, 9, 30)
    assert rdv.event_end == paris(2027, 1, 21, 12, 30)
    assert rdv.event_place == "Hôtel de Région, 22 boulevard du Maréchal Juin, Toulouse"
    assert rdv.extra["organisateur"] == "Occitanie Coopération"
    assert rdv.kind == "evenement"
    aperoc = by_title(items, "Apér'OC")
    assert aperoc.event_start == paris(2026, 12, 8, 18, 0)
    assert aperoc.event_end == paris(2026, 12, 8, 20, 0)
    training = by_title(items, "monter son projet")
    assert training.event_start == paris(2027, 2, 4, 0, 0)
    assert training.event_end == paris(2027, 2, 5)  # a range without hours ends at 23:59


@case(
    "territoires-solidaires-appels",
    min_items=2,
    pages=detail_pages(
        "territoires-solidaires-appels",
        "appel-projet",
        {
            "appel-a-projets-jeunesse-x": "jeunesse-x",
            "appel-a-projets-franco-palestinien-2027": "franco-palestinien",
        },
    ),
)
def _territoires_solidaires(items: list[CollectedItem], server: LoopbackServer) -> None:
    # The same rules as oc-cooperation-appels read the sister network's pages.
    assert SPECS["territoires-solidaires-appels"].select == {
        **(SPECS["oc-cooperation-appels"].select or {})
    }
    old = by_title(items, "Jeunesse X")
    assert old.closed and old.deadline == paris(2024, 3, 26)  # the public copy's own text
    palestine = by_title(items, "franco-palestinien")
    assert palestine.deadline == paris(2027, 6, 15) and not palestine.closed
    assert palestine.funder == "Ministère de l'Europe et des Affaires Étrangères"


def test_themes_printed_as_adjacent_links_are_separate_tags(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = collect_fixture("territoires-solidaires-appels", http_server, monkeypatch).items
    assert by_title(items, "Jeunesse X").raw_tags == ["Collectivités territoriales", "Jeunesse"]
