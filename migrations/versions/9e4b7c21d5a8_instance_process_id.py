"""workflow_instances.process_id: launch chooses the process of a multi-process file

Revision ID: 9e4b7c21d5a8
Revises: 7e1f0c9b2a64
Create Date: 2026-11-29 06:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9e4b7c21d5a8"
down_revision = "7e1f0c9b2a64"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_id", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.drop_column("process_id")
