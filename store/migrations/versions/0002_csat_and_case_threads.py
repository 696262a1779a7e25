"""CSAT feedback; support cases learn their conversation and Slack thread; cancel reasons.

Cases get ``conversation_id``, ``slack_channel`` and ``slack_thread_ts`` (indexed: the Slack app
finds a case by its thread, the bot finds an open handoff by its conversation) and a CHECK on
``status``. SQLite cannot add a CHECK to an existing table, so the batch operation rebuilds
``support_cases`` and copies its rows. Orders get ``cancel_reason`` for the status note.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("support_cases") as batch:
        batch.add_column(sa.Column("conversation_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("slack_channel", sa.String(40), nullable=True))
        batch.add_column(sa.Column("slack_thread_ts", sa.String(40), nullable=True))
        batch.create_check_constraint(
            "ck_support_cases_status", "status IN ('open', 'handoff', 'closed')"
        )
        batch.create_index("ix_support_cases_slack_thread", ["slack_channel", "slack_thread_ts"])
        batch.create_index("ix_support_cases_conversation_id", ["conversation_id"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
    op.create_table(
        "csat_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_csat_feedback_rating"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["support_cases.id"], name="fk_csat_feedback_case_id_support_cases"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_csat_feedback_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_csat_feedback"),
    )
    op.create_index("ix_csat_feedback_conversation_id", "csat_feedback", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("csat_feedback")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("cancel_reason")
    with op.batch_alter_table("support_cases") as batch:
        batch.drop_index("ix_support_cases_conversation_id")
        batch.drop_index("ix_support_cases_slack_thread")
        batch.drop_constraint("ck_support_cases_status", type_="check")
        batch.drop_column("slack_thread_ts")
        batch.drop_column("slack_channel")
        batch.drop_column("conversation_id")
