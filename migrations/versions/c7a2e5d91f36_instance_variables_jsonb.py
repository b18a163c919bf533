"""workflow_instances.variables: JSONB with a GIN index on PostgreSQL, to find instances by a variable

Equality on a variable (`variables @> '{"orderId": "A1"}'`) reads the GIN index
(jsonb_path_ops: containment only, and smaller than the default jsonb_ops). SQLite keeps its
JSON text and answers with json_extract; nothing changes there.

On PostgreSQL the column is rewritten (ALTER ... TYPE takes the table's lock for the length of
the rewrite). JSONB cannot hold the character U+0000 that json text may: the few rows whose
variables hold one get U+FFFD in its place first, so the conversion cannot fail on them.

Revision ID: c7a2e5d91f36
Revises: b4d1e6f09a27
Create Date: 2026-11-30 09:00:00

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7a2e5d91f36"
down_revision = "b4d1e6f09a27"
branch_labels = None
depends_on = None


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    rows = conn.execute(
        sa.text("SELECT id, variables::text FROM workflow_instances WHERE strpos(variables::text, '\\u0000') > 0")
    ).all()
    for instance_id, text in rows:
        conn.execute(
            sa.text("UPDATE workflow_instances SET variables = CAST(:v AS json) WHERE id = :i"),
            {"v": json.dumps(_without_nul(json.loads(text))), "i": instance_id},
        )
    op.execute("ALTER TABLE workflow_instances ALTER COLUMN variables TYPE JSONB USING variables::jsonb")
    op.create_index(
        "ix_instances_variables",
        "workflow_instances",
        ["variables"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"variables": "jsonb_path_ops"},
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_instances_variables", table_name="workflow_instances")
    op.execute("ALTER TABLE workflow_instances ALTER COLUMN variables TYPE JSON USING variables::json")
