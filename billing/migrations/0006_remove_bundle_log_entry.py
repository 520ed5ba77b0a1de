"""Remove the deprecated ``Bundle.log_entry`` link from the model state only.

Changes no schema: the ``log_entry_id`` column stays in the database (it is
nullable, so inserts that omit it store NULL on PostgreSQL and SQLite), and
the previous release, which still has the field but never writes it, keeps
serving (CONVENTIONS §8). Nothing reads or writes it since
``0003_backfill_bundle_leaf_hash`` moved every link to ``Bundle.leaf_hash``.
The column, its unique index and its foreign key are dropped in a later
release. Reversible: the reverse puts the field back into the state.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_replayreservation_holder"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="bundle", name="log_entry"),
            ],
            database_operations=[],
        ),
    ]
