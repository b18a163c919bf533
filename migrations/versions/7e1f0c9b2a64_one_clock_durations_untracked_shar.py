"""One clock for durations (SHAR's times, a stored duration, never negative) and the SHAR
instances the dashboard does not track

Revision ID: 7e1f0c9b2a64
Revises: 9b1d4e7a3c20
Create Date: 2026-11-29 06:40:00

Repairs the stored rows: SHAR's start time is recovered from the launch answers kept in the
callback deliveries (the only place the old code kept them); every ended instance gets its
duration computed once, by app.services.durations' rule, and a negative one is raised to 0
with its clock marked "-clamped". Before this revision `completed_at` held SHAR's completion
time whenever SHAR reported one, so with SHAR's start time known the two are SHAR's clock.
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7e1f0c9b2a64"
down_revision = "9b1d4e7a3c20"
branch_labels = None
depends_on = None

ENDED = ("completed", "failed", "cancelled")


def upgrade():
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shar_created_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("shar_completed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("duration_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("duration_clock", sa.String(length=24), nullable=True))
    op.create_table(
        "untracked_shar_instances",
        sa.Column("shar_instance_id", sa.String(length=200), nullable=False),
        sa.Column("workflow_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("correlation_id", sa.String(length=36), nullable=True),
        sa.Column("shar_created_at", sa.DateTime(), nullable=True),
        sa.Column("shar_completed_at", sa.DateTime(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("shar_instance_id"),
    )
    repair(op.get_bind())


def repair(connection):
    """Store SHAR's start time where it can be found; compute every ended instance's duration."""
    instances = sa.table(
        "workflow_instances",
        sa.column("id", sa.String(36)),
        sa.column("status", sa.String(16)),
        sa.column("launched_at", sa.DateTime()),
        sa.column("completed_at", sa.DateTime()),
        sa.column("shar_created_at", sa.DateTime()),
        sa.column("shar_completed_at", sa.DateTime()),
        sa.column("duration_seconds", sa.Float()),
        sa.column("duration_clock", sa.String(24)),
    )
    deliveries = sa.table(
        "webhook_deliveries",
        sa.column("target_type", sa.String(16)),
        sa.column("target_id", sa.String(36)),
        sa.column("job_type", sa.String(40)),
        sa.column("body", sa.Text()),
    )
    started = {}
    for target_id, body in connection.execute(
        sa.select(deliveries.c.target_id, deliveries.c.body).where(
            deliveries.c.target_type == "instance", deliveries.c.job_type == "launch_instance"
        )
    ):
        created = _shar_created_at(body)
        if created is not None:
            started.setdefault(target_id, created)
    rows = connection.execute(
        sa.select(instances.c.id, instances.c.status, instances.c.launched_at, instances.c.completed_at)
    ).all()
    for row_id, status, launched_at, completed_at in rows:
        values = {}
        shar_created_at = started.get(row_id)
        if shar_created_at is not None:
            values["shar_created_at"] = shar_created_at
        if status in ENDED and completed_at is not None:
            if shar_created_at is not None and status != "cancelled":
                values["shar_completed_at"] = completed_at
                seconds, clock = (completed_at - shar_created_at).total_seconds(), "shar"
            elif launched_at is not None:
                seconds, clock = (completed_at - launched_at).total_seconds(), "sharboard"
            else:
                seconds = clock = None
            if seconds is not None and seconds < 0:
                seconds, clock = 0.0, clock + "-clamped"
            values.update(duration_seconds=seconds, duration_clock=clock)
        if values:
            connection.execute(instances.update().where(instances.c.id == row_id).values(**values))


def _shar_created_at(body):
    try:
        data = json.loads(body)
        value = data["data"]["shar_response"]["created_at"]
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, TypeError, KeyError):
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def downgrade():
    op.drop_table("untracked_shar_instances")
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.drop_column("duration_clock")
        batch_op.drop_column("duration_seconds")
        batch_op.drop_column("shar_completed_at")
        batch_op.drop_column("shar_created_at")
