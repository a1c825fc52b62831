"""The database refuses an inventory row whose data key is not wrapped under the firm's primary KEK.

Writers wrap file keys under a primary KEK they may have looked up a while ago
(``kms.keys.wrap_many(cached=True)``); after a rotation or a destroyed key
class that version is no longer primary, and this trigger refuses the row with
SQLSTATE ``PK409`` (``kms.keys.STALE_PRIMARY``). The storage then wraps the
same data key again under the primary the database has now and retries, so
no object is ever recorded under a stale version, whichever process wrote it.
Re-wrapping during rotation (an UPDATE) is not checked here.
"""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION residency_storedobject_primary_kek() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1
        FROM public.kms_keyencryptionkey kek
        JOIN public.tenants_tenant firm ON firm.id = kek.tenant_id
        WHERE firm.schema_name = TG_TABLE_SCHEMA
          AND kek.key_class = NEW.key_class
          AND kek.version = NEW.kek_version
          AND kek.is_primary
    ) THEN
        RAISE EXCEPTION 'stored object %: its data key is wrapped under % key version %, which is not the primary',
            NEW.name, NEW.key_class, NEW.kek_version
            USING ERRCODE = 'PK409';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER residency_storedobject_primary_kek
    BEFORE INSERT ON residency_storedobject
    FOR EACH ROW EXECUTE FUNCTION residency_storedobject_primary_kek();
"""

REVERSE = """
DROP TRIGGER residency_storedobject_primary_kek ON residency_storedobject;
DROP FUNCTION residency_storedobject_primary_kek();
"""


class Migration(migrations.Migration):
    # The trigger reads kms' keys and the tenants table in the public schema.
    dependencies = [("residency", "0001_initial"), ("kms", "0001_initial"), ("tenants", "0001_initial")]

    operations = [migrations.RunSQL(FUNCTION, REVERSE)]
