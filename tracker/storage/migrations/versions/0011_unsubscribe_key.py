"""A random key per subscription for its unsubscribe links, instead of its feed token hash
(which anyone holding the feed URL can compute)

Revision ID: 0011_unsubscribe
Revises: 0010_webhooks
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011_unsubscribe"
down_revision = "0010_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("unsubscribe_key", sa.String(64), nullable=False, server_default=""))
    # existing subscriptions get their key now; links in emails sent before stop working
    subscriptions = sa.table("subscriptions", sa.column("id", sa.Integer), sa.column("unsubscribe_key"))
    bind = op.get_bind()
    for (sub_id,) in bind.execute(sa.select(subscriptions.c.id)).all():
        bind.execute(
            subscriptions.update()
            .where(subscriptions.c.id == sub_id)
            .values(unsubscribe_key=secrets.token_hex(32))
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("unsubscribe_key")
