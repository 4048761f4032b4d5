"""Database roles: the app connects as a non-owner role; RLS bypass only for the jobs role (M4).

Revision ID: 0320_roles
Revises: 0310_identity
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0320_roles'
down_revision = '0310_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: filled in by the change that owns this revision


def downgrade() -> None:
    pass
