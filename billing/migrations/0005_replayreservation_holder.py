from django.db import migrations, models


class Migration(migrations.Migration):
    """Add ``ReplayReservation.holder``: a dead reserving attempt is detected in
    seconds (nullable, so the previous release keeps serving)."""

    dependencies = [
        ("billing", "0004_bundle_proof_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="replayreservation",
            name="holder",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
