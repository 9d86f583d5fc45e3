"""Lineage from outside: data version, MLflow back-reference, datasets, DVC, Metaflow; data-reference lookups.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lineage_records') as batch:
        batch.add_column(sa.Column('data_version', sa.Text(), nullable=True))
        batch.add_column(sa.Column('mlflow_run_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('external', sa.JSON(), nullable=True))
        batch.create_index('ix_lineage_records_mlflow_run_id', ['mlflow_run_id'], unique=False)
    op.create_table('lineage_data_refs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lineage_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['lineage_id'], ['lineage_records.id'],
                            name=op.f('fk_lineage_data_refs_lineage_id_lineage_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_data_refs'))
    )
    op.create_index('ix_lineage_data_refs_value', 'lineage_data_refs', ['value'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_lineage_data_refs_value', table_name='lineage_data_refs')
    op.drop_table('lineage_data_refs')
    with op.batch_alter_table('lineage_records') as batch:
        batch.drop_index('ix_lineage_records_mlflow_run_id')
        batch.drop_column('external')
        batch.drop_column('mlflow_run_id')
        batch.drop_column('data_version')
