"""gunicorn's settings and hooks for Wasl's web server: ``gunicorn -c python:operations.gunicorn_config``.

``manage.py serve`` passes it; a production service should too (``docs/operations.md``).

Stopping (SIGTERM: Ctrl-C on ``serve``, ``systemctl stop``) is graceful: the master asks its
workers to finish their requests and leave, and kills (SIGKILL) those still there after
``graceful_timeout``, which gunicorn then logs as "Worker was sent SIGKILL! Perhaps out of
memory?". Left alone, a worker could not beat that deadline: it waits ``graceful_timeout`` for
its own requests, counted from a little later than the master's, then waits for every thread
of its pool (one still reading a slow upload never ends) and frees every object of the
interpreter, seconds of work on a busy machine. So a worker here stops waiting for its requests
a little before the master's deadline, then leaves at once after the exit functions ran: what
the interpreter would free, the kernel frees.

Starting, the master runs Wasl's start-up checks (``operations.readiness``) in a child process
before it listens: when one fails, the problems are printed one per line with their fix and the
master exits with status 78 (``operations.startup.REFUSED``), instead of booting workers that
fail one after another. After a reload (``kill -HUP``, new code) each new worker checks for
itself, as ``wasl/wsgi.py`` does under a gunicorn started without these hooks.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from typing import Any

from operations.startup import check_in_child, checked_by_parent, forget_checked, mark_checked

graceful_timeout = 5

# Whether a request came over HTTPS is Wasl's to decide (core.proxies: X-Forwarded-Proto only
# from WASL_TRUSTED_PROXIES). gunicorn by default believes the header from 127.0.0.1 and from Unix
# sockets, whoever wrote it, and rewrites wsgi.url_scheme before Wasl sees the request: here it
# reads no scheme header and trusts no peer, and the header reaches Wasl as it was sent.
secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = ""
# Seconds of its grace a worker leaves to the master (gunicorn counts whole seconds): enough to
# run the exit functions and be reaped before the master's deadline.
_MARGIN = 2

logger = logging.getLogger("gunicorn.error")


def on_starting(server: Any) -> None:
    # Checked already by `manage.py serve`, which started this gunicorn; but a master re-executed
    # by another (SIGUSR2, an upgrade) runs new code and checks.
    if not (checked_by_parent() and not server.master_pid):
        status = check_in_child("web server")
        if status != 0:
            if server.pidfile is not None:
                server.pidfile.unlink()
            sys.exit(status if status > 0 else 1)
    mark_checked()  # the workers, forked from here, need not check again


def on_reload(server: Any) -> None:
    # New workers may run new code, against a database not yet migrated for it: they check.
    forget_checked()


def post_worker_init(worker: Any) -> None:
    # The worker's copy of the settings (its own since the fork): its wait ends first.
    worker.cfg.set("graceful_timeout", max(1, int(worker.cfg.graceful_timeout) - _MARGIN))


def worker_exit(server: Any, worker: Any) -> None:
    """Called in the worker as it leaves. One told to stop leaves now; one that failed (it did
    not boot, or its loop raised) goes on through Python's exit, with its status."""
    if worker.alive or not worker.booted:
        return
    unfinished = int(getattr(worker, "nr_conns", 0) or 0)
    if unfinished:
        logger.info("Worker (pid: %s) stopped with %d connection(s) unfinished", worker.pid, unfinished)
    from django.db import connections

    connections.close_all()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)
