"""failed_job_groups: the failed jobs counted by job type and error shape, kept by the database

The failed-jobs page grouped every failed row on each view (an index-only scan of all of them:
11 ms at 100,000 failed jobs, the whole difference from the page with 100). The counts are now
kept in a table by triggers on job_records, so every write counts, including bulk deletes
(flush, prune) and SQL run by hand; the page reads one row per group.

A batch migration of job_records on SQLite copies the table and drops these triggers: such a
migration must create them again (tests/integration/test_migrations.py counts after upgrade).

Revision ID: c3e7a1d5f9b2
Revises: b9f2c4d7e1a3
Create Date: 2026-12-05 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c3e7a1d5f9b2"
down_revision = "b9f2c4d7e1a3"
branch_labels = None
depends_on = None

# One failed job more or less in its group; a group at zero goes, so the table holds only groups
# with failed jobs. The key is failed_groups's: job type and the shape, '' for none.
_ADD = (
    "INSERT INTO failed_job_groups (job_type, error_shape, jobs)"
    " VALUES ({r}.job_type, coalesce({r}.error_shape, ''), 1)"
    " ON CONFLICT (job_type, error_shape) DO UPDATE SET jobs = failed_job_groups.jobs + 1;"
)
_KEY = "job_type = {r}.job_type AND error_shape = coalesce({r}.error_shape, '')"
_REMOVE = (
    f"UPDATE failed_job_groups SET jobs = jobs - 1 WHERE {_KEY};"
    f" DELETE FROM failed_job_groups WHERE {_KEY} AND jobs <= 0;"
)

_POSTGRESQL = [
    f"""CREATE FUNCTION count_failed_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF OLD.state = 'failed' THEN {_REMOVE.format(r="OLD")} END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.state = 'failed' THEN {_ADD.format(r="NEW")} END IF;
  END IF;
  RETURN NULL;
END $$""",
    "CREATE TRIGGER count_failed_jobs AFTER INSERT OR DELETE OR UPDATE OF state, job_type, error_shape"
    " ON job_records FOR EACH ROW EXECUTE FUNCTION count_failed_jobs()",
]
_SQLITE = [
    "CREATE TRIGGER failed_jobs_inserted AFTER INSERT ON job_records WHEN NEW.state = 'failed'"
    f" BEGIN {_ADD.format(r='NEW')} END",
    "CREATE TRIGGER failed_jobs_deleted AFTER DELETE ON job_records WHEN OLD.state = 'failed'"
    f" BEGIN {_REMOVE.format(r='OLD')} END",
    "CREATE TRIGGER failed_jobs_left AFTER UPDATE OF state, job_type, error_shape ON job_records"
    f" WHEN OLD.state = 'failed' BEGIN {_REMOVE.format(r='OLD')} END",
    "CREATE TRIGGER failed_jobs_entered AFTER UPDATE OF state, job_type, error_shape ON job_records"
    f" WHEN NEW.state = 'failed' BEGIN {_ADD.format(r='NEW')} END",
]


def upgrade():
    op.create_table(
        "failed_job_groups",
        sa.Column("job_type", sa.String(length=40), nullable=False),
        sa.Column("error_shape", sa.String(length=300), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("job_type", "error_shape"),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # no write to job_records between the triggers and the count below
        op.execute("LOCK TABLE job_records IN SHARE ROW EXCLUSIVE MODE")
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO failed_job_groups (job_type, error_shape, jobs) SELECT job_type, coalesce(error_shape, ''),"
        " count(*) FROM job_records WHERE state = 'failed' GROUP BY job_type, coalesce(error_shape, '')"
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER count_failed_jobs ON job_records")
        op.execute("DROP FUNCTION count_failed_jobs()")
    else:
        for name in ("failed_jobs_inserted", "failed_jobs_deleted", "failed_jobs_left", "failed_jobs_entered"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("failed_job_groups")
