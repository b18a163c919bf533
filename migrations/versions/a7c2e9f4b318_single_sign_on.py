"""Single sign-on: users.sso_subject, the role-mapping policy and its value -> role rows.

Revision ID: a7c2e9f4b318
Revises: e6b1d4a8c273
Create Date: 2026-12-10 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c2e9f4b318"
down_revision = "e6b1d4a8c273"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=512), nullable=True))
        batch_op.create_unique_constraint("uq_users_sso_subject", ["sso_subject"])
    op.create_table(
        "sso_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim", sa.String(length=100), nullable=False),
        sa.Column("default_role", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sso_role_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_value", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_value"),
    )


def downgrade():
    op.drop_table("sso_role_rules")
    op.drop_table("sso_policy")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_sso_subject", type_="unique")
        batch_op.drop_column("sso_subject")
