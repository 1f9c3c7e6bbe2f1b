"""learned ranker models with their provenance

Revision ID: 0010
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0001"
branch_labels = ("ranker",)
depends_on = "0003"  # organisations


def upgrade() -> None:
    op.create_table(
        "ranker_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("target_set", sa.String(length=256), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ranker_models_lookup", "ranker_models", ["org_id", "target_set", "fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_ranker_models_lookup", table_name="ranker_models")
    op.drop_table("ranker_models")
