"""Failed order verifications, counted across conversations (abuse limits).

One row per failed order-number/e-mail check in chat, with the order number (NULL for junk), the
client (a keyed hash of the address, never the address) and the conversation. The store answers
"is this order or this client locked?" from the rows of a sliding window; `store purge` removes
old rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
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
        "failed_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(6), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_failed_verifications"),
    )
    op.create_index(
        "ix_failed_verifications_order_number_created_at",
        "failed_verifications", ["order_number", "created_at"],
    )
    op.create_index(
        "ix_failed_verifications_client_created_at",
        "failed_verifications", ["client", "created_at"],
    )
    op.create_index(
        "ix_failed_verifications_conversation_id", "failed_verifications", ["conversation_id"]
    )


def downgrade() -> None:
    op.drop_table("failed_verifications")
