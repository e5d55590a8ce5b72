"""token version replaces tokens_valid_after

Revision ID: d281f50f5259
Revises: 'f3bd1a2efd2c'
Create Date: 2026-11-26 08:39:25.581458
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "d281f50f5259"
down_revision: str | Sequence[str] | None = "f3bd1a2efd2c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# sqlmodel is imported for the column types autogenerate writes (AutoString).
__all__ = ["downgrade", "sa", "sqlmodel", "upgrade"]


def upgrade() -> None:
    # Existing accounts start at version 0; the default exists only while filling them.
    with op.batch_alter_table("gw_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.drop_column("tokens_valid_after")
    with op.batch_alter_table("gw_users", schema=None) as batch_op:
        batch_op.alter_column("token_version", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("gw_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tokens_valid_after", sa.INTEGER(), nullable=False, server_default="0")
        )
        batch_op.drop_column("token_version")
    with op.batch_alter_table("gw_users", schema=None) as batch_op:
        batch_op.alter_column("tokens_valid_after", server_default=None)
