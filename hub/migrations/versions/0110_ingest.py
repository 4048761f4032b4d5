"""Set-based ingest: a kitchen event is unique by (ticket, action, at).

The hub inserts a batch's kitchen events with ``ON CONFLICT DO NOTHING``; this index makes
that skip an event held under another id (a re-chained journal epoch) in the same statement,
instead of a read per batch. It replaces the plain index on ``ticket_id`` (its prefix).

Revision ID: 0110_ingest
Revises: 0100_sync
Create Date: 2026-11-29 09:15:00
"""

from __future__ import annotations

from alembic import op

revision = '0110_ingest'
down_revision = '0100_sync'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kitchen_events', schema=None) as batch_op:
        batch_op.drop_index('ix_kitchen_events_ticket_id')
        batch_op.create_index('uq_kitchen_events_ticket_action_at', ['ticket_id', 'action', 'at'],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table('kitchen_events', schema=None) as batch_op:
        batch_op.drop_index('uq_kitchen_events_ticket_action_at')
        batch_op.create_index('ix_kitchen_events_ticket_id', ['ticket_id'], unique=False)
