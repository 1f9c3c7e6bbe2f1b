"""What a version is to its publication: an edition, a rendition of one, or a companion; whether
it holds only part of the publication; the file's own revision beside the publisher's label; and
a source's companion sources

Revision ID: 0010_renditions
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_renditions"
down_revision = "0001"
branch_labels = ("renditions",)
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("companions", sa.JSON(), nullable=True))
    # batch mode: SQLite cannot add columns with server defaults to a table in place otherwise
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="edition"))
        batch.add_column(sa.Column("rendition_of", sa.String(length=128), nullable=False, server_default=""))
        batch.add_column(sa.Column("partial", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("revision", sa.String(length=128), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("revision")
        batch.drop_column("partial")
        batch.drop_column("rendition_of")
        batch.drop_column("role")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("companions")
