"""Folders finished after commit (parapheur.services.finishing); a withdrawn folder's step no
longer shown under way."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def withdrawn_steps_wait(apps, schema_editor):
    """A folder withdrawn before this version kept its step under way: it waits, as a rejected
    folder's does."""
    FolderStep = apps.get_model("parapheur", "FolderStep")
    FolderStep.objects.filter(folder__status="cancelled", state="active").update(state="waiting", started_at=None)


class Migration(migrations.Migration):

    dependencies = [
        ('parapheur', '0004_verbose_names'),
        ('registry', '0013_sealed_documents_made_after_commit'),
        ('tenancy', '0004_verbose_names'),
        ('workflow', '0013_verbose_names'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='folder',
            name='finish_attempts',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='folder',
            name='finish_error',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='folder',
            name='finishing',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='folder',
            name='letter',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='registry.sealeddocument'),
        ),
        migrations.AddIndex(
            model_name='folder',
            index=models.Index(condition=models.Q(('finishing', True)), fields=['updated_at'], name='folder_finishing'),
        ),
        migrations.RunPython(withdrawn_steps_wait, migrations.RunPython.noop),
    ]
