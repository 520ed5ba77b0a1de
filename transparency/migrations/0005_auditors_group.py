# Data migration (no schema change): the "auditors" group of the auditor web UI
# (/audit/), with view permissions on the log's rows.

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "auditors"
PERMISSIONS = (
    "view_logentry",
    "view_checkpoint",
    "view_cosignature",
)


def forward(apps, schema_editor):
    """Create the group and grant it the view permissions."""
    # Permissions are normally created after migrate (post_migrate); create
    # them now so a fresh database can grant them here.
    for label in ("transparency",):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="transparency", codename__in=PERMISSIONS
        )
    )


def reverse(apps, schema_editor):
    """Delete the group (its members keep their accounts)."""
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("transparency", "0004_checkpoint_head_index"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forward, reverse)]
