"""iCalendar feeds of partners' events become items of the Rendez-vous bulletin."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veille.sources.ics import UNREADABLE, parse_ics
from veille.sources.items import CollectedItem

PARIS = ZoneInfo("Europe/Paris")
FIXTURES = Path(__file__).parent / "fixtures" / "ics"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)  # a Monday
SOURCE = "https://oc-cooperation.example/agenda/?ical=1"


def parse(name: str, now: datetime = NOW, **kwargs: int) -> list[CollectedItem]:
    return parse_ics((FIXTURES / name).read_bytes(), source_url=SOURCE, now=now, **kwargs)


def paris(item: CollectedItem) -> datetime:
    assert item.event_start is not None and item.event_start.tzinfo is not None
    return item.event_start.astimezone(PARIS)


def test_wordpress_events_calendar_export() -> None:
    atelier, aperoc = parse("wordpress_tec.ics")  # past and far-off events left out

    assert atelier.title == "Atelier : monter un dossier de subvention européenne"
    assert atelier.kind == "evenement"
    assert atelier.guid == "10000123-1773304200-1773315000@oc-cooperation.example"
    assert atelier.url == "https://oc-cooperation.example/evenement/atelier-dossier-subvention/"
    assert atelier.event_start == datetime(2026, 3, 12, 9, 30, tzinfo=PARIS)
    assert atelier.event_end == datetime(2026, 3, 12, 12, 30, tzinfo=PARIS)
    assert (
        atelier.event_place
        == "Maison des associations, 3 place Guy Hersant, 31400 Toulouse, France"
    )
    assert atelier.summary == (
        "Atelier collectif animé par l’équipe d’Occitanie Coopération.\n"
        "Inscription obligatoire avant le 10 mars."
    )
    assert atelier.raw_tags == ["Formation", "Financements"]
    assert atelier.published_at == datetime(2026, 1, 15, 8, 30, tzinfo=UTC)  # CREATED
    assert atelier.funder is None
    assert atelier.extra == {
        "organizer": "Occitanie Coopération",
        "calendar": "Occitanie Coopération",
    }

    # HTML entities in the title, HTML in the description, summer time in April
    assert aperoc.title == "Apér’OC – Montpellier"
    assert aperoc.summary == "Un moment convivial entre adhérents.\nEntrée libre"
    assert aperoc.event_start is not None
    assert aperoc.event_start.utcoffset() == timedelta(hours=2)
    assert (paris(aperoc).hour, paris(aperoc).minute) == (18, 30)


def test_events_beyond_the_window_wait_for_a_later_run() -> None:
    titles = [item.title for item in parse("wordpress_tec.ics", window_days=365)]
    assert titles[-1] == "Agora régionale de la solidarité internationale"
    assert len(titles) == 3


def test_openagenda_export_in_utc() -> None:
    cine, conference = parse("openagenda.ics")

    assert cine.title == "Ciné-débat « L'eau, un bien commun »"
    assert cine.event_start == datetime(2026, 3, 18, 17, 0, tzinfo=UTC)  # 'Z' kept aware
    assert paris(cine) == datetime(2026, 3, 18, 18, 0, tzinfo=PARIS)
    assert cine.event_place == "Cinéma Utopia, 24 rue Montardy, 31000 Toulouse"
    assert cine.url == "https://openagenda.com/festisol-occitanie/events/cine-debat-l-eau"
    # plain-text description: its line break is kept
    assert cine.summary == (
        "Projection du documentaire suivie d'un débat avec pS-Eau.\n"
        "Entrée libre; réservation conseillée."
    )
    assert cine.raw_tags == ["Eau et assainissement", "Ciné-débat"]
    assert cine.extra == {"calendar": "Festisol Occitanie"}

    assert paris(conference) == datetime(2026, 4, 15, 10, 0, tzinfo=PARIS)
    assert conference.url is None
    assert len(conference.summary) <= 600
    assert conference.summary.endswith("…")
    assert conference.summary.startswith("Les migrations climatiques concernent déjà")


def test_weekly_rule_without_end_is_expanded_over_the_window_only() -> None:
    items = parse("weekly_rrule.ics")
    window_end = NOW + timedelta(days=180)

    # Tuesdays from 3 March to 25 August 2026, minus the EXDATE and the cancelled one
    assert len(items) == 24
    assert all(NOW - timedelta(days=1) <= paris(i) <= window_end for i in items)
    assert len({item.guid for item in items}) == 24
    starts = [paris(item) for item in items]
    assert starts == sorted(starts)
    assert starts[0] == datetime(2026, 3, 3, 14, 0, tzinfo=PARIS)
    assert starts[-1] == datetime(2026, 8, 25, 14, 0, tzinfo=PARIS)
    assert datetime(2026, 4, 7, 14, 0, tzinfo=PARIS) not in starts  # EXDATE
    assert datetime(2026, 5, 5, 14, 0, tzinfo=PARIS) not in starts  # STATUS:CANCELLED
    # 14:00 in Paris on both sides of the change to summer time
    assert {(s.hour, s.minute) for s in starts if s.weekday() == 1} == {(14, 0)}
    assert items[0].guid == "permanence-porteurs@reseau.example#2026-03-03T14:00:00+01:00"
    assert items[5].guid == "permanence-porteurs@reseau.example#2026-04-14T14:00:00+02:00"


def test_moved_occurrence_keeps_its_identity_and_its_series_link() -> None:
    moved = next(i for i in parse("weekly_rrule.ics") if "mercredi" in i.title)
    assert moved.title == (
        "Permanence d'accueil des porteurs de projets (exceptionnellement le mercredi)"
    )
    assert paris(moved) == datetime(2026, 3, 18, 10, 0, tzinfo=PARIS)
    assert moved.guid == "permanence-porteurs@reseau.example#2026-03-17T14:00:00+01:00"
    assert moved.url == "https://reseau.example/permanences"
    assert moved.summary == "Sans rendez-vous."


@pytest.mark.parametrize(
    ("now", "window_days", "count"),
    [
        (NOW, 14, 2),
        (NOW, 2, 1),
        (datetime(2031, 1, 6, 12, 0, tzinfo=PARIS), 180, 26),  # years later, still bounded
    ],
)
def test_recurrence_is_bounded_by_the_window(now: datetime, window_days: int, count: int) -> None:
    assert len(parse("weekly_rrule.ics", now=now, window_days=window_days)) == count


def test_cancelled_events_are_skipped_and_floating_times_are_paris() -> None:
    journee, webinaire = parse("cancelled.ics")
    assert journee.title == "Journée des partenaires"
    assert journee.event_start == datetime(2026, 3, 26, 18, 30, tzinfo=PARIS)
    assert journee.event_end == datetime(2026, 3, 26, 20, 30, tzinfo=PARIS)
    assert webinaire.title == "Webinaire : financer son projet d'eau"  # TENTATIVE is kept
    assert webinaire.event_end is None  # no DTEND nor DURATION: end unknown


def test_all_day_events() -> None:
    (journee,) = parse("festisol_allday.ics")  # the festival is beyond the window
    assert journee.title == "Journée mondiale de l'eau"
    assert journee.event_start == datetime(2026, 3, 22, 0, 0, tzinfo=PARIS)
    assert journee.event_end == datetime(2026, 3, 23, 0, 0, tzinfo=PARIS)  # one day

    (festival,) = parse("festisol_allday.ics", now=datetime(2026, 10, 1, 9, 0, tzinfo=PARIS))
    assert festival.title == "Festival des Solidarités 2026"
    assert festival.event_start == datetime(2026, 11, 13, 0, 0, tzinfo=PARIS)
    assert festival.event_end == datetime(2026, 11, 30, 0, 0, tzinfo=PARIS)  # DTEND as given
    assert festival.published_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert festival.raw_tags == ["Festisol", "ECM"]
    assert festival.event_start.date() == date(2026, 11, 13)


def test_an_ongoing_event_is_kept_and_an_ended_one_is_not() -> None:
    during = parse("festisol_allday.ics", now=datetime(2026, 11, 20, 9, 0, tzinfo=PARIS))
    assert [i.title for i in during] == ["Festival des Solidarités 2026"]
    after = parse("festisol_allday.ics", now=datetime(2026, 12, 1, 12, 0, tzinfo=PARIS))
    assert after == []


def test_naive_now_is_read_as_paris_time() -> None:
    naive = parse("cancelled.ics", now=NOW.replace(tzinfo=None))
    assert [i.title for i in naive] == [i.title for i in parse("cancelled.ics")]


def test_one_broken_event_does_not_hide_the_others() -> None:
    content = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-VEILLE-NOTE:synthetic fixture\r\n"
        # An unreadable start date, on purpose: this event is dropped, the others are kept.
        b"BEGIN:VEVENT\r\nUID:bad\r\nSUMMARY:Sans date\r\nDTSTART:2026XXX\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:no-title\r\nDTSTART:20260310T100000Z\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:ok\r\nSUMMARY:Rencontre\r\nDTSTART:20260310T100000Z\r\n"
        b"URL:javascript:alert(1)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (item,) = parse_ics(content, source_url=SOURCE, now=NOW)
    assert item.title == "Rencontre"
    assert item.url is None  # not a web link


def test_empty_calendar_is_not_an_error() -> None:
    content = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    assert parse_ics(content, source_url=SOURCE, now=NOW) == []


def _truncated() -> bytes:
    content = (FIXTURES / "wordpress_tec.ics").read_bytes()
    return content[: len(content) // 2]


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><head><title>Agenda</title></head><body>Connexion</body></html>",
        b'{"events": []}',
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:coup",
        _truncated(),
        b"BEGIN:VCARD\r\nFN:Jean\r\nEND:VCARD\r\n",
    ],
    ids=["html", "json", "png", "empty", "cut", "truncated-fixture", "vcard"],
)
def test_unreadable_content_raises_a_french_value_error(content: bytes) -> None:
    with pytest.raises(ValueError) as error:
        parse_ics(content, source_url=SOURCE, now=NOW)
    assert str(error.value) == UNREADABLE == "Le fichier n'est pas un calendrier iCalendar lisible."


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_random_bytes_raise_nothing_but_value_error(content: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_ics(content, source_url=SOURCE, now=NOW)


_LINES = [
    "DTSTART:20260310T100000Z", "DTSTART;VALUE=DATE:20260310", "DTSTART:2026XX",
    "DTSTART;TZID=Nulle/Part:20260310T100000", "DTSTART;TZID=Europe/Paris:20260310T100000",
    "DTEND:20260309T100000Z", "DURATION:PT1H", "DURATION:-P1D", "RRULE:FREQ=DAILY",
    "RRULE:FREQ=SECONDLY", "RRULE:FREQ=WEEKLY;UNTIL=20260101", "RRULE:garbage",
    "RDATE:20260320T100000Z", "EXDATE:20260311T100000Z", "RECURRENCE-ID:20260311T100000Z",
    "UID:a", "SUMMARY:Titre", "SUMMARY:Autre", "STATUS:CANCELLED", "CATEGORIES:a,b",
    'CATEGORIES;X="', "URL:/relatif", "ORGANIZER:mailto:x", "CREATED:bad",
    "X-WR-TIMEZONE:Europe/Paris", "X-WR-TIMEZONE:Nulle/Part", "BEGIN:VALARM", "END:VALARM",
    ":::", "",
]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(_LINES), max_size=4),
    st.lists(st.sampled_from(_LINES), max_size=12),
)
def test_malformed_calendars_raise_nothing_but_value_error(
    head: list[str], body: list[str]
) -> None:
    text = "\r\n".join(
        ["BEGIN:VCALENDAR", *head, "BEGIN:VEVENT", *body, "END:VEVENT", "END:VCALENDAR", ""]
    )
    try:
        items = parse_ics(text.encode(), source_url=SOURCE, now=NOW)
    except ValueError:
        return
    for item in items:
        assert item.title and item.kind == "evenement"
        assert item.event_start is not None and item.event_start.tzinfo is not None
