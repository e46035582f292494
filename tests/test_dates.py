"""French dates and deadlines (veille.sources.dates) on phrasings seen on the sources' sites."""

from __future__ import annotations

import time as clock
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veille.sources.dates import (
    PARIS,
    DeadlineInfo,
    extract_deadline,
    parse_date,
    parse_event_dates,
)

TODAY = date(2026, 5, 10)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


# (text, deadline, closed, opens)
DEADLINES: list[tuple[str, datetime | None, bool, datetime | None]] = [
    # labels
    ("Date limite : 15 mars 2027", paris(2027, 3, 15, 23, 59), False, None),
    ("Date limite de dépôt des dossiers : 15 mars 2027", paris(2027, 3, 15, 23, 59), False, None),
    ("Date limite de candidature\n15 mars 2027", paris(2027, 3, 15, 23, 59), False, None),
    ("avant le 30/04/2027", paris(2027, 4, 30, 23, 59), False, None),
    ("Clôture le 29/02/2024", paris(2024, 2, 29, 23, 59), False, None),
    ("CLÔTURE LE 29/02/2024", paris(2024, 2, 29, 23, 59), False, None),
    ("jusqu'au lundi 15 mai 2023 à 18h", paris(2023, 5, 15, 18, 0), False, None),
    (
        "Les dossiers sont à déposer jusqu’au 15 mai 2027 à 12h00",
        paris(2027, 5, 15, 12),
        False,
        None,
    ),
    ("Date limite : 15 mars 2027 18h30", paris(2027, 3, 15, 18, 30), False, None),
    ("Date limite : 15/03/2027, 23:59", paris(2027, 3, 15, 23, 59), False, None),
    ("Date limite : 15 mars 2027 à midi", paris(2027, 3, 15, 12, 0), False, None),
    ("au plus tard le vendredi 4 juin 2027", paris(2027, 6, 4, 23, 59), False, None),
    ("Date de clôture : 1 juin 2019 Clôturé", paris(2019, 6, 1, 23, 59), True, None),
    ("Date de clôture : 1 juin 2019 CLOTURE", paris(2019, 6, 1, 23, 59), True, None),
    (
        "Date de lancement : 1 avril 2019 | Date de clôture : 1 juin 2019",
        paris(2019, 6, 1, 23, 59),
        False,
        paris(2019, 4, 1),
    ),
    (
        "Date de lancement : 1 avril 2019 | Date de clôture : 1 juin 2019 Clôturé",
        paris(2019, 6, 1, 23, 59),
        True,
        paris(2019, 4, 1),
    ),
    ("Dépôt des candidatures : 15 janv. 2027", paris(2027, 1, 15, 23, 59), False, None),
    ("Date butoir : 3 déc 2026", paris(2026, 12, 3, 23, 59), False, None),
    ("Date limite : 30 sept. 2026", paris(2026, 9, 30, 23, 59), False, None),
    ("Date limite : mars 2027", paris(2027, 3, 31, 23, 59), False, None),
    ("Date limite : fin février 2028", paris(2028, 2, 29, 23, 59), False, None),
    (
        "Date limite : 15 mars 2027, prolongée au 31 mars 2027",
        paris(2027, 3, 31, 23, 59),
        False,
        None,
    ),
    # a sentence in a page, with other dates around
    (
        "Publié le 08/09/2025. L'appel est ouvert aux associations. Les dossiers doivent être "
        "déposés avant le 12 novembre 2025 à 17h. Les lauréats seront informés en janvier 2026.",
        paris(2025, 11, 12, 17, 0),
        False,
        None,
    ),
    (
        "Les lauréats seront informés avant le 30 juin 2027. Date limite : 15 mars 2027.",
        paris(2027, 3, 15, 23, 59),
        False,
        None,
    ),
    (
        "Session 1 : clôture le 31 mars 2026. Session 2 : clôture le 30 septembre 2026.",
        paris(2026, 9, 30, 23, 59),  # the next session still open on TODAY
        False,
        None,
    ),
    # ranges: the end is the deadline, the start is `opens`
    ("du 3 décembre 2018 au 15 mars 2019", paris(2019, 3, 15, 23, 59), False, paris(2018, 12, 3)),
    ("17 décembre 2024 - 24 janvier 2025", paris(2025, 1, 24, 23, 59), False, paris(2024, 12, 17)),
    ("17 décembre 2024 – 24 janvier 2025", paris(2025, 1, 24, 23, 59), False, paris(2024, 12, 17)),
    (
        "Les candidatures sont ouvertes entre le 1er août et le 30 septembre 2024.",
        paris(2024, 9, 30, 23, 59),
        False,
        paris(2024, 8, 1),
    ),
    ("du 3 au 15 mars 2019", paris(2019, 3, 15, 23, 59), False, paris(2019, 3, 3)),
    ("Du lundi 3 au vendredi 7 mars 2025", paris(2025, 3, 7, 23, 59), False, paris(2025, 3, 3)),
    ("du 15 décembre au 15 janvier 2027", paris(2027, 1, 15, 23, 59), False, paris(2026, 12, 15)),
    ("17/12/2024-24/01/2025", paris(2025, 1, 24, 23, 59), False, paris(2024, 12, 17)),
    # forms of a single date, as a label's value
    ("15 mars 2027", paris(2027, 3, 15, 23, 59), False, None),
    ("1er fevrier 2027", paris(2027, 2, 1, 23, 59), False, None),
    ("1ER AOUT 2027", paris(2027, 8, 1, 23, 59), False, None),
    ("31 decembre 2026", paris(2026, 12, 31, 23, 59), False, None),
    ("Mercredi 15\u00a0septembre\u202f2027", paris(2027, 9, 15, 23, 59), False, None),
    ("15/03/2027", paris(2027, 3, 15, 23, 59), False, None),
    ("15.03.2027", paris(2027, 3, 15, 23, 59), False, None),
    ("15-03-2027", paris(2027, 3, 15, 23, 59), False, None),
    ("15/03/27", paris(2027, 3, 15, 23, 59), False, None),
    ("2027-03-15", paris(2027, 3, 15, 23, 59), False, None),
    # years omitted: the next such day on or after TODAY
    ("avant le 12 mai", paris(2026, 5, 12, 23, 59), False, None),
    ("avant le 10 mai", paris(2026, 5, 10, 23, 59), False, None),
    ("avant le 2 mai", paris(2027, 5, 2, 23, 59), False, None),
    ("jusqu'au 29 février", paris(2028, 2, 29, 23, 59), False, None),
    ("avant le 15/03", paris(2027, 3, 15, 23, 59), False, None),
    ("Date limite : demain", paris(2026, 5, 11, 23, 59), False, None),  # dateparser fallback
    # status words
    ("Clôturé", None, True, None),
    ("Clos", None, True, None),
    ("clos", None, True, None),
    ("Appel à projets Jeunesse 2024 (clos)", None, True, None),
    ("Cet appel à projets est clos", None, True, None),
    ("Appel clôturé", None, True, None),
    ("Terminé", None, True, None),
    ("Statut : Fermé", None, True, None),
    ("Les inscriptions sont terminées.", None, True, None),
    ("La session est close", None, True, None),
    ("Appel clôturé le 15 mars 2024", paris(2024, 3, 15, 23, 59), True, None),
    ("Les candidatures seront clôturées le 15 mars 2027", paris(2027, 3, 15, 23, 59), False, None),
    # not closed, not deadlines
    ("L'appel n'est pas encore clos", None, False, None),
    ("Réunion à huis clos", None, False, None),
    ("Applications close on 15 March 2027", paris(2027, 3, 15, 23, 59), False, None),
    ("Avant tout, lisez le règlement. Réunion le 3 juin 2026.", None, False, None),
    (
        "Le projet soutient une ferme agricole au Sénégal depuis 2019 et se poursuit.",
        None,
        False,
        None,
    ),
    ("Publié le 08/09/2025", None, False, None),
    ("Mis à jour le 08/09/2025", None, False, None),
    ("Date de lancement : 1 avril 2019", None, False, paris(2019, 4, 1)),
    ("Séminaire le 3 mars 2027 et restitution le 15 avril 2027 à Toulouse", None, False, None),
    ("à 12h00", None, False, None),
    ("18h30", None, False, None),
    ("En cours", None, False, None),
    ("Prochainement", None, False, None),
    # garbage
    ("", None, False, None),
    ("N/A", None, False, None),
    ("bientôt", None, False, None),
    ("31/02/2027", None, False, None),
    ("99 mars 2027", None, False, None),
    ("Date limite : 31/02/2027", None, False, None),
    ("avant-projet de budget", None, False, None),
]


