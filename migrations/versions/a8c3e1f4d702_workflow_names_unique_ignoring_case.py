"""workflow_names: unique ignoring case ("Invoice" beside "invoice" would be taken for one another)

Names are ASCII (services.workflows.NAME_PATTERN), so SQL's lower() is the same on SQLite and
PostgreSQL. A database already holding two names that differ only in case keeps them: the index
is then not created (a warning says which), and the upload check still refuses new ones.

Revision ID: a8c3e1f4d702
Revises: f3b8d2c6a915
Create Date: 2026-11-29 16:50:00

"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "a8c3e1f4d702"
down_revision = "f3b8d2c6a915"
branch_labels = None
depends_on = None


def upgrade():
    clashes = (
        op.get_bind()
        .execute(sa.text("SELECT lower(name) FROM workflow_names GROUP BY lower(name) HAVING count(*) > 1"))
        .scalars()
        .all()
    )
    if clashes:
        logging.getLogger("alembic").warning(
            "workflow names differing only in case exist (%s): uq_workflow_names_lower not created; "
            "rename one of each and run the migration again",
            ", ".join(clashes),
        )
        return
    op.create_index("uq_workflow_names_lower", "workflow_names", [sa.text("lower(name)")], unique=True)


def downgrade():
    op.drop_index("uq_workflow_names_lower", table_name="workflow_names", if_exists=True)
