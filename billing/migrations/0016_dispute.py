"""Disputes (issue 12): ``Dispute`` and its ``DisputeEvidence`` files.

New tables only (no change to existing rows): a previous release keeps serving
(CONVENTIONS §8), it never reads them. Numbered 0016 for the merge of issue
12's branches (0013-0015 are the other branches'); the integrator re-chains
its dependency.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0015_credit_note"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Dispute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "dispute_id",
                    models.CharField(
                        help_text='"dp_" + 24 lowercase hex', max_length=27, unique=True
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("duplicate", "duplicate"),
                            ("wrong_tariff", "wrong tariff"),
                            ("not_received", "not received"),
                            ("other", "other"),
                        ],
                        max_length=16,
                    ),
                ),
                ("evidence_text", models.TextField(blank=True, default="")),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("needs_response", "needs response"),
                            ("under_review", "under review"),
                            ("won", "won"),
                            ("lost", "lost"),
                            ("withdrawn", "withdrawn"),
                        ],
                        default="needs_response",
                        max_length=16,
                    ),
                ),
                (
                    "evidence_due_by",
                    models.DateTimeField(
                        help_text="Opened + MP_DISPUTE_EVIDENCE_DAYS; evidence is refused after."
                    ),
                ),
                (
                    "verification",
                    models.JSONField(
                        help_text="The bundle's verification report when the dispute opened."
                    ),
                ),
                ("verification_ok", models.BooleanField()),
                ("decision_note", models.TextField(blank=True, default="")),
                (
                    "decided_by_label",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="staff username then",
                        max_length=150,
                    ),
                ),
                (
                    "credit_note_id",
                    models.CharField(blank=True, default="", max_length=64),
                ),
                ("opened_at", models.DateTimeField()),
                ("review_started_at", models.DateTimeField(blank=True, null=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("withdrawn_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField()),
                (
                    "bundle",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="disputes",
                        to="billing.bundle",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="disputes",
                        to="billing.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["evidence_due_by", "id"],
            },
        ),
        migrations.CreateModel(
            name="DisputeEvidence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("sha256", models.CharField(max_length=64)),
                ("size_bytes", models.PositiveIntegerField()),
                ("content", models.BinaryField()),
                ("added_at", models.DateTimeField()),
                (
                    "dispute",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="evidence_files",
                        to="billing.dispute",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "dispute evidence",
                "ordering": ["added_at", "id"],
            },
        ),
        migrations.AddIndex(
            model_name="dispute",
            index=models.Index(
                fields=["tenant", "opened_at", "id"], name="dispute_tenant_list_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="dispute",
            index=models.Index(
                fields=["state", "evidence_due_by"], name="dispute_queue_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="dispute",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ["needs_response", "under_review"])),
                fields=("bundle",),
                name="dispute_one_open_per_bundle",
                violation_error_code="dispute_exists",
            ),
        ),
        migrations.AddConstraint(
            model_name="dispute",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("state__in", ["needs_response", "under_review"]),
                    models.Q(
                        ("decided_at__isnull", False), ("state__in", ["won", "lost"])
                    ),
                    models.Q(("state", "withdrawn"), ("withdrawn_at__isnull", False)),
                    _connector="OR",
                ),
                name="dispute_closed_has_time",
                violation_error_code="dispute_state_invalid",
            ),
        ),
    ]