@pytest.mark.parametrize(("text", "deadline", "closed", "opens"), DEADLINES)
def test_extract_deadline(
    text: str, deadline: datetime | None, closed: bool, opens: datetime | None
) -> None:
    assert extract_deadline(text, today=TODAY) == DeadlineInfo(deadline, closed, opens)


def test_deadline_is_in_paris_time() -> None:
    info = extract_deadline("Date limite : 15 mars 2027", today=TODAY)
    assert info.deadline is not None
    assert info.deadline.tzinfo is PARIS
    assert info.deadline.utcoffset() is not None


def test_long_page_is_fast_and_conservative() -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit 12 % 3/4. " * 1500
    text = filler + "Date limite : 15 mars 2027. " + filler
    started = clock.perf_counter()
    info = extract_deadline(text, today=TODAY)
    assert clock.perf_counter() - started < 2
    assert info == DeadlineInfo(paris(2027, 3, 15, 23, 59), False)
    assert extract_deadline("x" * 200_000, today=TODAY) == DeadlineInfo(None, False)


PARSE_DATE: list[tuple[str, datetime | None]] = [
    ("Mon, 06 Sep 2021 16:45:00 +0200", paris(2021, 9, 6, 16, 45)),
    ("Mon, 06 Sep 2021 14:45:00 GMT", paris(2021, 9, 6, 16, 45)),
    ("Tue, 07 Jan 2025 09:00:00 +0000", paris(2025, 1, 7, 10, 0)),
    ("2025-06-03T09:00:00+02:00", paris(2025, 6, 3, 9, 0)),
    ("2025-06-03T07:00:00Z", paris(2025, 6, 3, 9, 0)),
    ("2025-06-03T07:00:00.000Z", paris(2025, 6, 3, 9, 0)),
    ("2025-06-03", paris(2025, 6, 3)),
    ("2025-06-03 14:30", paris(2025, 6, 3, 14, 30)),
    ("8 septembre 2025", paris(2025, 9, 8)),
    ("Lundi 8 septembre 2025 à 14h", paris(2025, 9, 8, 14, 0)),
    ("Publié le 08/09/2025", paris(2025, 9, 8)),
    ("12 mai", paris(2026, 5, 12)),
    ("demain", paris(2026, 5, 11)),
    ("mars 2027", paris(2027, 3, 1)),
    ("18h30", None),
    ("", None),
    ("N/A", None),
    ("31/02/2027", None),
    ("99 mars 2027", None),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_DATE)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text, today=TODAY) == expected


