"""On PostgreSQL, a trigger refusing UPDATE and DELETE of audit records, so
the trail stays append-only even for code that bypasses the model (raw SQL
from the application's role). No schema change; nothing on other databases
(the model and its queryset refuse there). Reversible: the reverse drops the
trigger and its function. TRUNCATE is not refused (test databases are
flushed with it); the chain verifier still sees a trail cut that way when
the auditor pins a head.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_record_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_append_only: audit records are never changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_record_append_only
    BEFORE UPDATE OR DELETE ON audittrail_auditrecord
    FOR EACH ROW EXECUTE FUNCTION audit_record_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_record_append_only ON audittrail_auditrecord;
DROP FUNCTION IF EXISTS audit_record_refuse_change();
"""


def forward(apps, schema_editor):
    """Install the trigger on PostgreSQL only."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def reverse(apps, schema_editor):
    """Drop the trigger on PostgreSQL only."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("audittrail", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse, elidable=False)]
