#!/usr/bin/env python
import os
import sys

# Commands that only compare models with migrations never sign or serve anything: give them a
# one-off random key so they run without configuration. Everything else still fails closed.
KEYLESS_COMMANDS = {"makemigrations"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wasl.settings")
    if len(sys.argv) > 1 and sys.argv[1] in KEYLESS_COMMANDS and not os.environ.get("WASL_SECRET_KEY"):
        import secrets

        os.environ["WASL_SECRET_KEY"] = secrets.token_urlsafe(48)
        os.environ.setdefault("WASL_ALLOWED_HOSTS", "localhost,127.0.0.1")
        os.environ.setdefault("WASL_PUBLIC_URL", "http://127.0.0.1:8000")
    from django.core.management import execute_from_command_line

    from wasl.env import ConfigurationError

    try:
        execute_from_command_line(sys.argv)
    except ConfigurationError as exc:
        # A setting missing or malformed: the operator's to fix, said in one line (the traceback
        # would only show where settings.py noticed it).
        sys.exit(f"Configuration error: {exc}")
