"""bulk review actions: one row per batch, and the batch each decision belongs to

Revision ID: 0010_review_batches
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_review_batches"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("diff_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("undone_at", TZ, nullable=True),
        sa.Column("undone_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["diff_id"], ["diffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_batches_org_diff", "review_batches", ["org_id", "diff_id"])
    # batch mode: SQLite cannot add a foreign key to an existing table in place (env.py turns
    # batch rendering on for SQLite only; PostgreSQL alters the table directly)
    with op.batch_alter_table("review_decisions") as batch:
        batch.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_review_decisions_batch", "review_batches", ["batch_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_review_decisions_batch", ["batch_id"])


def downgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_index("ix_review_decisions_batch")
        batch.drop_constraint("fk_review_decisions_batch", type_="foreignkey")
        batch.drop_column("batch_id")
    op.drop_index("ix_review_batches_org_diff", table_name="review_batches")
    op.drop_table("review_batches")
