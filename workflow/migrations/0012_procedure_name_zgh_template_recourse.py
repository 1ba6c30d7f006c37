"""Procedures get an Amazigh (Tifinagh) name beside the Arabic and French ones; letter templates
get the route of recourse a rejection states (its own box on the letter). Both empty for what
exists: a procedure without an Amazigh name shows its Arabic name to an Amazigh reader."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workflow', '0011_case_without_delay'),
    ]

    operations = [
        migrations.AddField(
            model_name='lettertemplate',
            name='recourse_ar',
            field=models.TextField(blank=True, verbose_name='route of recourse in Arabic (rejections)'),
        ),
        migrations.AddField(
            model_name='lettertemplate',
            name='recourse_fr',
            field=models.TextField(blank=True, verbose_name='route of recourse in French (rejections)'),
        ),
        migrations.AddField(
            model_name='procedure',
            name='name_zgh',
            field=models.CharField(blank=True, max_length=200, verbose_name='name in Amazigh (Tifinagh)'),
        ),
    ]