EVENTS: list[tuple[str, datetime | None, datetime | None]] = [
    ("Mardi 8 mars 2022 de 9h30 à 12h30", paris(2022, 3, 8, 9, 30), paris(2022, 3, 8, 12, 30)),
    (
        "Date : Mardi 8 mars 2022 de 9h30 à 12h30 Lieu : Toulouse",
        paris(2022, 3, 8, 9, 30),
        paris(2022, 3, 8, 12, 30),
    ),
    ("du 3 au 5 juin 2025", paris(2025, 6, 3), paris(2025, 6, 5, 23, 59)),
    ("du 3 au 5 juin 2025 de 9h à 17h", paris(2025, 6, 3, 9), paris(2025, 6, 5, 17)),
    (
        "du 3 juin 2025 à 9h au 5 juin 2025 à 17h",
        paris(2025, 6, 3, 9),
        paris(2025, 6, 5, 17),
    ),
    ("le 12 mai 2026 à 18h", paris(2026, 5, 12, 18), None),
    ("le 12 mai 2026, 18h-20h", paris(2026, 5, 12, 18), paris(2026, 5, 12, 20)),
    ("samedi 14 juin 2025 de 22h à 2h", paris(2025, 6, 14, 22), paris(2025, 6, 15, 2)),
    ("2025-06-03T09:00:00+02:00", paris(2025, 6, 3, 9), None),
    (
        "2025-06-03T09:00:00+02:00 - 2025-06-03T12:00:00+02:00",
        paris(2025, 6, 3, 9),
        paris(2025, 6, 3, 12),
    ),
    (
        "Publié le 08/09/2025 — Rencontre le 2 octobre 2025 à 18h30",
        paris(2025, 10, 2, 18, 30),
        None,
    ),
    ("à définir", None, None),
]


@pytest.mark.parametrize(("text", "start", "end"), EVENTS)
def test_parse_event_dates(text: str, start: datetime | None, end: datetime | None) -> None:
    assert parse_event_dates(text, today=TODAY) == (start, end)


def _in_paris(value: datetime | None) -> bool:
    return value is None or (value.tzinfo is PARIS and value.utcoffset() is not None)


_DATEISH = st.text(
    alphabet=st.sampled_from(list("0123456789/.-:h à le du au et mars janv 1er clos ")),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=300), _DATEISH), today=st.dates())
def test_never_raises_and_returns_paris_datetimes(text: str, today: date) -> None:
    info = extract_deadline(text, today=today)
    assert isinstance(info.closed, bool)
    assert _in_paris(info.deadline) and _in_paris(info.opens)
    assert _in_paris(parse_date(text, today=today))
    start, end = parse_event_dates(text, today=today)
    assert _in_paris(start) and _in_paris(end)
