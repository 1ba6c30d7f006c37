"""Letter templates keep only plain variables.

Templates used to be filled with ``str.format``, whose check let a format specification or a
conversion follow a known variable (``{number:>20}``, ``{number!r}``). Templates are now filled by
a plain substitution that knows ``{name}`` only (workflow.templating): each such variable becomes
``{name}`` again, which is what it showed for any reasonable specification. Anything else is left
as it is: filling keeps what it does not know as typed, and the admin sees the problem when
saving the template next.
"""

import re

from django.db import migrations

# The variables at the time of this migration (workflow.letters.template_variables).
VARIABLES = (
    "number",
    "registered_on",
    "sender_name",
    "subject",
    "procedure",
    "due_on",
    "administration",
    "service",
    "today",
)
WITH_SPECIFICATION = re.compile(r"(?<!\{)\{(" + "|".join(VARIABLES) + r")(?:![rsa])?(?::[^{}]*)?\}")


def plain(text: str) -> str:
    return WITH_SPECIFICATION.sub(lambda m: "{" + m.group(1) + "}", text)


def forwards(apps, schema_editor):
    LetterTemplate = apps.get_model("workflow", "LetterTemplate")
    for template in LetterTemplate.objects.only("pk", "body_ar", "body_fr").iterator():
        body_ar, body_fr = plain(template.body_ar), plain(template.body_fr)
        if (body_ar, body_fr) != (template.body_ar, template.body_fr):
            LetterTemplate.objects.filter(pk=template.pk).update(body_ar=body_ar, body_fr=body_fr)


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0009_once_only"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
