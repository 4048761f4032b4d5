"""Identity hardening: per-user token version, login attempt counters (security issue M1-M3).

Revision ID: 0310_identity
Revises: 0300_pin_verifiers
Create Date: 2026-11-30 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0310_identity'
down_revision = '0300_pin_verifiers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: filled in by the change that owns this revision


def downgrade() -> None:
    pass
