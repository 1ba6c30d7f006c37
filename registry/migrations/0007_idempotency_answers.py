"""Idempotency keys keep the answer given (replayed to a retry) and the attempt holding them.

A key kept before this migration was bound to the correspondence it registered: it carries over
as an answered key whose answer is rebuilt from that correspondence on a retry.
"""

from django.db import migrations, models
from django.db.models import F


def keys_carry_over(apps, schema_editor):
    IdempotencyKey = apps.get_model("registry", "IdempotencyKey")
    IdempotencyKey.objects.update(
        object_id=F("correspondence_id"), claimed_at=F("created_at"), completed_at=F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_checkpoint_chain"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="lease",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="claimed_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="object_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="response_status",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="response_body",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="completed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(keys_carry_over, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="idempotencykey",
            name="claimed_at",
            field=models.DateTimeField(),
        ),
        migrations.RemoveField(
            model_name="idempotencykey",
            name="correspondence",
        ),
        migrations.AddIndex(
            model_name="idempotencykey",
            index=models.Index(fields=["created_at"], name="idempotency_key_created"),
        ),
    ]
