"""bulk_previews: the instances a bulk preview showed, so a changed confirmation can say how

Revision ID: b9f2c4d7e1a3
Revises: b4d9e2f7a131
Create Date: 2026-12-04 23:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b9f2c4d7e1a3"
down_revision = "b4d9e2f7a131"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bulk_previews",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("instance_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint"),
    )
    with op.batch_alter_table("bulk_previews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulk_previews_created_at"), ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("bulk_previews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulk_previews_created_at"))
    op.drop_table("bulk_previews")
