"""How Wasl's programs refuse to start, without Django: the gunicorn side and the checked mark.

The checks themselves are in :mod:`operations.readiness`, the exit statuses in
:mod:`operations.exits`. This module imports nothing of Django, nor any module of Wasl that does,
so that gunicorn's master can use it and still never load the application: a master that had
would hand every worker it forks after a reload (``kill -HUP``) the code it loaded first. It
imports the checks only in the child process that runs them (below), never at load time.
"""

from __future__ import annotations

import os
import sys
import traceback

from operations.exits import REFUSED, print_refusal

# The pid of a process whose checks passed, in the environment of the processes it starts (the
# web server started by `serve`, gunicorn's workers): its own children skip the checks. Not a
# mere flag: a process started by another (a gunicorn re-executed for an upgrade, with new
# code) inherits the variable but not the parent, and checks.
CHECKED_MARK = "_WASL_STARTUP_CHECKED_BY"


def mark_checked() -> None:
    """The processes this one starts from now on skip the checks: they just passed here."""
    os.environ[CHECKED_MARK] = str(os.getpid())


def forget_checked() -> None:
    os.environ.pop(CHECKED_MARK, None)


def checked_by_parent() -> bool:
    """Whether the process that started this one ran the checks, and they passed."""
    return os.environ.get(CHECKED_MARK) == str(os.getppid())


def check_in_child(program: str) -> int:
    """Run the start-up checks in a forked child process that loads Django; its exit status.

    The child prints the problems (one line each, with the fix); 0 means ready.
    """
    pid = os.fork()
    if pid == 0:  # the child: it never returns
        status = 1
        try:
            status = _check(program)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status)


def _check(program: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wasl.settings")
    # Django is imported here, in the child only (see the module's docstring).
    import django
    from django.core.exceptions import ImproperlyConfigured

    from wasl.env import ConfigurationError

    try:
        django.setup()
    except (ConfigurationError, ImproperlyConfigured) as exc:
        print_refusal(program, [str(exc)])
        return REFUSED
    from django.db import connections

    from operations.readiness import refuse_unless_ready

    try:
        refuse_unless_ready(program)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else REFUSED
    finally:
        connections.close_all()
    return 0
