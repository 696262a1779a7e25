"""Analytics tables: compacted broker events, conversation and turn facts, consumer offsets,
rejected messages, review marks and dashboard users.

Revision ID: a0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a0001"
down_revision = None
branch_labels = ("analytics",)
depends_on = None


def _seconds() -> sa.Float:
    return sa.Float(precision=53)


def _serial() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "analytics_events",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("ts", _seconds(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("intent", sa.String(200), nullable=True),
        sa.Column("confidence", _seconds(), nullable=True),
        sa.Column("language", sa.String(10), nullable=True),
        sa.Column("channel", sa.String(60), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("response", sa.String(200), nullable=True),
        sa.Column("received_at", _seconds(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_events"),
        sa.UniqueConstraint("event_key", name="uq_analytics_events_event_key"),
    )
    op.create_index("ix_analytics_events_sender_id_id", "analytics_events", ["sender_id", "id"])

    op.create_table(
        "analytics_conversations",
        sa.Column("conversation_id", sa.String(300), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("started_at", _seconds(), nullable=False),
        sa.Column("ended_at", _seconds(), nullable=False),
        sa.Column("duration_s", _seconds(), nullable=False),
        sa.Column("channel", sa.String(60), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("customer_turns", sa.Integer(), nullable=False),
        sa.Column("bot_messages", sa.Integer(), nullable=False),
        sa.Column("agent_messages", sa.Integer(), nullable=False),
        sa.Column("fallback_turns", sa.Integer(), nullable=False),
        sa.Column("knowledge_answers", sa.Integer(), nullable=False),
        sa.Column("knowledge_not_found", sa.Integer(), nullable=False),
        sa.Column("knowledge_helpful", sa.Integer(), nullable=False),
        sa.Column("knowledge_not_helpful", sa.Integer(), nullable=False),
        sa.Column("bot_answers", sa.Integer(), nullable=False),
        sa.Column("handoff_requested", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("handoff_connected", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("handoff_reason", sa.String(200), nullable=True),
        sa.Column("handoff_requested_at", _seconds(), nullable=True),
        sa.Column("agent_first_reply_at", _seconds(), nullable=True),
        sa.Column("handoff_closed_at", _seconds(), nullable=True),
        sa.Column("first_response_s", _seconds(), nullable=True),
        sa.Column("resolution_s", _seconds(), nullable=True),
        sa.Column("handoff_case_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(30), nullable=False),
        sa.Column("csat_asked", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("csat_rating", sa.Integer(), nullable=True),
        sa.Column("csat_skipped", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("first_intent", sa.String(200), nullable=True),
        sa.Column("updated_at", _seconds(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_analytics_conversations"),
    )
    op.create_index("ix_analytics_conversations_sender_id", "analytics_conversations",
                    ["sender_id"])
    op.create_index("ix_analytics_conversations_started_at", "analytics_conversations",
                    ["started_at"])

    op.create_table(
        "analytics_turns",
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(300), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", _seconds(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("intent", sa.String(200), nullable=True),
        sa.Column("final_intent", sa.String(200), nullable=True),
        sa.Column("confidence", _seconds(), nullable=True),
        sa.Column("language", sa.String(10), nullable=True),
        sa.Column("channel", sa.String(60), nullable=True),
        sa.Column("fallback", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("knowledge", sa.String(20), nullable=True),
        sa.Column("article_id", sa.String(200), nullable=True),
        sa.Column("kb_feedback", sa.String(20), nullable=True),
        sa.Column("bot_answered", sa.Boolean(create_constraint=False), nullable=False),
        sa.PrimaryKeyConstraint("event_key", name="pk_analytics_turns"),
    )
    op.create_index("ix_analytics_turns_conversation_id", "analytics_turns", ["conversation_id"])
    op.create_index("ix_analytics_turns_sender_id", "analytics_turns", ["sender_id"])
    op.create_index("ix_analytics_turns_ts", "analytics_turns", ["ts"])

    op.create_table(
        "analytics_offsets",
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _seconds(), nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_analytics_offsets"),
    )
    op.create_table(
        "analytics_rejected",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", _seconds(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_rejected"),
    )
    op.create_table(
        "analytics_review_marks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(300), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("predicted_intent", sa.String(200), nullable=True),
        sa.Column("intent", sa.String(200), nullable=False),
        sa.Column("marked_by", sa.String(100), nullable=False),
        sa.Column("marked_at", _seconds(), nullable=False),
        sa.Column("exported_at", _seconds(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_review_marks"),
        sa.UniqueConstraint("event_key", name="uq_analytics_review_marks_event_key"),
    )
    op.create_index("ix_analytics_review_marks_sender_id", "analytics_review_marks",
                    ["sender_id"])
    op.create_table(
        "analytics_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("created_at", _seconds(), nullable=False),
        sa.Column("updated_at", _seconds(), nullable=False),
        sa.CheckConstraint("role IN ('lead', 'editor')", name="ck_analytics_users_role"),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_users"),
        sa.UniqueConstraint("name", name="uq_analytics_users_name"),
    )


def downgrade() -> None:
    op.drop_table("analytics_users")
    op.drop_index("ix_analytics_review_marks_sender_id", table_name="analytics_review_marks")
    op.drop_table("analytics_review_marks")
    op.drop_table("analytics_rejected")
    op.drop_table("analytics_offsets")
    op.drop_index("ix_analytics_turns_ts", table_name="analytics_turns")
    op.drop_index("ix_analytics_turns_sender_id", table_name="analytics_turns")
    op.drop_index("ix_analytics_turns_conversation_id", table_name="analytics_turns")
    op.drop_table("analytics_turns")
    op.drop_index("ix_analytics_conversations_started_at", table_name="analytics_conversations")
    op.drop_index("ix_analytics_conversations_sender_id", table_name="analytics_conversations")
    op.drop_table("analytics_conversations")
    op.drop_index("ix_analytics_events_sender_id_id", table_name="analytics_events")
    op.drop_table("analytics_events")
