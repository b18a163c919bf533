"""one word per concept: what an activity, a notification or a delivery is about is its target

Activity events, notifications and webhook deliveries said `subject_*` where jobs and the audit
log said `target_*`; they now all say target. Failed jobs are listed newest first by state and
finish time, so that pair gets an index.

Revision ID: 7e3f1a9c2b54
Revises: 40a7353a603d
Create Date: 2026-11-29 06:30:00

"""

from alembic import op

revision = "7e3f1a9c2b54"
down_revision = "40a7353a603d"
branch_labels = None
depends_on = None

RENAMES = (
    ("activity_events", "ix_activity_subject", "ix_activity_target", ["created_at"]),
    ("webhook_deliveries", "ix_webhooks_subject", "ix_webhooks_target", []),
)


def upgrade():
    for table, old_index, new_index, extra in RENAMES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(old_index)
            batch_op.alter_column("subject_type", new_column_name="target_type")
            batch_op.alter_column("subject_id", new_column_name="target_id")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(new_index, ["target_type", "target_id", *extra], unique=False)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_once", type_="unique")
        batch_op.alter_column("subject_type", new_column_name="target_type")
        batch_op.alter_column("subject_id", new_column_name="target_id")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_notifications_once", ["user_id", "kind", "target_id"])
    with op.batch_alter_table("job_records", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_state_finished", ["state", "finished_at"], unique=False)


def downgrade():
    with op.batch_alter_table("job_records", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_state_finished")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_once", type_="unique")
        batch_op.alter_column("target_type", new_column_name="subject_type")
        batch_op.alter_column("target_id", new_column_name="subject_id")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_notifications_once", ["user_id", "kind", "subject_id"])
    for table, old_index, new_index, extra in RENAMES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(new_index)
            batch_op.alter_column("target_type", new_column_name="subject_type")
            batch_op.alter_column("target_id", new_column_name="subject_id")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(old_index, ["subject_type", "subject_id", *extra], unique=False)
