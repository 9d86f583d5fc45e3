"""Batch jobs: their state, kept in the store so every service process answers for every job.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batch_jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('job', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_jobs'))
    )
    op.create_index('ix_batch_jobs_submitted_at', 'batch_jobs', ['submitted_at'], unique=False)
    op.create_index('ix_batch_jobs_requested_by', 'batch_jobs', ['requested_by'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_batch_jobs_requested_by', table_name='batch_jobs')
    op.drop_index('ix_batch_jobs_submitted_at', table_name='batch_jobs')
    op.drop_table('batch_jobs')
