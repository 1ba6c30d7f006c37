"""Letters from administrations carry no legal delay (law 55-19's delays are owed to users).

A case may now have no delay (``delay_days`` empty, no kind, no due date). The cases already
opened for letters from an administration that name no procedure (the exchange, internal notes,
counter mail from an administration) lose the 60 days they were given by mistake: no due date,
no reminder to come, never counted late. Their receipts, already sealed, are not changed (the
register log holds what they state).
"""

from django.db import migrations, models


def clear_delays(apps, schema_editor):  # type: ignore[no-untyped-def]
    Case = apps.get_model("workflow", "Case")
    Case.objects.filter(procedure__isnull=True, correspondence__sender_kind="administration").update(
        delay_days=None, delay_kind="", due_on=None, silence_rule="none", remind_on=None, remind_point=""
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_checkpoint_chain"),
        ("workflow", "0010_letter_templates_plain_variables"),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="delay_days",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="case",
            name="delay_kind",
            field=models.CharField(
                blank=True, choices=[("calendar", "calendar days"), ("working", "working days")], max_length=10
            ),
        ),
        migrations.RunPython(clear_delays, migrations.RunPython.noop),
    ]
