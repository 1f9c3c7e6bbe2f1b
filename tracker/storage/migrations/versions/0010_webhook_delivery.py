"""Webhook delivery to the Standard Webhooks spec: secret rotation with a grace period, an
endpoint disabled by 410 Gone, and notices to the subscription's owner (dead deliveries)

Revision ID: 0010_webhooks
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_webhooks"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("webhook_secret_previous", sa.String(128), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("webhook_previous_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("webhook_disabled", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "subscription_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscription_notices_subscription_id", "subscription_notices", ["subscription_id"])


def downgrade() -> None:
    op.drop_index("ix_subscription_notices_subscription_id", table_name="subscription_notices")
    op.drop_table("subscription_notices")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("webhook_disabled")
        batch.drop_column("webhook_previous_until")
        batch.drop_column("webhook_secret_previous")
