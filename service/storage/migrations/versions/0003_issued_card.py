"""Issued cards: one row per card (tier, suggestions and their kinds, knowledge version, keyed patient hash).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_card",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("card_uuid", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suggestions", sa.Text, nullable=False),
        sa.Column("knowledge_version", sa.String(64), nullable=False),
        sa.Column("patient_key", sa.String(64), nullable=True),
        sa.Column("snoozed", sa.Boolean, nullable=False),
        sa.UniqueConstraint("service_id", "card_uuid", name="uq_issued_card_uuid"),
    )
    # The snooze look-up runs on every card: by patient key, then joined to its feedback by card uuid.
    op.create_index("ix_issued_card_patient", "issued_card", ["patient_key", "service_id"])
    op.create_index("ix_issued_card_issued_at", "issued_card", ["issued_at"])
    op.create_index("ix_feedback_card_uuid", "feedback", ["card_uuid"])


def downgrade() -> None:
    op.drop_index("ix_feedback_card_uuid", table_name="feedback")
    op.drop_index("ix_issued_card_issued_at", table_name="issued_card")
    op.drop_index("ix_issued_card_patient", table_name="issued_card")
    op.drop_table("issued_card")
