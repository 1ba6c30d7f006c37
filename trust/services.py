"""Django glue: the process-wide installation PKI, configured from settings.

``PKI_DIR`` (``WASL_PKI_DIR``) is where the PKI lives; ``PKI_AUTOCREATE`` (on in the demo)
creates one on first use, otherwise a missing PKI is an operator error that names the command to
run. ``TSA_URL`` (``WASL_TSA_URL``), when set, sends timestamp requests to that RFC 3161 server
instead of the installation's own timestamping unit.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from trust.pki import Pki, PkiMissing

__all__ = ["PkiMissing", "ca_certificate_pem", "crl_pem", "installation_pki", "reset_installation_pki"]

_lock = threading.Lock()
_pki: Pki | None = None


def installation_pki() -> Pki:
    """The PKI for ``settings.PKI_DIR``, loaded once per process (keys parsed once)."""
    global _pki
    pki = _pki
    if pki is not None:
        return pki
    with _lock:
        if _pki is None:
            directory = Path(settings.PKI_DIR)
            tsa_url = getattr(settings, "TSA_URL", "")
            if not Pki.exists(directory):
                if not getattr(settings, "PKI_AUTOCREATE", False):
                    raise PkiMissing(
                        f"No installation PKI in {directory}. Create one with "
                        "`python manage.py pki_init --name '<installation name>'`, or place the "
                        "operator's CA, TSA and seal PEM files there (see trust/pki.py)."
                    )
                # If another process created it first, load theirs.
                with contextlib.suppress(FileExistsError):
                    Pki.create(directory, getattr(settings, "INSTALLATION_NAME", "Wasl"), tsa_url=tsa_url)
            _pki = Pki.load(directory, tsa_url=tsa_url)
        return _pki


def reset_installation_pki() -> None:
    """Forget the loaded PKI (tests, or after an operator replaced files)."""
    global _pki
    with _lock:
        _pki = None


def ca_certificate_pem() -> bytes:
    """The root CA certificate, for download by people who verify seals with their own tools."""
    return installation_pki().ca_certificate_pem


def crl_pem() -> bytes:
    """The installation's certificate revocation list (revoked seals and signing certificates)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    pki = installation_pki()
    own = [crl for crl in pki.crls if crl.issuer == pki.ca_cert.subject]
    return b"".join(crl.public_bytes(Encoding.PEM) for crl in own)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"PKI_DIR", "PKI_AUTOCREATE", "TSA_URL", "INSTALLATION_NAME"}:
        reset_installation_pki()
