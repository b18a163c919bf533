"""users.session_key: sign-out and password change end existing sessions

Revision ID: 40a7353a603d
Revises: 5c2d8e41a7b3
Create Date: 2026-11-29 05:50:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "40a7353a603d"
down_revision = "5c2d8e41a7b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_key", sa.String(length=64), nullable=True))
    # Every existing user gets their own random key (sessions signed in before this migration end).
    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("session_key", sa.String(64)))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(users.update().where(users.c.id == user_id).values(session_key=secrets.token_hex(16)))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("session_key", existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_key")
