"""shar_features: which optional gateway calls (move, variables, migrate) this SHAR does not offer.

Revision ID: f7c2a4e9b615
Revises: a7c3e5f1b924
Create Date: 2026-12-06 01:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f7c2a4e9b615"
down_revision = "a7c3e5f1b924"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shar_features",
        sa.Column("call", sa.String(length=40), nullable=False),
        sa.Column("offered", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("call"),
    )


def downgrade():
    op.drop_table("shar_features")
