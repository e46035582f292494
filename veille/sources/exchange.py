"""Sources in and out: the TOML sources file and OPML (the feed readers' exchange format)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomli_w
from lxml import etree

from veille.bulletins import BULLETINS, SLUGS
from veille.errors import InvalidInput, SourcesFileError
from veille.models import Source
from veille.sources.folding import fold
from veille.sources.spec import SourceSpec, load_sources

_TITLES = {fold(b["title"]): b["slug"] for b in BULLETINS}


def human_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def source_table(source: Source) -> dict[str, Any]:
    table: dict[str, Any] = {
        "slug": source.slug,
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
    }
    if source.bulletin_slug:
        table["bulletin"] = source.bulletin_slug
    if source.tags:
        table["tags"] = list(source.tags)
    table["every"] = human_duration(source.every_seconds)
    if not source.enabled:
        table["enabled"] = False
    table.update(source.rules or {})
    return table


def export_toml(sources: list[Source], path: Path) -> int:
    data = {"source": [source_table(s) for s in sources]}
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return len(sources)


def export_opml(sources: list[Source], path: Path) -> tuple[int, int]:
    """Feeds only (OPML has no place for scraping rules): returns (written, left out)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = "Sources de veille — Occitanie Coopération"
    body = etree.SubElement(root, "body")
    written = 0
    for source in sources:
        if source.kind != "rss":
            continue
        attrs = {"text": source.name, "title": source.name, "type": "rss", "xmlUrl": source.url}
        if source.bulletin_slug:
            attrs["category"] = source.bulletin_slug
        etree.SubElement(body, "outline", **attrs)
        written += 1
    path.write_bytes(
        etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    )
    return written, len(sources) - written


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return slug[:80] or "source"


def _bulletin_of(*labels: str | None) -> str | None:
    for label in labels:
        if not label:
            continue
        for part in re.split(r"[,/]", label):
            key = fold(part.strip())
            if key in SLUGS:
                return key
            if key in _TITLES:
                return _TITLES[key]
    return None


def parse_opml(path: Path) -> list[SourceSpec]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise SourcesFileError(str(path), f"OPML illisible ({exc})") from None
    specs: list[SourceSpec] = []
    taken: set[str] = set()
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if not url:
            continue
        name = outline.get("title") or outline.get("text") or url
        parent = outline.getparent()
        group = parent.get("text") if parent is not None and parent.tag == "outline" else None
        slug = base = slugify(name)
        counter = 2
        while slug in taken:
            slug, counter = f"{base}-{counter}", counter + 1
        taken.add(slug)
        try:
            specs.append(
                SourceSpec(
                    slug=slug,
                    name=name,
                    kind="rss",
                    url=url,
                    bulletin=_bulletin_of(outline.get("category"), group),
                )
            )
        except ValueError as exc:
            raise SourcesFileError(str(path), str(exc).splitlines()[-1], source=name) from None
    return specs


def read_any(path: Path) -> list[SourceSpec]:
    """A sources file in TOML or OPML, by its extension."""
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return load_sources(path)
    if suffix in (".opml", ".xml"):
        return parse_opml(path)
    raise InvalidInput(f"Format inconnu pour {path.name} : attendu .toml ou .opml.")
