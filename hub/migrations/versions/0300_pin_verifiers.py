"""Per-outlet PIN verifiers for hub-managed staff (security issue H2).

Revision ID: 0300_pin_verifiers
Revises: 0200_staff
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0300_pin_verifiers'
down_revision = '0200_staff'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: filled in by the change that owns this revision


def downgrade() -> None:
    pass
