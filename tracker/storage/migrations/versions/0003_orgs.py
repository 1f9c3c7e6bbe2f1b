"""organisations, controls, mappings and impact

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("orgs",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "controls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("ident", sa.String(length=256), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("family", sa.String(length=256), nullable=False),
        sa.Column("parent_key", sa.String(length=256), nullable=True),
        sa.Column("guidance", sa.Text(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "key"),
    )
    op.create_index(op.f("ix_controls_org_id"), "controls", ["org_id"], unique=False)
    op.create_table(
        "mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("source_set", sa.String(length=256), nullable=False),
        sa.Column("source_id", sa.String(length=256), nullable=False),
        sa.Column("source_key", sa.String(length=256), nullable=False),
        sa.Column("target_set", sa.String(length=256), nullable=False),
        sa.Column("target_id", sa.String(length=256), nullable=False),
        sa.Column("target_key", sa.String(length=256), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("provenance", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("review", sa.String(length=32), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("via", sa.JSON(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=256), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mappings_lookup", "mappings", ["org_id", "source_set", "source_key"], unique=False)
    op.create_index("ix_mappings_target", "mappings", ["org_id", "target_set", "target_key"], unique=False)
    op.create_table(
        "control_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("control_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["control_id"], ["controls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_control_history_control_id"), "control_history", ["control_id"], unique=False)
    op.create_table(
        "impacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("diff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["diff_id"], ["diffs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "diff_id"),
    )
    op.create_index(op.f("ix_impacts_created_at"), "impacts", ["created_at"], unique=False)
    op.create_index(op.f("ix_impacts_org_id"), "impacts", ["org_id"], unique=False)
    op.create_table(
        "impact_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("impact_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_seq", sa.Integer(), nullable=False),
        sa.Column("change_kind", sa.String(length=32), nullable=False),
        sa.Column("control_key", sa.String(length=256), nullable=True),
        sa.Column("control_id", sa.String(length=256), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["impact_id"], ["impacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_impact_items_action"), "impact_items", ["action"], unique=False)
    op.create_index(op.f("ix_impact_items_impact_id"), "impact_items", ["impact_id"], unique=False)
    op.create_index("ix_impact_items_org_created", "impact_items", ["org_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_impact_items_org_created", table_name="impact_items")
    op.drop_index(op.f("ix_impact_items_impact_id"), table_name="impact_items")
    op.drop_index(op.f("ix_impact_items_action"), table_name="impact_items")
    op.drop_table("impact_items")
    op.drop_index(op.f("ix_impacts_org_id"), table_name="impacts")
    op.drop_index(op.f("ix_impacts_created_at"), table_name="impacts")
    op.drop_table("impacts")
    op.drop_index(op.f("ix_control_history_control_id"), table_name="control_history")
    op.drop_table("control_history")
    op.drop_index("ix_mappings_target", table_name="mappings")
    op.drop_index("ix_mappings_lookup", table_name="mappings")
    op.drop_table("mappings")
    op.drop_index(op.f("ix_controls_org_id"), table_name="controls")
    op.drop_table("controls")
    op.drop_table("organisations")
