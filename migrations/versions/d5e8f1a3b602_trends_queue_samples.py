"""trends: queue_samples (the scheduler's samples of each queue) and an index on completed_at

Revision ID: d5e8f1a3b602
Revises: c7a2e5d91f36
Create Date: 2026-11-29 10:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d5e8f1a3b602"
down_revision = "c7a2e5d91f36"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "queue_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sampled_at", sa.DateTime(), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("open_jobs", sa.Integer(), nullable=False),
        sa.Column("failed_jobs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("queue_samples", schema=None) as batch_op:
        batch_op.create_index("ix_queue_samples_sampled_at", ["sampled_at"], unique=False)
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.create_index("ix_instances_completed_at", ["completed_at"], unique=False)


def downgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_instances_completed_at")
    with op.batch_alter_table("queue_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_samples_sampled_at")
    op.drop_table("queue_samples")
