"""The review report's columns: the NLU's best guess below its fallback (events and turns) and
whether the bot asked "did you mean ...?" about a message (turns).

Revision ID: a0002
Revises: a0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a0002"
down_revision = "a0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("analytics_events", sa.Column("guess", sa.String(200), nullable=True))
    op.add_column("analytics_turns", sa.Column("guess", sa.String(200), nullable=True))
    op.add_column("analytics_turns", sa.Column(
        "clarified", sa.Boolean(create_constraint=False), nullable=False,
        server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("analytics_turns") as batch:
        batch.drop_column("clarified")
        batch.drop_column("guess")
    with op.batch_alter_table("analytics_events") as batch:
        batch.drop_column("guess")
