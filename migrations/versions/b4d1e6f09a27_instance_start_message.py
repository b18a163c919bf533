"""workflow_instances.start_message: a launch may start a process at its message start event

Revision ID: b4d1e6f09a27
Revises: 9e4b7c21d5a8
Create Date: 2026-11-29 10:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b4d1e6f09a27"
down_revision = "9e4b7c21d5a8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_message", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.drop_column("start_message")
