"""Rename ``MeterEvent.event_hash`` and ``ReplayReservation.request_hash`` to
``meter_hash`` (the protocol's name for SHA-256(JCS(event))).

Changes no schema: each field first pins its existing column with
``db_column``, then is renamed in Python only, so ``sqlmigrate`` emits no SQL
and a previous release keeps reading and writing the same columns
(CONVENTIONS §8).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_remove_bundle_log_entry"),
    ]

    operations = [
        migrations.AlterField(
            model_name="meterevent",
            name="event_hash",
            field=models.CharField(db_column="event_hash", max_length=64),
        ),
        migrations.RenameField(
            model_name="meterevent",
            old_name="event_hash",
            new_name="meter_hash",
        ),
        migrations.AlterField(
            model_name="replayreservation",
            name="request_hash",
            field=models.CharField(db_column="request_hash", max_length=64),
        ),
        migrations.RenameField(
            model_name="replayreservation",
            old_name="request_hash",
            new_name="meter_hash",
        ),
    ]
