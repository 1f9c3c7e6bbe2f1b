"""Server-side page sessions, so that signing out ends a session a copied cookie still names

Revision ID: 0009
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_sessions",
        sa.Column("sid", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_index("ix_page_sessions_key_id", "page_sessions", ["key_id"])
    op.create_index("ix_page_sessions_created_at", "page_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_page_sessions_created_at", table_name="page_sessions")
    op.drop_index("ix_page_sessions_key_id", table_name="page_sessions")
    op.drop_table("page_sessions")
