"""The security event log refuses UPDATE in the database too, not only in the app: a row once
written says what happened for good. (DELETE stays possible only as a firm's own deletion
cascades; the app and the admin refuse it.) PostgreSQL only: the SQLite demo relies on the app."""

from django.db import migrations

CREATE = """
CREATE FUNCTION tenants_securityevent_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'security events are append-only: a recorded one never changes';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tenants_securityevent_append_only
    BEFORE UPDATE ON tenants_securityevent
    FOR EACH ROW EXECUTE FUNCTION tenants_securityevent_refuse_update();
"""

DROP = """
DROP TRIGGER IF EXISTS tenants_securityevent_append_only ON tenants_securityevent;
DROP FUNCTION IF EXISTS tenants_securityevent_refuse_update();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_security_event")]

    operations = [migrations.RunPython(create, drop)]
