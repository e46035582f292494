"""The JSON API sources against a real loopback server that checks their credentials."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.loopback import LoopbackServer, RequestRecord, respond
from veille.sources import api
from veille.sources.collect import NeedsConfiguration
from veille.sources.fetch import Fetcher, FetchPolicy
from veille.sources.items import CollectedItem, Harvest, SourceTask
from veille.sources.spec import API_FORMATS

FIXTURES = Path(__file__).parent / "fixtures" / "api"
PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2025, 1, 20)
AT_KEY = "at-secret-key-0123456789"
JWT = "eyJhbGciOiJIUzI1NiJ9.c3ludGhldGlj.c2lnbmF0dXJl"
AE_KEY = "ae-secret-key-9876543210"
APPNAME = "occitanie-cooperation-veille"
AT_SITE = "https://aides-territoires.beta.gouv.fr"


# --- helpers -------------------------------------------------------------------------


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make_task(fmt: str, url: str, **rules: Any) -> SourceTask:
    return SourceTask(
        id=1, slug=f"test-{fmt}", name=fmt, kind="api", url=url, rules={"format": fmt, **rules}
    )


def harvest(task: SourceTask, today: date = TODAY) -> Harvest:
    async def go() -> Harvest:
        async with Fetcher(FetchPolicy(user_agent="veille-test")) as fetcher:
            return await api.harvest(task, fetcher, today=today)

    return asyncio.run(go())


def record_of(server: LoopbackServer, req: BaseHTTPRequestHandler) -> RequestRecord:
    """The request being answered, as the server recorded it (with its body)."""
    return next(r for r in reversed(server.requests) if r.path == req.path)


def query(req: BaseHTTPRequestHandler) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(req.path).query).items()}


def send_json(req: BaseHTTPRequestHandler, data: object, status: int = 200) -> None:
    respond(req, json.dumps(data), status=status, content_type="application/json")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def by_guid(items: list[CollectedItem]) -> dict[str | None, CollectedItem]:
    return {i.guid: i for i in items}


# --- Aides-territoires ---------------------------------------------------------------


def serve_aides_territoires(
    server: LoopbackServer, pages: dict[str, Callable[[], dict[str, Any]]]
) -> None:
    """/api/connexion/ wants X-AUTH-TOKEN; /api/aids/ wants the JWT, and serves pages."""

    def login(req: BaseHTTPRequestHandler) -> None:
        if req.command != "POST" or req.headers.get("X-AUTH-TOKEN") != AT_KEY:
            send_json(req, {"message": "Invalid credentials."}, status=401)
        else:
            send_json(req, {"token": JWT})

    def aids(req: BaseHTTPRequestHandler) -> None:
        if req.headers.get("Authorization") != f"Bearer {JWT}":
            send_json(req, {"code": 401, "message": "JWT Token not found"}, status=401)
            return
        page = pages.get(query(req).get("page", "1"))
        if page is None:
            send_json(req, {"detail": "Page introuvable"}, status=404)
            return
        # The fixtures name the real site; a real server names itself in `next`.
        body = json.dumps(page()).replace(AT_SITE, server.base_url)
        respond(req, body, content_type="application/json")

    server.add_handler("/api/connexion/", login)
    server.add_handler("/api/aids/", aids)


def at_task(server: LoopbackServer, **rules: Any) -> SourceTask:
    url = server.url("/api/aids/?organization_type_slugs=association&perimeter_codes=76")
    return make_task("aides-territoires", url, key_env="VEILLE_AT_KEY", **rules)


def test_aides_territoires_logs_in_then_follows_next(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AT_KEY", AT_KEY)
    serve_aides_territoires(
        http_server,
        {
            "1": lambda: fixture("aides-territoires-page1.json"),
            "2": lambda: fixture("aides-territoires-page2.json"),
        },
    )
    result = harvest(at_task(http_server))

    assert http_server.count("/api/connexion/") == 1
    assert http_server.count("/api/aids/") == 2
    assert result.problem is None
    items = by_guid(result.items)
    assert list(items) == [
        "aides-territoires:158742",
        "aides-territoires:160013",
        "aides-territoires:161200",
        "aides-territoires:155001",
    ]
    call = items["aides-territoires:158742"]
    assert call.title == "Appel à projets « Solidarité internationale des territoires » 2025"
    assert call.url is not None and call.url.startswith("https://www.diplomatie.gouv.fr/")
    assert call.funder == "Ministère de l'Europe et des Affaires étrangères"
    assert call.deadline == paris(2025, 3, 31, 23, 59)
    assert call.published_at == paris(2024, 12, 2, 10, 15)
    assert call.kind == "appel"
    assert call.raw_tags == [
        "Solidarité / Coopération internationale",
        "Jeunesse / Engagement citoyen",
    ]
    assert "<" not in call.summary and "coopération décentralisée" in call.summary
    assert "<strong>" in call.body

    aid = items["aides-territoires:160013"]  # no origin_url: the aid's page on the AT site
    assert aid.url == http_server.url("/aides/4f09-soutenir-leducation-a-la-citoyennete-mondiale/")
    assert aid.funder == "Région Occitanie, Agence française de développement"
    assert aid.deadline is None
    assert aid.kind == "appel"  # a grant: inferred, with funding as the default
    assert "script" not in aid.body and "alert" not in aid.summary


def test_aides_territoires_stops_at_max_pages(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AT_KEY", AT_KEY)
    serve_aides_territoires(
        http_server,
        {
            "1": lambda: fixture("aides-territoires-page1.json"),
            "2": lambda: fixture("aides-territoires-page2.json"),
        },
    )
    result = harvest(at_task(http_server, max_pages=1))
    assert http_server.count("/api/aids/") == 1
    assert len(result.items) == 3


def test_aides_territoires_json_ld_variant(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AT_KEY", AT_KEY)
    serve_aides_territoires(http_server, {"1": lambda: fixture("aides-territoires-jsonld.json")})
    result = harvest(at_task(http_server))

    assert http_server.count("/api/aids/") == 1  # hydra:view has no hydra:next
    items = by_guid(result.items)
    assert set(items) == {"aides-territoires:170001", "aides-territoires:170002"}
    first = items["aides-territoires:170001"]
    assert first.deadline == paris(2025, 5, 15, 23, 59)
    assert first.funder == "Agence française de développement"
    assert first.raw_tags == ["Tourisme"]
    assert first.kind == "appel"
    second = items["aides-territoires:170002"]
    assert second.url == http_server.url("/aides/beef-aide-au-volontariat/")
    assert second.deadline is None


def test_aides_territoires_json_ld_next_link_is_relative() -> None:
    data = {
        "hydra:member": [],
        "hydra:view": {"@id": "/api/aids/?page=1", "hydra:next": "/api/aids/?page=2"},
    }
    items, next_url = api.parse_aides_territoires(
        data, base_url=f"{AT_SITE}/api/aids/?page=1", today=TODAY
    )
    assert items == []
    assert next_url == f"{AT_SITE}/api/aids/?page=2"


def test_aides_territoires_without_key_sends_nothing(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VEILLE_AT_KEY", raising=False)
    serve_aides_territoires(http_server, {"1": lambda: fixture("aides-territoires-page1.json")})
    with pytest.raises(NeedsConfiguration) as caught:
        harvest(at_task(http_server))
    assert str(caught.value).startswith("À configurer : ")
    assert "VEILLE_AT_KEY" in str(caught.value)
    assert http_server.requests == []


def test_aides_territoires_refused_key_needs_configuration_and_stays_secret(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AT_KEY", "wrong-key-123")
    serve_aides_territoires(http_server, {"1": lambda: fixture("aides-territoires-page1.json")})
    with pytest.raises(NeedsConfiguration) as caught:
        harvest(at_task(http_server))
    assert "refuse la clé" in str(caught.value)
    assert "wrong-key-123" not in str(caught.value)
    assert http_server.count("/api/aids/") == 0


def test_aides_territoires_next_link_to_another_host_is_not_followed(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AT_KEY", AT_KEY)

    def page_with_foreign_next() -> dict[str, Any]:
        data = fixture("aides-territoires-page1.json")
        data["next"] = "https://elsewhere.example/api/aids/?page=2"  # the JWT must not go there
        return data

    serve_aides_territoires(http_server, {"1": page_with_foreign_next})
    result = harvest(at_task(http_server))
    assert len(result.items) == 3
    assert result.problem is not None and "page suivante" in result.problem


def test_a_failing_later_page_keeps_the_earlier_ones(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AT_KEY", AT_KEY)
    serve_aides_territoires(http_server, {"1": lambda: fixture("aides-territoires-page1.json")})
    result = harvest(at_task(http_server))  # page 2 answers 404
    assert len(result.items) == 3
    assert result.problem is not None and result.problem.startswith("Page 2 non lue")


def test_aides_territoires_wrong_shape_is_a_french_value_error(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AT_KEY", AT_KEY)
    serve_aides_territoires(http_server, {"1": lambda: {"_note": "synthetic", "items": []}})
    with pytest.raises(ValueError) as caught:
        harvest(at_task(http_server))
    assert str(caught.value) == (
        "Réponse inattendue de l'API Aides-territoires : champ « results » absent."
    )


# --- ReliefWeb -----------------------------------------------------------------------


def serve_reliefweb(
    server: LoopbackServer, path: str, answer: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[dict[str, Any]]:
    """POST only, appname required and approved; returns the list of bodies received."""
    bodies: list[dict[str, Any]] = []

    def handle(req: BaseHTTPRequestHandler) -> None:
        appname = query(req).get("appname")
        if req.command != "POST":
            send_json(req, {"status": 405, "error": {"message": "POST expected"}}, status=405)
            return
        if not appname:
            send_json(req, {"status": 400, "error": {"message": "appname missing"}}, status=400)
            return
        if appname != APPNAME:
            send_json(req, {"status": 403, "error": {"message": "not approved"}}, status=403)
            return
        body = json.loads(record_of(server, req).body)
        bodies.append(body)
        send_json(req, answer(body))

    server.add_handler(path, handle)
    return bodies


def rw_task(server: LoopbackServer, path: str, **rules: Any) -> SourceTask:
    rules.setdefault("params", {"appname": APPNAME})
    return make_task("reliefweb", server.url(path), **rules)


def test_reliefweb_jobs(http_server: LoopbackServer) -> None:
    bodies = serve_reliefweb(http_server, "/v2/jobs", lambda body: fixture("reliefweb-jobs.json"))
    query_extra = {"filter": {"field": "country.iso3", "value": ["bfa", "mli", "ner"]}}
    task = rw_task(http_server, "/v2/jobs", params={"appname": APPNAME, "query": query_extra})
    result = harvest(task)

    assert len(bodies) == 1
    body = bodies[0]
    assert body["preset"] == "latest"
    assert body["limit"] == 50 and body["offset"] == 0
    assert body["fields"]["include"] == [
        "title",
        "url_alias",
        "date",
        "source",
        "country",
        "city",
        "type",
    ]
    assert body["filter"] == query_extra["filter"]
    assert http_server.requests[0].path == f"/v2/jobs?appname={APPNAME}"

    items = by_guid(result.items)
    job = items["reliefweb:4120561"]
    assert job.title == "Chargé·e de programme Sahel"
    assert job.url == "https://reliefweb.int/job/4120561/charge-de-programme-sahel"
    assert job.kind == "offre"
    assert job.deadline == paris(2025, 2, 7, 23, 59)
    assert job.funder == "Action contre la Faim France"
    assert job.event_place == "Ouagadougou, Burkina Faso"
    assert "Burkina Faso" in job.raw_tags
    other = items["reliefweb:4120987"]
    assert other.event_place == "Mali, Niger"
    assert other.deadline == paris(2025, 2, 21, 23, 59)


def test_reliefweb_training_deadline_is_registration(http_server: LoopbackServer) -> None:
    serve_reliefweb(http_server, "/v2/training", lambda body: fixture("reliefweb-training.json"))
    result = harvest(rw_task(http_server, "/v2/training"))
    [training] = result.items
    assert training.kind == "offre"
    assert training.deadline == paris(2025, 2, 20, 23, 59)
    assert training.event_start == paris(2025, 3, 10, 0, 0)
    assert training.event_end == paris(2025, 3, 14, 23, 59)
    assert training.funder == "Bioforce"


def test_reliefweb_reports_are_news_without_deadline() -> None:
    data = fixture("reliefweb-jobs.json")
    items, _ = api.parse_reliefweb(
        data, base_url="https://api.reliefweb.int/v2/reports?appname=x", today=TODAY
    )
    assert {i.kind for i in items} == {"actualite"}
    assert all(i.deadline is None for i in items)


def reliefweb_pages(total: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def answer(body: dict[str, Any]) -> dict[str, Any]:
        start, limit = body["offset"], body["limit"]
        ids = range(start, min(start + limit, total))
        data = [
            {"id": str(5000 + i), "fields": {"title": f"Offre n° {i}", "date": {}}} for i in ids
        ]
        return {"_note": "synthetic", "totalCount": total, "count": len(data), "data": data}

    return answer


def test_reliefweb_pages_by_offset_in_the_body(http_server: LoopbackServer) -> None:
    bodies = serve_reliefweb(http_server, "/v2/jobs", reliefweb_pages(120))
    task = rw_task(http_server, "/v2/jobs", params={"appname": APPNAME, "page_size": 50})
    result = harvest(task)
    assert [b["offset"] for b in bodies] == [0, 50, 100]
    assert len(result.items) == 120
    assert all(r.path == f"/v2/jobs?appname={APPNAME}" for r in http_server.requests)


def test_reliefweb_stops_at_max_pages(http_server: LoopbackServer) -> None:
    bodies = serve_reliefweb(http_server, "/v2/jobs", reliefweb_pages(500))
    task = rw_task(http_server, "/v2/jobs", params={"appname": APPNAME}, max_pages=2)
    result = harvest(task)
    assert [b["offset"] for b in bodies] == [0, 50]
    assert len(result.items) == 100


def test_reliefweb_unapproved_appname_needs_configuration(http_server: LoopbackServer) -> None:
    serve_reliefweb(http_server, "/v2/jobs", lambda body: fixture("reliefweb-jobs.json"))
    task = rw_task(http_server, "/v2/jobs", params={"appname": "pas-approuve"})
    with pytest.raises(NeedsConfiguration) as caught:
        harvest(task)
    assert str(caught.value) == (
        "À configurer : ReliefWeb refuse le nom d'application « pas-approuve » "
        "(il doit être approuvé par ReliefWeb)."
    )


def test_reliefweb_400_also_points_at_the_query(http_server: LoopbackServer) -> None:
    http_server.add_handler(
        "/v2/jobs", lambda req: send_json(req, {"status": 400, "error": {}}, status=400)
    )
    with pytest.raises(NeedsConfiguration) as caught:
        harvest(rw_task(http_server, "/v2/jobs"))
    message = str(caught.value)
    assert message.startswith(f"À configurer : ReliefWeb refuse le nom d'application « {APPNAME} »")
    assert "params.query" in message


def test_reliefweb_secret_appname_is_named_by_its_variable(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_reliefweb(http_server, "/v2/jobs", lambda body: fixture("reliefweb-jobs.json"))
    monkeypatch.setenv("VEILLE_RW_APPNAME", "secret-name")
    task = rw_task(http_server, "/v2/jobs", params={}, key_env="VEILLE_RW_APPNAME")
    with pytest.raises(NeedsConfiguration) as caught:
        harvest(task)
    assert "VEILLE_RW_APPNAME" in str(caught.value)
    assert "secret-name" not in str(caught.value)

    monkeypatch.setenv("VEILLE_RW_APPNAME", APPNAME)
    assert len(harvest(task).items) == 2


def test_reliefweb_without_appname_sends_nothing(http_server: LoopbackServer) -> None:
    serve_reliefweb(http_server, "/v2/jobs", lambda body: fixture("reliefweb-jobs.json"))
    with pytest.raises(NeedsConfiguration) as caught:
        harvest(rw_task(http_server, "/v2/jobs", params={}))
    assert str(caught.value).startswith("À configurer : ")
    assert http_server.requests == []


# --- OpenDataSoft (Région Occitanie) -------------------------------------------------

ODS_PATH = (
    "/api/explore/v2.1/catalog/datasets/aides-et-appels-a-projets-de-la-region-occitanie/records"
)


def ods_task(server: LoopbackServer, **rules: Any) -> SourceTask:
    return make_task("opendatasoft", server.url(ODS_PATH + "?limit=100&offset=0"), **rules)


def test_opendatasoft_region_records(http_server: LoopbackServer) -> None:
    http_server.add(
        ODS_PATH,
        json.dumps(fixture("opendatasoft-page.json")),
        content_type="application/json; charset=utf-8",
    )
    result = harvest(ods_task(http_server), today=date(2024, 7, 20))
    assert http_server.count(ODS_PATH) == 1  # total_count reached

    items = by_guid(result.items)
    open_call = items["https://www.laregion.fr/AAP-solidarite-internationale-2024"]
    assert open_call.kind == "appel"
    assert open_call.deadline == paris(2024, 9, 30, 23, 59)  # from the French prose
    assert open_call.closed is False
    assert open_call.published_at == paris(2024, 7, 15, 0, 0)
    assert open_call.raw_tags == ["Europe et international", "Solidarité"]
    assert open_call.url == open_call.guid

    closed = items["https://www.laregion.fr/AAP-jeunesse-mobilite-2024"]
    assert closed.closed is True
    assert closed.raw_tags == ["Jeunesse", "Europe et international"]

    aid = items["https://www.laregion.fr/Aide-micro-projets-solidarite"]
    assert aid.kind == "appel"  # "Aides": inferred from "subvention"
    assert aid.deadline is None and aid.closed is False
    assert aid.raw_tags == []


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Appel à projets Culture – Clôturé", ""),
        ("Appel à projets Culture", "<p>Cet appel à projets est clos.</p>"),
        ("[Clos] Appel à projets Culture", ""),
    ],
)
def test_opendatasoft_closed_calls(title: str, text: str) -> None:
    record = {
        "titre": title,
        "type": "Appels à projets",
        "introduction": text,
        "url": "https://x.fr/a",
    }
    items, _ = api.parse_opendatasoft(
        {"total_count": 1, "results": [record]}, base_url="https://d.fr/records", today=TODAY
    )
    assert items[0].closed is True


def test_opendatasoft_pages_by_offset(http_server: LoopbackServer) -> None:
    offsets: list[int] = []

    def handle(req: BaseHTTPRequestHandler) -> None:
        params = query(req)
        offset, limit = int(params["offset"]), int(params["limit"])
        offsets.append(offset)
        results = [
            {"titre": f"Aide n° {i}", "type": "Aides", "url": f"https://www.laregion.fr/aide-{i}"}
            for i in range(offset, min(offset + limit, 250))
        ]
        send_json(req, {"total_count": 250, "results": results})

    http_server.add_handler(ODS_PATH, handle)
    result = harvest(ods_task(http_server))
    assert offsets == [0, 100, 200]
    assert len(result.items) == 250

    offsets.clear()
    result = harvest(ods_task(http_server, max_pages=2))
    assert offsets == [0, 100]
    assert len(result.items) == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Maintenance</body></html>", "Réponse illisible de l'API OpenDataSoft"),
        (b'{"total_count": 3, "results": ', "Réponse illisible de l'API OpenDataSoft"),
        (b'{"total_count": 3}', "champ « results » absent"),
        (b'{"results": {"titre": "x"}}', "n'est pas une liste"),
        (b"[1, 2, 3]", "objet JSON attendu"),
    ],
)
def test_opendatasoft_malformed_answers(
    http_server: LoopbackServer, body: bytes, message: str
) -> None:
    http_server.add(ODS_PATH, body, content_type="application/json")
    with pytest.raises(ValueError) as caught:
        harvest(ods_task(http_server))
    assert message in str(caught.value)


# --- API Engagement ------------------------------------------------------------------

AE_PATH = "/v0/mission"


def serve_api_engagement(server: LoopbackServer) -> list[tuple[int, int]]:
    """Checks x-api-key; serves the fixture's missions by skip/limit."""
    seen: list[tuple[int, int]] = []
    missions = fixture("api-engagement-missions.json")

    def handle(req: BaseHTTPRequestHandler) -> None:
        if req.headers.get("x-api-key") != AE_KEY:
            send_json(req, {"ok": False, "code": "UNAUTHORIZED"}, status=401)
            return
        params = query(req)
        assert params.get("domain") == "humanitaire"
        skip, limit = int(params["skip"]), int(params["limit"])
        seen.append((skip, limit))
        data = missions["data"][skip : skip + limit]
        send_json(req, {"ok": True, "total": missions["total"], "data": data})

    server.add_handler(AE_PATH, handle)
    return seen


