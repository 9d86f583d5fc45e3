"""Decision rules per model version; a decision id explained once, re-explanations linked.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Explanations stored before this revision may repeat a decision id. The upgrade
keeps the earliest as the decision's explanation and marks each later one as a
re-explanation of the one before it (``re_explains``), so the unique index on
first explanations can be created and no record is changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('model_versions') as batch:
        batch.add_column(sa.Column('decision_rule', sa.JSON(), nullable=True))
    with op.batch_alter_table('explanations') as batch:
        batch.add_column(sa.Column('re_explains', sa.String(length=32), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT id, decision_id FROM explanations ORDER BY decision_id, requested_at, id")).all()
    previous: dict[str, str] = {}
    for explanation_id, decision_id in rows:
        if decision_id in previous:
            connection.execute(sa.text("UPDATE explanations SET re_explains = :earlier WHERE id = :id"),
                               {"earlier": previous[decision_id], "id": explanation_id})
        previous[decision_id] = explanation_id
    op.create_index('uq_explanations_decision_id_first', 'explanations', ['decision_id'], unique=True,
                    sqlite_where=sa.text('re_explains IS NULL'), postgresql_where=sa.text('re_explains IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_explanations_decision_id_first', table_name='explanations')
    with op.batch_alter_table('explanations') as batch:
        batch.drop_column('re_explains')
    with op.batch_alter_table('model_versions') as batch:
        batch.drop_column('decision_rule')
