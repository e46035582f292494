"""The five bulletins of the network, seeded idempotently by `veille init`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from veille.errors import NotFound
from veille.models import Bulletin

BULLETINS: list[dict[str, Any]] = [
    {
        "slug": "bloc-note",
        "title": "Bloc note",
        "description": "Actualités de la coopération et de la solidarité internationale, "
        "appels à projets et informations du MEAE, de la Région, de l'AFD et des partenaires.",
        "cadence": "0 9 * * 4",  # Thursdays 9:00, Europe/Paris
        "sections": [
            {"key": "appels", "title": "Appels à projets", "kinds": ["appel"]},
            {"key": "actualites", "title": "Actualités", "kinds": ["actualite"]},
            {"key": "autres", "title": "À noter aussi", "kinds": []},
        ],
    },
    {
        "slug": "echos",
        "title": "Les Échos du Réseau",
        "description": "Actualités, offres et annonces des membres du réseau.",
        "cadence": "0 9 1 */2 *",  # about every two months
        "sections": [
            {"key": "actualites", "title": "Actualités des membres", "kinds": ["actualite"]},
            {"key": "annonces", "title": "Petites annonces", "kinds": ["annonce"]},
            {"key": "offres", "title": "Offres", "kinds": ["offre"]},
            {"key": "evenements", "title": "Événements", "kinds": ["evenement"]},
            {"key": "autres", "title": "À noter aussi", "kinds": []},
        ],
    },
    {
        "slug": "parcours",
        "title": "Parcours",
        "description": "Formations, emplois, stages, volontariat et bénévolat.",
        "cadence": "0 9 1,15 * *",  # fortnightly
        "sections": [
            {
                "key": "offres",
                "title": "Offres d'emploi, stages et volontariat",
                "kinds": ["offre"],
            },
            {"key": "formations", "title": "Formations", "kinds": ["evenement"]},
            {"key": "autres", "title": "À noter aussi", "kinds": []},
        ],
    },
    {
        "slug": "rendez-vous",
        "title": "Rendez-vous",
        "description": "Événements et rencontres du réseau et de ses partenaires.",
        "cadence": "0 9 1 * *",  # monthly
        "sections": [
            {"key": "evenements", "title": "Événements", "kinds": ["evenement"]},
            {"key": "autres", "title": "À noter aussi", "kinds": []},
        ],
    },
    {
        "slug": "info-flash",
        "title": "Info Flash",
        "description": "Une alerte ponctuelle pour informer ou mobiliser sur un point urgent.",
        "cadence": None,  # sent on demand
        "sections": [{"key": "alerte", "title": "Info Flash", "kinds": []}],
    },
]

SLUGS = tuple(b["slug"] for b in BULLETINS)


def ensure_bulletins(session: Session) -> list[Bulletin]:
    """Create the five bulletins if missing; never overwrite what staff changed."""
    existing = {b.slug: b for b in session.scalars(select(Bulletin))}
    for spec in BULLETINS:
        if spec["slug"] not in existing:
            bulletin = Bulletin(template=spec["slug"], **spec)
            session.add(bulletin)
            existing[spec["slug"]] = bulletin
    session.flush()
    return [existing[s] for s in SLUGS]


def get_bulletin(session: Session, slug: str) -> Bulletin:
    bulletin = session.scalar(select(Bulletin).where(Bulletin.slug == slug))
    if bulletin is None:
        raise NotFound(f"Bulletin inconnu : « {slug} ». Bulletins existants : {', '.join(SLUGS)}.")
    return bulletin


def section_for(bulletin: Bulletin, kind: str) -> str:
    """The section an item of this kind falls into by default (the last one catches all)."""
    for section in bulletin.sections:
        if kind in section.get("kinds", []):
            return str(section["key"])
    return str(bulletin.sections[-1]["key"])
