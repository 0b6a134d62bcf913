"""Replay cache table: JWT ids shared by every replica, so a token is accepted once fleet-wide.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replay_cache",
        sa.Column("iss", sa.String(512), nullable=False),
        sa.Column("jti", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("iss", "jti", name="pk_replay_cache"),
    )
    # The clean-up deletes by expiry; without the index it would scan the whole table.
    op.create_index("ix_replay_cache_expires_at", "replay_cache", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_replay_cache_expires_at", table_name="replay_cache")
    op.drop_table("replay_cache")
