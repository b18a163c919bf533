"""workflows.counts_revision: the version of a diagram's counts, moved by every write that may change them

Revision ID: c3e7a9d2f514
Revises: b9f2c4d7e1a3
Create Date: 2026-12-05 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3e7a9d2f514"
down_revision = "b9f2c4d7e1a3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counts_revision", sa.BigInteger(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_column("counts_revision")
