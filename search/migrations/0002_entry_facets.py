"""Entries carry what filters and orders a search (register, time of registration, whether
confidential, and the facets: register, year, month and day as terms); on PostgreSQL every term
of the ``tsvector`` is prefixed by the administration's scope, so that the GIN index holds one
posting list per administration and word, and a search reads its own administration's only."""

import importlib
from zoneinfo import ZoneInfo

from django.conf import settings
import django.db.models.deletion
from django.db import migrations, models

# The terms of a column, each prefixed with the scope and a letter that says what it is ("z" a
# word, "f" a facet): a1zرسم, a1fm202611. Terms are letters and digits separated by one space
# (search.services writes them so), and a scope is "a" and digits: a prefixed term is one token
# for the parser, and no term of one administration can be read as another's.
_PREFIXED = "CASE WHEN {column} = '' THEN '' ELSE replace(' ' || {column}, ' ', ' ' || scope || '{kind}') END"
POSTGRESQL = [
    "DROP INDEX search_entry_document",
    "ALTER TABLE search_searchentry DROP COLUMN document",
    f"""ALTER TABLE search_searchentry ADD COLUMN document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', {_PREFIXED.format(column="facets", kind="f")}), 'D')
        || setweight(to_tsvector('simple', {_PREFIXED.format(column="title", kind="z")}), 'A')
        || setweight(to_tsvector('simple', {_PREFIXED.format(column="content", kind="z")}), 'B')
    ) STORED""",
    # New entries wait in the index's pending list until it is merged into the index, and
    # every search reads the whole list: kept short (256 kB, not 4 MB), searches stay fast
    # while the sweep writes (which costs it a third more time).
    "CREATE INDEX search_entry_document ON search_searchentry USING gin (document) WITH (gin_pending_list_limit = 256)",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX search_entry_document",
    "ALTER TABLE search_searchentry DROP COLUMN document",
    """ALTER TABLE search_searchentry ADD COLUMN document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', scope), 'D')
        || setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', content), 'B')
    ) STORED""",
    "CREATE INDEX search_entry_document ON search_searchentry USING gin (document)",
]


def entries_fill(apps, schema_editor):
    """The new columns of the entries already written (as search.models.facets_of makes them)."""
    entry_model = apps.get_model("search", "SearchEntry")
    correspondence_model = apps.get_model("registry", "Correspondence")
    zone = ZoneInfo(settings.TIME_ZONE)
    last = 0
    while True:
        entries = list(entry_model.objects.filter(pk__gt=last).order_by("pk")[:2000])
        if not entries:
            return
        rows = correspondence_model.objects.filter(pk__in=[entry.pk for entry in entries]).values_list(
            "pk", "direction", "registered_at", "confidential"
        )
        by_pk = {pk: (direction, registered_at, confidential) for pk, direction, registered_at, confidential in rows}
        for entry in entries:
            entry.direction, entry.registered_at, entry.confidential = by_pk[entry.pk]
            day = entry.registered_at.astimezone(zone).date()
            entry.facets = f"{entry.direction[:1]} y{day:%Y} m{day:%Y%m} d{day:%Y%m%d}"
        entry_model.objects.bulk_update(entries, ["direction", "registered_at", "confidential", "facets"])
        last = entries[-1].pk


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)
        elif schema_editor.connection.vendor == "sqlite":
            # SQLite adds a column that is not null by making the table again, which drops its
            # triggers: the FTS5 index's are made again (the index itself is unchanged).
            initial = importlib.import_module("search.migrations.0001_initial")
            for sql in initial.SQLITE[1:]:
                name = sql.split()[2]  # CREATE TRIGGER <name> ...
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_register_import"),
        ("search", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="searchentry",
            name="registered_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="searchentry",
            name="direction",
            field=models.CharField(default="", max_length=10),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="searchentry",
            name="confidential",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="searchentry",
            name="facets",
            field=models.CharField(default="", max_length=40),
            preserve_default=False,
        ),
        migrations.RunPython(entries_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="searchentry",
            name="registered_at",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="searchentry",
            name="administration",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="tenancy.administration",
            ),
        ),
        migrations.RunPython(_run(POSTGRESQL), _run(POSTGRESQL_REVERSE)),
    ]
