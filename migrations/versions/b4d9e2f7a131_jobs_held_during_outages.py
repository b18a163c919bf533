"""jobs held while SHAR is unreachable: job_records.held_since and held_tries, and shar_outages

Revision ID: b4d9e2f7a131
Revises: a8c3e1f4d702
Create Date: 2026-12-04 23:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b4d9e2f7a131"
down_revision = "a8c3e1f4d702"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job_records") as batch:
        batch.add_column(sa.Column("held_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("held_tries", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "shar_outages",
        sa.Column("name", sa.String(length=60), primary_key=True),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ramp", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade():
    op.drop_table("shar_outages")
    with op.batch_alter_table("job_records") as batch:
        batch.drop_column("held_tries")
        batch.drop_column("held_since")
