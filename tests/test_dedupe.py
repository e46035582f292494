"""Storing collected items: one item per real-world call, one sighting per source."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Database
from veille.models import Item, Sighting, Source
from veille.sources import similar
from veille.sources.dedupe import split_sighting, store_items
from veille.sources.items import CollectedItem
from veille.triage.decisions import accept, reject

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def source(session: Session, slug: str, name: str | None = None) -> Source:
    row = Source(
        slug=slug,
        name=name or slug.upper(),
        kind="rss",
        url=f"https://{slug}.example/",
        bulletin_slug="bloc-note",
        tags=["financement"],
        rules={},
    )
    session.add(row)
    session.flush()
    return row


def call(title: str, url: str, deadline: tuple[int, int, int] | None = None, **kw) -> CollectedItem:
    when = datetime(*deadline, 22, 59, tzinfo=UTC) if deadline else None
    return CollectedItem(
        title=title, url=url, summary=kw.pop("summary", "Résumé."), deadline=when, **kw
    )


def items(session: Session) -> list[Item]:
    return list(session.scalars(select(Item).order_by(Item.id)))


def test_the_same_feed_twice_adds_nothing(db: Database) -> None:
    with db.session() as session:
        meae = source(session, "meae")
        entries = [
            call("Appel à projets Jeunesse VI", "https://a.example/jeunesse", (2027, 3, 15)),
            call("Séance plénière de la CNCD", "https://a.example/cncd"),
        ]
        first = store_items(session, meae, entries, now=NOW)
        second = store_items(session, meae, entries, now=NOW)
        session.commit()
        assert (first.new, second.new, second.unchanged) == (2, 0, 2)
        assert len(items(session)) == 2
        assert session.scalar(select(func.count()).select_from(Sighting)) == 2


def test_a_call_relayed_with_an_extended_deadline_is_one_item(db: Database) -> None:
    with db.session() as session:
        meae, region = source(session, "meae", "MEAE"), source(session, "region", "Région")
        store_items(
            session,
            meae,
            [
                call(
                    "Appel à projets « Jeunesse VI » pour l'action extérieure des collectivités",
                    "https://meae.example/aap-jeunesse-vi",
                    (2027, 3, 15),
                )
            ],
            now=NOW,
        )
        store_items(
            session,
            region,
            [
                call(
                    "Appel à projets Jeunesse VI de l'action extérieure des collectivités : "
                    "date prolongée",
                    "https://region.example/jeunesse-vi?utm_source=x",
                    (2027, 4, 1),
                )
            ],
            now=NOW,
        )
        session.commit()
        [item] = items(session)
        assert [s.source.slug for s in item.sightings] == ["meae", "region"]
        assert {s.url for s in item.sightings} == {
            "https://meae.example/aap-jeunesse-vi",
            "https://region.example/jeunesse-vi?utm_source=x",
        }
        assert item.deadline == datetime(2027, 4, 1, 22, 59, tzinfo=UTC)  # the latest announced
        assert item.deadline_source.slug == "region"


def test_same_url_with_tracking_parameters_is_the_same_item(db: Database) -> None:
    with db.session() as session:
        a, b = source(session, "a"), source(session, "b")
        store_items(session, a, [call("Un titre", "https://x.example/page?xtor=RSS-1")], now=NOW)
        store_items(
            session, b, [call("Un tout autre titre", "https://X.example/page#top")], now=NOW
        )
        session.commit()
        assert len(items(session)) == 1


def test_different_years_or_unrelated_titles_stay_apart(db: Database) -> None:
    with db.session() as session:
        a, b = source(session, "a"), source(session, "b")
        store_items(
            session,
            a,
            [call("Appel à projets Jeunesse 2025", "https://a.example/1", (2025, 3, 1))],
            now=NOW,
        )
        store_items(
            session,
            b,
            [
                call("Appel à projets Jeunesse 2026", "https://b.example/1", (2026, 3, 1)),
                call("Festival des Solidarités à Toulouse", "https://b.example/2"),
            ],
            now=NOW,
        )
        session.commit()
        assert len(items(session)) == 3


def test_a_rejected_item_never_comes_back(db: Database) -> None:
    with db.session() as session:
        a, b = source(session, "a"), source(session, "b")
        entry = call("Vente de calendriers solidaires", "https://a.example/calendriers")
        store_items(session, a, [entry], now=NOW)
        [item] = items(session)
        reject(session, item.id, actor="Marie", note="hors sujet")
        store_items(session, a, [entry], now=NOW)
        store_items(
            session,
            b,
            [
                call(
                    "Vente de calendriers solidaires",
                    "https://a.example/calendriers?utm_medium=email",
                )
            ],
            now=NOW,
        )
        session.commit()
        [item] = items(session)
        assert item.status == "rejected" and len(item.sightings) == 2
        assert [d.action for d in item.decisions] == ["reject"]


def test_changes_at_the_source_never_overwrite_staff_edits(db: Database) -> None:
    with db.session() as session:
        a = source(session, "a")
        store_items(
            session,
            a,
            [call("Appel eau", "https://a.example/eau", (2027, 1, 10), summary="Version 1")],
            now=NOW,
        )
        [item] = items(session)
        accept(session, item.id, bulletin="bloc-note", actor="Marie", summary="Notre résumé")
        store_items(
            session,
            a,
            [
                call(
                    "Appel eau et assainissement",
                    "https://a.example/eau",
                    (2027, 2, 10),
                    summary="Version 2",
                )
            ],
            now=NOW,
        )
        session.commit()
        session.refresh(item)
        assert item.deadline == datetime(2027, 2, 10, 22, 59, tzinfo=UTC)  # dates follow
        assert item.display_summary == "Notre résumé"
        assert item.upstream_changed is True
        assert item.upstream["title"] == "Appel eau et assainissement"


def test_an_untouched_item_simply_follows_its_source(db: Database) -> None:
    with db.session() as session:
        a = source(session, "a")
        store_items(session, a, [call("Titre", "https://a.example/x", summary="v1")], now=NOW)
        store_items(
            session, a, [call("Titre corrigé", "https://a.example/x", summary="v2")], now=NOW
        )
        session.commit()
        [item] = items(session)
        assert (item.title, item.summary, item.upstream_changed) == ("Titre corrigé", "v2", False)


def test_staff_can_split_a_wrong_merge_and_it_stays_split(db: Database) -> None:
    with db.session() as session:
        a, b = source(session, "a"), source(session, "b")
        first = call(
            "Appel à projets eau et assainissement Sénégal", "https://a.example/eau", (2027, 5, 1)
        )
        second = call(
            "Appel à projets eau et assainissement au Sénégal",
            "https://b.example/eau",
            (2027, 5, 1),
        )
        store_items(session, a, [first], now=NOW)
        store_items(session, b, [second], now=NOW)
        [merged] = items(session)
        assert len(merged.sightings) == 2
        new = split_sighting(session, merged.id, "b", actor="Marie", now=NOW)
        store_items(session, b, [second], now=NOW)
        store_items(session, a, [first], now=NOW)
        session.commit()
        all_items = items(session)
        assert len(all_items) == 2
        assert [s.source.slug for s in new.sightings] == ["b"]
        assert [s.source.slug for s in merged.sightings] == ["a"]
        assert new.status == "new" and new.deadline is not None
        assert [d.action for d in merged.decisions] == ["split"]


@pytest.mark.parametrize(
    ("a", "b", "dates_agree", "same"),
    [
        (
            "Appel à projets « Jeunesse VI » pour l'action extérieure des collectivités",
            "Appel à projets Jeunesse VI de l'action extérieure des collectivités : date prolongée",
            False,
            True,
        ),
        ("Initiatives OSC 2027", "AFD — Initiatives OSC 2027 : appel à propositions", None, True),
        (
            "Appel à initiatives « Centres de santé ruraux » au Tchad",
            "Appel à initiatives « Centres de santé ruraux » au Togo",
            True,
            False,
        ),
        (
            "« Caisses de solidarité » aux Comores : gouvernance locale",
            "« Fours solaires » au Cameroun : gouvernance locale",
            True,
            False,
        ),
        ("Appel à projets Jeunesse 2025", "Appel à projets Jeunesse 2026", True, False),
        (
            "Festival des Solidarités",
            "Festival des Solidarités à Toulouse : le programme complet",
            None,
            False,
        ),
        (
            "Festival des Solidarités",
            "Festival des Solidarités à Toulouse : le programme complet",
            True,
            True,
        ),
    ],
)
def test_which_titles_name_the_same_call(
    a: str, b: str, dates_agree: bool | None, same: bool
) -> None:
    first, second = similar.Title(a), similar.Title(b)
    assert similar.same_thing(first, second, dates_agree=dates_agree, funders_agree=None) is same
    assert similar.same_thing(second, first, dates_agree=dates_agree, funders_agree=None) is same
