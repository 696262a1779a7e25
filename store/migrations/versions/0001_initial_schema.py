"""Initial schema: customers, orders, lines, shipments and events, cases, returns, interactions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ORDER_STATUSES = (
    "'pending', 'paid', 'packed', 'shipped', 'in_transit', 'delivered', 'delayed', "
    "'cancelled', 'returned', 'refunded'"
)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("email", name="uq_customers_email"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(6), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("placed_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("total", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("shipping_address", sa.Text(), nullable=False),
        sa.Column("shipping_country", sa.String(2), nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.CheckConstraint(f"status IN ({ORDER_STATUSES})", name="ck_orders_status"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_orders_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("number", name="uq_orders_number"),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_lines_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_order_lines"),
    )
    op.create_index("ix_order_lines_order_id", "order_lines", ["order_id"])
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(40), nullable=False),
        sa.Column("tracking_number", sa.String(60), nullable=False),
        sa.Column("tracking_url", sa.String(300), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("eta", sa.Date(), nullable=True),
        sa.Column("shipped_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_shipments_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_shipments"),
        sa.UniqueConstraint("tracking_number", name="uq_shipments_tracking_number"),
    )
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"])
    op.create_table(
        "shipment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("location", sa.String(120), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name="fk_shipment_events_shipment_id_shipments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shipment_events"),
    )
    op.create_index("ix_shipment_events_shipment_id", "shipment_events", ["shipment_id"])
    op.create_table(
        "support_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_support_cases_customer_id_customers"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_support_cases_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_support_cases"),
    )
    op.create_index("ix_support_cases_customer_id", "support_cases", ["customer_id"])
    op.create_index("ix_support_cases_order_id", "support_cases", ["order_id"])
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=True),
        sa.Column("refunded_at", TS, nullable=True),
        sa.Column("refund_amount", sa.Numeric(12, 2), nullable=True),
        sa.CheckConstraint(
            "status IN ('requested', 'received', 'refunded', 'rejected')",
            name="ck_returns_status",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["support_cases.id"], name="fk_returns_case_id_support_cases"
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_returns_order_id_orders"),
        sa.PrimaryKeyConstraint("id", name="pk_returns"),
    )
    op.create_index("ix_returns_order_id", "returns", ["order_id"])
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("order_number", sa.String(6), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_interactions_direction"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_interactions_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
    )
    op.create_index("ix_interactions_conversation_id", "interactions", ["conversation_id"])
    op.create_index(
        "ix_interactions_customer_id_created_at", "interactions", ["customer_id", "created_at"]
    )


def downgrade() -> None:
    for table in (
        "interactions",
        "returns",
        "support_cases",
        "shipment_events",
        "shipments",
        "order_lines",
        "orders",
        "customers",
    ):
        op.drop_table(table)
