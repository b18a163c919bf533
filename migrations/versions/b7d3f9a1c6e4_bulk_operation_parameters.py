"""bulk_operations.parameters: what an action with parameters acts with (a migration's target
version and element mapping), stored with the operation so its job uses what was previewed.

Revision ID: b7d3f9a1c6e4
Revises: f7c2a4e9b615
Create Date: 2026-12-06 01:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d3f9a1c6e4"
down_revision = "f7c2a4e9b615"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bulk_operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parameters", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("bulk_operations", schema=None) as batch_op:
        batch_op.drop_column("parameters")
