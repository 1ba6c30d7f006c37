import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wasl.settings")
application = get_wsgi_application()

# Served by a gunicorn whose master did not run the start-up checks (started without
# operations.gunicorn_config, or a worker after a reload): this worker runs them. Status 3 is
# gunicorn's "worker failed to boot", on which its master stops instead of booting another.
# Imported by anything else (a test, a benchmark) the application only loads.
if os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
    from operations.readiness import refuse_unless_ready
    from operations.startup import checked_by_parent

    if not checked_by_parent():
        refuse_unless_ready("web server", status=3)
