"""bulk_operations: one action over the instances a filter selected, run as one job

Revision ID: e2a9c4b7d813
Revises: d5e8f1a3b602
Create Date: 2026-11-30 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e2a9c4b7d813"
down_revision = "d5e8f1a3b602"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bulk_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_by_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("instance_ids", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bulk_operations", schema=None) as batch_op:
        batch_op.create_index("ix_bulk_operations_requester", ["requested_by", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("bulk_operations", schema=None) as batch_op:
        batch_op.drop_index("ix_bulk_operations_requester")
    op.drop_table("bulk_operations")
