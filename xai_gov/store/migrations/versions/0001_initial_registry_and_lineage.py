"""Initial schema: artifacts, registered models, versions, lineage, aliases and their moves.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op




revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('artifacts',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_artifacts'))
    )
    op.create_table('registered_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registered_models')),
    sa.UniqueConstraint('name', name=op.f('uq_registered_models_name'))
    )
    op.create_table('alias_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=100), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=True),
    sa.Column('to_version', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('moved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_alias_events_model_id_registered_models')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alias_events'))
    )
    op.create_table('model_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('adapter_spec', sa.JSON(), nullable=False),
    sa.Column('artifact_sha256', sa.String(length=64), nullable=True),
    sa.Column('feature_schema', sa.JSON(), nullable=False),
    sa.Column('background_sha256', sa.String(length=64), nullable=False),
    sa.Column('background_rows', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('registered_at', sa.DateTime(), nullable=False),
    sa.Column('registered_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['artifact_sha256'], ['artifacts.sha256'], name=op.f('fk_model_versions_artifact_sha256_artifacts')),
    sa.ForeignKeyConstraint(['background_sha256'], ['artifacts.sha256'], name=op.f('fk_model_versions_background_sha256_artifacts')),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_model_versions_model_id_registered_models')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('model_id', 'version', name='uq_model_versions_model_id_version')
    )
    op.create_table('lineage_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('code_repository', sa.Text(), nullable=True),
    sa.Column('code_commit', sa.String(length=64), nullable=True),
    sa.Column('code_dirty', sa.Boolean(), nullable=True),
    sa.Column('data_sha256', sa.String(length=80), nullable=True),
    sa.Column('data_rows', sa.BigInteger(), nullable=True),
    sa.Column('data_source_uri', sa.Text(), nullable=True),
    sa.Column('trainer', sa.String(length=200), nullable=True),
    sa.Column('training_started_at', sa.DateTime(), nullable=True),
    sa.Column('training_ended_at', sa.DateTime(), nullable=True),
    sa.Column('hyperparameters', sa.JSON(), nullable=False),
    sa.Column('seeds', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('environment', sa.JSON(), nullable=False),
    sa.Column('parent_version', sa.String(length=220), nullable=True),
    sa.Column('approver', sa.String(length=200), nullable=True),
    sa.Column('missing', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], name=op.f('fk_lineage_records_model_version_id_model_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_records')),
    sa.UniqueConstraint('model_version_id', name=op.f('uq_lineage_records_model_version_id'))
    )
    with op.batch_alter_table('lineage_records', schema=None) as batch_op:
        batch_op.create_index('ix_lineage_records_code_commit', ['code_commit'], unique=False)
        batch_op.create_index('ix_lineage_records_data_sha256', ['data_sha256'], unique=False)
        batch_op.create_index('ix_lineage_records_trainer', ['trainer'], unique=False)
        batch_op.create_index('ix_lineage_records_training_started_at', ['training_started_at'], unique=False)

    op.create_table('model_aliases',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=100), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_model_aliases_model_id_registered_models')),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], name=op.f('fk_model_aliases_model_version_id_model_versions')),
    sa.PrimaryKeyConstraint('model_id', 'alias', name=op.f('pk_model_aliases'))
    )



def downgrade() -> None:

    op.drop_table('model_aliases')
    with op.batch_alter_table('lineage_records', schema=None) as batch_op:
        batch_op.drop_index('ix_lineage_records_training_started_at')
        batch_op.drop_index('ix_lineage_records_trainer')
        batch_op.drop_index('ix_lineage_records_data_sha256')
        batch_op.drop_index('ix_lineage_records_code_commit')

    op.drop_table('lineage_records')
    op.drop_table('model_versions')
    op.drop_table('alias_events')
    op.drop_table('registered_models')
    op.drop_table('artifacts')

