"""How Wasl's programs say they will not start: exit statuses and the message, without Django.

Imported by :mod:`operations.startup` (which loads nothing of Django, for gunicorn's master) and by
:mod:`operations.readiness` (the checks, which need Django), so that neither imports the other
for them.

- ``REFUSED`` (78, sysexits' EX_CONFIG): a configuration or state an operator must fix. A
  supervisor should not restart the program in a loop (systemd: ``RestartPreventExitStatus=78``;
  ``manage.py serve`` stops).
- ``UNAVAILABLE`` (69, EX_UNAVAILABLE): only the database could not be reached; starting again
  later may work.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

REFUSED = 78
UNAVAILABLE = 69


def print_refusal(program: str, lines: Iterable[str]) -> None:
    print(f"Wasl's {program} will not start:", file=sys.stderr)
    for line in lines:
        print(f"  {line}", file=sys.stderr)
    sys.stderr.flush()
