"""Settings for the test suite: the real settings with test-friendly environment defaults.

Every run gets its own data directory (files, PKI, SQLite database) under a temporary
directory, and every xdist worker one of its own; WASL_DATABASE_URL, when set, runs the suite
on PostgreSQL instead.
"""

import atexit
import os
import shutil
import tempfile

# One directory per run, made by the first process of the run (pytest, or xdist's controller) and
# removed when it exits; each xdist worker gets a directory of its own inside it, so that workers
# share no PKI, outbox, backups or database file. A process started by a test inherits its
# worker's directory; a WASL_DATA_DIR given from outside is kept.
_run = os.environ.get("WASL_TEST_RUN_DIR")
if _run is None:
    _run = tempfile.mkdtemp(prefix="wasl-test-")
    atexit.register(shutil.rmtree, _run, ignore_errors=True)
    os.environ["WASL_TEST_RUN_DIR"] = _run
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if os.environ.get("WASL_DATA_DIR") in (None, _run):
    os.environ["WASL_DATA_DIR"] = os.path.join(_run, _worker) if _worker else _run
    os.makedirs(os.environ["WASL_DATA_DIR"], exist_ok=True)
_data = os.environ["WASL_DATA_DIR"]
os.environ.setdefault("WASL_SECRET_KEY", "test-only-secret-key-0123456789abcdef")
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

# For the same reason, the suite stretches signing keys' passphrases less (scrypt N = 2**10, under
# a millisecond, where an installation's 2**14 takes ~40 ms): its tests lock and unlock hundreds of
# keys. Processes the suite starts with these settings agree; the stored format does not carry
# the cost, so a key locked here opens only with these settings.
import trust.keystore  # noqa: E402 (no Django in it)

trust.keystore.SCRYPT_N = 2**10
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the in-memory default: concurrency tests need real SQLite locking (WAL).
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_data, "test.sqlite3")}  # noqa: F405
