"""reviewer decisions on change verdicts and mapping suggestions

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("review",)
depends_on = "0003"  # organisations and mappings

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("diff_id", sa.Integer(), nullable=True),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("mapping_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["diff_id"], ["diffs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["change_id"], ["changes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mapping_id"], ["mappings.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_decisions_org", "review_decisions", ["org_id", "id"])
    op.create_index("ix_review_decisions_change", "review_decisions", ["change_id"])
    op.create_index("ix_review_decisions_diff", "review_decisions", ["diff_id"])


def downgrade() -> None:
    op.drop_index("ix_review_decisions_diff", table_name="review_decisions")
    op.drop_index("ix_review_decisions_change", table_name="review_decisions")
    op.drop_index("ix_review_decisions_org", table_name="review_decisions")
    op.drop_table("review_decisions")
