"""Settings for the test suite: the real settings with test-friendly environment defaults.

Every run gets its own data directory (files, PKI, SQLite database) under a temporary
directory; WASL_DATABASE_URL, when set, runs the suite on PostgreSQL instead.
"""

import atexit
import os
import shutil
import tempfile

_data = tempfile.mkdtemp(prefix="wasl-test-")
atexit.register(shutil.rmtree, _data, ignore_errors=True)
os.environ.setdefault("WASL_SECRET_KEY", "test-only-secret-key-0123456789abcdef")
os.environ.setdefault("WASL_DATA_DIR", _data)
os.environ.setdefault("WASL_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("WASL_TASKS", "immediate")
os.environ.setdefault("WASL_PKI_AUTOCREATE", "true")
os.environ.setdefault("WASL_SECURE_COOKIES", "false")
os.environ.setdefault("WASL_RATE_DEPOSIT", "10000/m")
os.environ.setdefault("WASL_RATE_LOGIN", "10000/m")
os.environ.setdefault("WASL_RATE_VERIFY", "10000/m")
os.environ.setdefault("WASL_LOG_LEVEL", "WARNING")
os.environ.setdefault("WASL_CACHE_URL", "locmem://")

from wasl.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the in-memory default: concurrency tests need real SQLite locking (WAL).
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_data, "test.sqlite3")}  # noqa: F405
