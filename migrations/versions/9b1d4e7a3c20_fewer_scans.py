"""fewer scans: failed jobs keep the shape of their error, lists filtered by status read an index

The failed-jobs page grouped every failed row in Python with a regular expression on each
request; the shape is now stored when a job fails and grouped in SQL (existing failed rows
are given theirs here).

Revision ID: 9b1d4e7a3c20
Revises: 7e3f1a9c2b54
Create Date: 2026-11-29 07:00:00

"""

import re

import sqlalchemy as sa
from alembic import op

revision = "9b1d4e7a3c20"
down_revision = "7e3f1a9c2b54"
branch_labels = None
depends_on = None

# The rule of app.jobs.errors.error_shape as of this revision (a migration must not change
# when the app's does).
_VOLATILE = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|\b[0-9a-f]{12,}\b|\b\w*\d\w*\b|'[^']*'|\"[^\"]*\"", re.I)


def upgrade():
    with op.batch_alter_table("job_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_shape", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_jobs_state_type_shape", ["state", "job_type", "error_shape"], unique=False)
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.create_index("ix_instances_status_created", ["status", "created_at"], unique=False)
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, last_error FROM job_records WHERE state = 'failed'")).all()
    for job_id, error in rows:
        conn.execute(
            sa.text("UPDATE job_records SET error_shape = :s WHERE id = :i"),
            {"s": _VOLATILE.sub("…", error or "")[:300], "i": job_id},
        )


def downgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_instances_status_created")
    with op.batch_alter_table("job_records", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state_type_shape")
        batch_op.drop_column("error_shape")
