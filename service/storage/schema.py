"""Table definitions shared by every back-end (SQLite by default, PostgreSQL for replicas).

These describe the schema at the newest migration; ``migrations/versions`` is what creates it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Table as _Table

metadata = MetaData()

feedback = _Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # sha256 over the item's canonical form: a duplicate POST of the same item is a no-op (spec J4).
    Column("dedupe_key", String(64), nullable=False),
    Column("service_id", String(128), nullable=False),
    Column("card_uuid", String(256), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("accepted_suggestions", Text, nullable=True),
    Column("override_system", String(512), nullable=True),
    Column("override_code", String(256), nullable=True),
    Column("override_display", String(512), nullable=True),
    Column("user_comment", Text, nullable=True),
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
    Column("hook_instance", String(256), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("dedupe_key", name="uq_feedback_dedupe_key"),
    # Feedback is joined to the card it answers (report, snooze look-up).
    Index("ix_feedback_card_uuid", "card_uuid"),
)

# Client JWT ids seen while their token can still be presented; shared by every replica (issue 7).
replay_cache = _Table(
    "replay_cache",
    metadata,
    Column("iss", String(512), nullable=False),
    Column("jti", String(256), nullable=False),
    # Epoch seconds after which the entry may be forgotten (token exp plus clock leeway).
    Column("expires_at", Double, nullable=False, index=True),
    PrimaryKeyConstraint("iss", "jti", name="pk_replay_cache"),
)

# One row per card the service decided to issue (issue 18), written with one INSERT per card.
# No patient identifier in clear: ``patient_key`` is an HMAC-SHA256 of the issuer and patient id.
issued_card = _Table(
    "issued_card",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(128), nullable=False),
    Column("card_uuid", String(64), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    # JSON list of [suggestion uuid, kind] pairs, kinds from cards/feedback.json (mri, ct, referral, ...).
    Column("suggestions", Text, nullable=False),
    Column("knowledge_version", String(64), nullable=False),
    # Null when no key secret is configured in production: the card is recorded but cannot be snoozed.
    Column("patient_key", String(64), nullable=True),
    # True when a snooze held the card back: recorded for the report, never shown.
    Column("snoozed", Boolean, nullable=False),
    UniqueConstraint("service_id", "card_uuid", name="uq_issued_card_uuid"),
    Index("ix_issued_card_patient", "patient_key", "service_id"),
    Index("ix_issued_card_issued_at", "issued_at"),
)
