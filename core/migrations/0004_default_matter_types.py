from django.db import migrations


def seed(apps, schema_editor):
    from core.migrations._0004_matter_type_defaults import seed_default_matter_types

    names = ("MatterType", "IntakeQuestion", "DocumentRequirement", "WorkflowStage")
    seed_default_matter_types({name: apps.get_model("core", name) for name in names})


class Migration(migrations.Migration):
    dependencies = [("core", "0003_casework")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
