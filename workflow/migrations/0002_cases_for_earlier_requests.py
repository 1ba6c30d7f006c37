"""Open a case for every incoming correspondence registered before the processing desk existed.

They get the general delay of law 55-19 (60 calendar days from registration), no procedure
and no silence rule; their receipts, already issued, are not changed.
"""

from django.db import migrations


def open_cases(apps, schema_editor):  # type: ignore[no-untyped-def]
    from workflow.calendar import BusinessCalendar, local_date

    Correspondence = apps.get_model("registry", "Correspondence")
    Case = apps.get_model("workflow", "Case")
    calendar = BusinessCalendar()
    pending = Correspondence.objects.filter(direction="incoming", case__isnull=True, in_reply_to__isnull=True)
    batch = []
    for c in pending.iterator(chunk_size=2000):
        registered_on = local_date(c.registered_at)
        batch.append(
            Case(
                correspondence_id=c.pk,
                administration_id=c.administration_id,
                status="assigned" if c.recipient_service_id else "registered",
                service_id=c.recipient_service_id,
                registered_on=registered_on,
                delay_days=60,
                delay_kind="calendar",
                silence_rule="none",
                due_on=calendar.due_date(registered_on, 60, "calendar"),
                updated_at=c.registered_at,
            )
        )
        if len(batch) >= 2000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial"), ("registry", "0003_correspondence_in_reply_to_correspondence_terms_and_more")]

    operations = [migrations.RunPython(open_cases, migrations.RunPython.noop)]
