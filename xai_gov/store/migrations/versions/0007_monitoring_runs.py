"""Monitoring runs: window, input hashes, results and policy verdict of each run.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitoring_runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('run_at', sa.DateTime(), nullable=False),
    sa.Column('run_by', sa.String(length=200), nullable=False),
    sa.Column('window_since', sa.DateTime(), nullable=True),
    sa.Column('window_until', sa.DateTime(), nullable=False),
    sa.Column('decisions', sa.Integer(), nullable=False),
    sa.Column('inputs_sha256', sa.String(length=64), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('record_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'],
                            name=op.f('fk_monitoring_runs_model_version_id_model_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_runs'))
    )
    op.create_index('ix_monitoring_runs_model_version_id', 'monitoring_runs', ['model_version_id'], unique=False)
    op.create_index('ix_monitoring_runs_run_at', 'monitoring_runs', ['run_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_monitoring_runs_run_at', table_name='monitoring_runs')
    op.drop_index('ix_monitoring_runs_model_version_id', table_name='monitoring_runs')
    op.drop_table('monitoring_runs')
