"""failed_job_groups: the failed jobs counted by job type and error shape, kept by the database

The failed-jobs page grouped every failed row on each view (an index-only scan of all of them:
11 ms at 100,000 failed jobs, the whole difference from the page with 100). The counts are now
kept in a table by triggers on job_records, so every write counts, including bulk deletes
(flush, prune) and SQL run by hand; the page reads one row per group.

A batch migration of job_records on SQLite copies the table and drops these triggers: such a
migration must create them again (tests/integration/test_migrations.py counts after upgrade).

Revision ID: c3e7a1d5f9b2
Revises: c3e7a9d2f514
Create Date: 2026-12-05 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c3e7a1d5f9b2"
down_revision = "c3e7a9d2f514"
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

# (trigger, event, condition, row whose group changes, change): the same four on both databases.
# The condition keeps every other write (a job queued, run, succeeded) from reaching the counts.
_TRIGGERS = [
    ("failed_jobs_inserted", "INSERT", "NEW.state = 'failed'", "NEW", _ADD),
    ("failed_jobs_deleted", "DELETE", "OLD.state = 'failed'", "OLD", _REMOVE),
    ("failed_jobs_left", "UPDATE OF state, job_type, error_shape", "OLD.state = 'failed'", "OLD", _REMOVE),
    ("failed_jobs_entered", "UPDATE OF state, job_type, error_shape", "NEW.state = 'failed'", "NEW", _ADD),
]


def _create_triggers(postgresql: bool) -> None:
    for name, event, condition, row, change in _TRIGGERS:
        body = change.format(r=row)
        if postgresql:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
            )
            body = f"FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION {name}()"
        else:
            body = f"WHEN {condition} BEGIN {body} END"
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON job_records {body}")


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
    _create_triggers(postgresql)
    op.execute(
        "INSERT INTO failed_job_groups (job_type, error_shape, jobs) SELECT job_type, coalesce(error_shape, ''),"
        " count(*) FROM job_records WHERE state = 'failed' GROUP BY job_type, coalesce(error_shape, '')"
    )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, *_ in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON job_records" if postgresql else f"DROP TRIGGER {name}")
        if postgresql:
            op.execute(f"DROP FUNCTION {name}()")
    op.drop_table("failed_job_groups")
