"""Table definitions shared by every back-end (SQLite by default, PostgreSQL for replicas).

These describe the schema at the newest migration; ``migrations/versions`` is what creates it.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Double,
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
