"""users.time_zone: the zone a person reads times in (an IANA name; NULL is UTC).

Revision ID: e6b1d4a8c273
Revises: c3e7a1d5f9b2
Create Date: 2026-12-05 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e6b1d4a8c273"
down_revision = "c3e7a1d5f9b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
