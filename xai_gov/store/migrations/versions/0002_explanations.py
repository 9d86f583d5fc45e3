"""Explanations: one stored record per explained decision.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op




revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('explanations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.String(length=200), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('instance_sha256', sa.String(length=64), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('record_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], name=op.f('fk_explanations_model_version_id_model_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_explanations'))
    )
    with op.batch_alter_table('explanations', schema=None) as batch_op:
        batch_op.create_index('ix_explanations_decision_id', ['decision_id'], unique=False)
        batch_op.create_index('ix_explanations_requested_at', ['requested_at'], unique=False)
        batch_op.create_index('ix_explanations_requested_by', ['requested_by'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('explanations', schema=None) as batch_op:
        batch_op.drop_index('ix_explanations_requested_by')
        batch_op.drop_index('ix_explanations_requested_at')
        batch_op.drop_index('ix_explanations_decision_id')

    op.drop_table('explanations')

