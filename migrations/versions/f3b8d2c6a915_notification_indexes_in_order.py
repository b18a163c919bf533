"""notifications: indexes in the order they are read (newest first), the unread ones partial

The bell (polled by every open page) reads a user's newest unread notifications and the
notifications page their newest; (user_id, read_at, created_at) could give neither in order
(PostgreSQL does not order by created_at after an IS NULL condition), so both read and sorted
every notification of the user.

Revision ID: f3b8d2c6a915
Revises: e2a9c4b7d813
Create Date: 2026-11-29 15:35:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3b8d2c6a915"
down_revision = "e2a9c4b7d813"
branch_labels = None
depends_on = None

UNREAD = sa.text("read_at IS NULL")


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_unread")
        batch_op.create_index("ix_notifications_user_newest", ["user_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_notifications_user_unread_newest",
            ["user_id", "created_at"],
            unique=False,
            postgresql_where=UNREAD,
            sqlite_where=UNREAD,
        )


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_unread_newest")
        batch_op.drop_index("ix_notifications_user_newest")
        batch_op.create_index("ix_notifications_user_unread", ["user_id", "read_at", "created_at"], unique=False)
