"""The file that makes a data directory a demo: ``DATA_DIR/demo.json``.

``make run`` runs every command with ``WASL_DEMO=true``; the first of them writes this file
(mode 0600) with a secret key generated for this data directory. A later command on the same
data directory that is told neither ``WASL_DEMO`` nor ``WASL_SECRET_KEY`` (the README's
``.venv/bin/python manage.py verify_register``) finds it and runs as the demo, with that key.
A command given a secret key, or ``WASL_DEMO=false``, never reads it: an installation
configured for production keeps failing closed when its secret is missing.

This module imports no Django: the settings call it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

from wasl.env import ConfigurationError

FILENAME = "demo.json"
ABOUT = (
    "Written by Wasl in demo mode (make run). This data directory holds the demo: accounts with "
    "published passwords. A command run on it with neither WASL_SECRET_KEY nor WASL_DEMO runs as "
    "the demo, with this secret key. Delete the data directory to leave the demo."
)


def read_demo_secret(data_dir: Path) -> str | None:
    """The secret key of the demo held in ``data_dir``, or None when it is not a demo."""
    path = data_dir / FILENAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"{path} cannot be read ({exc.strerror}).") from None
    try:
        secret = json.loads(text)["secret_key"]
    except (ValueError, KeyError, TypeError):
        secret = None
    if not isinstance(secret, str) or len(secret) < 32:
        raise ConfigurationError(f"{path} is damaged: delete it (the next `make run` writes a new one).")
    return secret


def demo_secret(data_dir: Path) -> str:
    """The demo's secret key for ``data_dir``: the one its ``demo.json`` holds, or a new one
    written there now. Two processes starting at once agree: the file appears whole, once."""
    existing = read_demo_secret(data_dir)
    if existing is not None:
        return existing
    path = data_dir / FILENAME
    draft = data_dir / f".{FILENAME}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"about": ABOUT, "secret_key": secrets.token_urlsafe(48)}, out, indent=1)
            out.write("\n")
        with contextlib.suppress(FileExistsError):  # another process wrote it first: theirs is kept
            os.link(draft, path)
    except OSError as exc:
        raise ConfigurationError(f"The demo's secret key cannot be written to {path} ({exc.strerror}).") from None
    finally:
        draft.unlink(missing_ok=True)
    secret = read_demo_secret(data_dir)
    assert secret is not None
    return secret
