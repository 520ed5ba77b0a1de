"""Backfill ``Bundle.leaf_hash`` from the deprecated ``log_entry`` link.

Changes no schema. Reversible: the reverse clears the backfilled column.
"""

from django.db import migrations


def forward(apps, schema_editor):
    Bundle = apps.get_model("billing", "Bundle")
    LogEntry = apps.get_model("transparency", "LogEntry")
    todo = Bundle.objects.filter(leaf_hash__isnull=True, log_entry__isnull=False)
    for bundle_id, leaf_index in todo.values_list("id", "log_entry_id").iterator():
        leaf_hash = LogEntry.objects.get(leaf_index=leaf_index).leaf_hash
        Bundle.objects.filter(id=bundle_id).update(leaf_hash=leaf_hash)


def reverse(apps, schema_editor):
    Bundle = apps.get_model("billing", "Bundle")
    Bundle.objects.filter(log_entry__isnull=False).update(leaf_hash=None)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_bundle_leaf_hash"),
        ("transparency", "0002_queued_entries_unique_leaf_hash"),
    ]

    operations = [migrations.RunPython(forward, reverse)]
