"""The data model (SQLAlchemy 2, typed). Names follow ../shared/DESIGN.md.

Every datetime is stored in UTC and comes back timezone-aware, on SQLite as on
PostgreSQL (see `UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    types,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime refused: {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


item_tags = Table(
    "item_tags",
    Base.metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Bulletin(Base):
    __tablename__ = "bulletins"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    cadence: Mapped[str | None] = mapped_column(String(100))  # cron, Europe/Paris; None = on demand
    sections: Mapped[list[Any]] = mapped_column(default=list)  # [{"key": ..., "title": ...}]
    template: Mapped[str] = mapped_column(String(100))

    editions: Mapped[list[Edition]] = relationship(back_populates="bulletin")


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(10))  # rss | html | api | ics
    url: Mapped[str] = mapped_column(Text)
    bulletin_slug: Mapped[str | None] = mapped_column(String(50))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    every_seconds: Mapped[int] = mapped_column(Integer, default=6 * 3600)
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)  # select, detail, format...
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # "file": kept in step with the sources file; "import": added by `veille sources import`.
    origin: Mapped[str] = mapped_column(String(10), default="file")
    # HTTP validators of the last successful fetch.
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    # Health.
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    items_last_seen: Mapped[int | None] = mapped_column(Integer)
    next_fetch_at: Mapped[datetime | None] = mapped_column(index=True)
    warning: Mapped[str | None] = mapped_column(Text)  # e.g. "la page a peut-être changé"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (Index("ix_items_status_bulletin", "status", "bulletin_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text, index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    published_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None] = mapped_column(index=True)
    deadline_source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    event_start: Mapped[datetime | None]
    event_end: Mapped[datetime | None]
    event_place: Mapped[str | None] = mapped_column(Text)
    funder: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="actualite")
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    raw_tags: Mapped[list[Any]] = mapped_column(default=list)
    suggested_bulletin: Mapped[str | None] = mapped_column(String(50))
    score: Mapped[float | None]
    # Triage.
    status: Mapped[str] = mapped_column(String(20), default="new")
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id"))
    section: Mapped[str | None] = mapped_column(String(50))
    edited_title: Mapped[str | None] = mapped_column(Text)
    edited_summary: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    # Set when the source changed something staff may have edited ("modifié à la source").
    upstream_changed: Mapped[bool] = mapped_column(Boolean, default=False)
    upstream: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    source: Mapped[Source | None] = relationship(foreign_keys=[source_id])
    deadline_source: Mapped[Source | None] = relationship(foreign_keys=[deadline_source_id])
    bulletin: Mapped[Bulletin | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=item_tags, order_by=Tag.name)
    sightings: Mapped[list[Sighting]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="Sighting.id"
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="Decision.id"
    )
    title_bands: Mapped[list[TitleBand]] = relationship(cascade="all, delete-orphan")

    @property
    def display_title(self) -> str:
        return self.edited_title or self.title

    @property
    def display_summary(self) -> str:
        return self.edited_summary if self.edited_summary is not None else self.summary


class Sighting(Base):
    """One source announcing an item; an item relayed by three sites has three."""

    __tablename__ = "sightings"
    __table_args__ = (
        UniqueConstraint("source_id", "key", name="uq_sightings_source_key"),
        Index("ix_sightings_canonical_url", "canonical_url"),
        Index("ix_sightings_guid", "guid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    key: Mapped[str] = mapped_column(String(64))  # stable id of the entry within its source
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime | None]
    detail_read_at: Mapped[datetime | None]  # html sources: its detail page was read
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="sightings")
    source: Mapped[Source | None] = relationship()


class Decision(Base):
    """Every triage decision, kept: who did what to which item, when."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # accept | reject | reopen | archive | split
    bulletin_slug: Mapped[str | None] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="decisions")


class Edition(Base):
    __tablename__ = "editions"
    __table_args__ = (
        UniqueConstraint("bulletin_id", "number", name="uq_editions_bulletin_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"))
    number: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(Text, default="")
    intro: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    scheduled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # Rendered once at approval and kept as sent; personalised only by the unsubscribe URL.
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    bulletin: Mapped[Bulletin] = relationship(back_populates="editions")
    entries: Mapped[list[EditionEntry]] = relationship(
        back_populates="edition",
        cascade="all, delete-orphan",
        order_by="(EditionEntry.section_position, EditionEntry.position)",
    )


class EditionEntry(Base):
    __tablename__ = "edition_entries"
    __table_args__ = (UniqueConstraint("edition_id", "item_id", name="uq_edition_entries_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    section: Mapped[str] = mapped_column(String(50))
    section_position: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)

    edition: Mapped[Edition] = relationship(back_populates="entries")
    item: Mapped[Item] = relationship()


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    token: Mapped[str] = mapped_column(String(64), unique=True)  # unsubscribe / preferences
    consent_at: Mapped[datetime | None]
    consent_source: Mapped[str | None] = mapped_column(String(50))  # import | form | ...
    consent_origin: Mapped[str | None] = mapped_column(Text)  # file name, IP, page...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "bulletin_id", name="uq_subscriptions_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    unsubscribed_at: Mapped[datetime | None]

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    bulletin: Mapped[Bulletin] = relationship()


class Delivery(Base):
    """One message of one edition to one subscriber: the unit that is never sent twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id", name="uq_deliveries_pair"),
        Index("ix_deliveries_edition_status", "edition_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"))
    email: Mapped[str] = mapped_column(String(320))
    # pending -> sending -> sent | failed; "sending" left by a crash is never resent blindly.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    college: Mapped[str | None] = mapped_column(String(50))  # associations | public | economic
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="annonce")
    bulletin_slug: Mapped[str] = mapped_column(String(50), default="echos")
    event_start: Mapped[datetime | None]
    event_end: Mapped[datetime | None]
    event_place: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    moderated_by: Mapped[str | None] = mapped_column(String(200))
    moderated_at: Mapped[datetime | None]
    moderation_note: Mapped[str | None] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship()


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))  # staff | editor | admin | member
    password_hash: Mapped[str | None] = mapped_column(Text)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TitleBand(Base):
    """MinHash bands of an item's title: near-duplicate candidates are found by an indexed
    equality lookup, so matching does not grow with the square of the number of items."""

    __tablename__ = "title_bands"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(types.BigInteger, primary_key=True, index=True)