def ae_task(server: LoopbackServer, **rules: Any) -> SourceTask:
    rules.setdefault("key_env", "VEILLE_AE_KEY")
    return make_task("api-engagement", server.url(AE_PATH + "?domain=humanitaire"), **rules)


def test_api_engagement_missions(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AE_KEY", AE_KEY)
    seen = serve_api_engagement(http_server)
    result = harvest(ae_task(http_server))
    assert seen == [(0, 50)]

    items = by_guid(result.items)
    first = items["api-engagement:66f2a1c0e4b0a1b2c3d4e5f6"]
    assert first.kind == "offre"
    assert first.funder == "Association Exemple Solidarité"
    assert first.event_place == "Toulouse (31)"
    assert first.event_start == paris(2025, 9, 1, 0, 0)
    assert first.event_end == paris(2026, 4, 30, 23, 59)
    assert first.deadline is None  # endAt ends the mission, it is not a deadline
    assert first.raw_tags == [
        "volontariat_service_civique",
        "solidarite-insertion",
        "mission-internationale",
        "animation",
    ]
    assert (
        first.url == "https://api.api-engagement.beta.gouv.fr/r/66f2a1c0e4b0a1b2c3d4e5f6/synthetic"
    )
    assert items["api-engagement:66f2a1c0e4b0a1b2c3d4e5f7"].event_place == "À distance"
    assert items["api-engagement:66f2a1c0e4b0a1b2c3d4e5f8"].event_place == "Dakar (SN)"


def test_api_engagement_pages_by_skip(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AE_KEY", AE_KEY)
    seen = serve_api_engagement(http_server)
    result = harvest(ae_task(http_server, params={"page_size": 2}))
    assert seen == [(0, 2), (2, 2)]
    assert len(result.items) == 3

    seen.clear()
    result = harvest(ae_task(http_server, params={"page_size": 1}, max_pages=2))
    assert seen == [(0, 1), (1, 1)]
    assert len(result.items) == 2


def test_api_engagement_hits_key_and_no_total() -> None:
    data = {"ok": True, "hits": [{"id": "a", "title": "Mission"}, {"id": "b", "title": "Autre"}]}
    base = "https://api.api-engagement.beta.gouv.fr/v0/mission?skip=0&limit=2"
    items, next_url = api.parse_api_engagement(data, base_url=base, today=TODAY)
    assert [i.guid for i in items] == ["api-engagement:a", "api-engagement:b"]
    assert next_url == "https://api.api-engagement.beta.gouv.fr/v0/mission?limit=2&skip=2"


def test_api_engagement_without_key_sends_nothing(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AE_KEY", "  ")
    serve_api_engagement(http_server)
    with pytest.raises(NeedsConfiguration) as caught:
        harvest(ae_task(http_server))
    assert str(caught.value) == (
        "À configurer : la clé d'API (variable VEILLE_AE_KEY) n'est pas définie."
    )
    with pytest.raises(NeedsConfiguration):
        harvest(ae_task(http_server, key_env=None))
    assert http_server.requests == []


def test_api_engagement_refused_key(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_AE_KEY", "not-the-key")
    serve_api_engagement(http_server)
    with pytest.raises(NeedsConfiguration) as caught:
        harvest(ae_task(http_server))
    assert "not-the-key" not in str(caught.value)
    assert http_server.count(AE_PATH) == 1


# --- the registry and robustness -----------------------------------------------------


def test_every_format_of_the_sources_file_has_an_adapter() -> None:
    assert set(api.ADAPTERS) == set(API_FORMATS)


def test_unknown_format_is_a_french_value_error() -> None:
    with pytest.raises(ValueError, match="Format d'API inconnu"):
        harvest(make_task("graphql", "http://127.0.0.1:9/x"))


PARSERS = [
    (api.parse_aides_territoires, "https://aides-territoires.beta.gouv.fr/api/aids/?page=1"),
    (api.parse_reliefweb, "https://api.reliefweb.int/v2/training?appname=x&offset=10"),
    (api.parse_opendatasoft, "https://data.laregion.fr/api/records?limit=100&offset=0"),
    (api.parse_api_engagement, "https://api.api-engagement.beta.gouv.fr/v0/mission?skip=0"),
]
FIELD_NAMES = [
    *("results", "next", "hydra:member", "member", "hydra:view", "hydra:next", "data", "hits"),
    *("total", "totalCount", "total_count", "fields", "date", "id", "_id", "name", "title"),
    *("titre", "url", "url_alias", "origin_url", "financers", "categories", "description"),
    *("submission_deadline", "date_submission_deadline", "date_created", "closing"),
    *("registration", "start", "end", "created", "source", "country", "city", "type"),
    *("chapo", "introduction", "thematiques", "date_publication", "addresses", "remote"),
    *("startAt", "endAt", "postedAt", "activities", "organizationName", "departmentCode"),
    *("applicationUrl", "is_call_for_project", "body-html", "domain"),
]
TRICKY_STRINGS = [
    "2025-03-31",
    "2025-03-31T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:00-12:00",
    "entre le 1er août et le 30 septembre 2024",
    "/aides/x/",
    "http://[::1",
    "https://exemple.org/a b",
    "Clôturé",
    "full",
    "<p>x</p><script>y</script>",
]
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(TRICKY_STRINGS)
)
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=6)
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(keys, json_values, max_size=6), which=st.sampled_from(PARSERS))
def test_parsers_raise_nothing_but_value_error(data: dict[str, Any], which: Any) -> None:
    parse, base_url = which
    try:
        items, next_url = parse(data, base_url=base_url, today=TODAY)
    except ValueError:
        return
    assert all(isinstance(i, CollectedItem) and i.title for i in items)
    assert next_url is None or next_url.startswith("https://")


def _titled(row: dict[str, Any], title: str) -> dict[str, Any]:
    return {**row, "name": title, "title": title, "titre": title}


records = st.lists(
    st.builds(_titled, st.dictionaries(keys, json_values, max_size=10), st.text(min_size=1)),
    max_size=3,
)
ENVELOPES = {
    api.parse_aides_territoires: ["results", "hydra:member"],
    api.parse_reliefweb: ["data"],
    api.parse_opendatasoft: ["results"],
    api.parse_api_engagement: ["data", "hits"],
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, which=st.sampled_from(PARSERS), choice=st.integers(0, 1))
def test_parsers_survive_records_of_any_shape(
    rows: list[dict[str, Any]], which: Any, choice: int
) -> None:
    parse, base_url = which
    envelopes = ENVELOPES[parse]
    if parse is api.parse_reliefweb:  # ReliefWeb keeps the record's values under "fields"
        rows = [{"id": n, "fields": row} for n, row in enumerate(rows)]
    data = {envelopes[choice % len(envelopes)]: rows, "total_count": 9, "totalCount": 9}
    items, next_url = parse(data, base_url=base_url, today=TODAY)
    assert len(items) <= len(rows)
    for item in items:
        assert item.title and isinstance(item.summary, str)
        for moment in (item.deadline, item.published_at, item.event_start, item.event_end):
            assert moment is None or moment.tzinfo is not None
    assert next_url is None or next_url.startswith("https://")
