"""Settings: every variable documented, malformed values refused, no default secret."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wasl import env

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_read_is_documented():
    documented = set(re.findall(r"`(WASL_[A-Z0-9_]+)`", (ROOT / "docs" / "configuration.md").read_text()))
    assert env.DECLARED, "settings were not loaded through wasl.env"
    assert env.DECLARED - documented == set()


@pytest.mark.parametrize(
    ("helper", "value", "expected"),
    [
        (env.env_size, "512KB", 512 * 1024),
        (env.env_size, "20mb", 20 * 1024 * 1024),
        (env.env_rate, "30/m", (30, 60)),
        (env.env_rate, "100/15m", (100, 900)),
        (env.env_bool, "yes", True),
        (env.env_int, "7", 7),
    ],
)
def test_typed_values(helper, value, expected):
    default = {env.env_size: "1MB", env.env_rate: "1/s", env.env_bool: False, env.env_int: 0}[helper]
    assert helper("WASL_X", default, environ={"WASL_X": value}) == expected


@pytest.mark.parametrize(
    ("helper", "value"),
    [(env.env_size, "lots"), (env.env_rate, "30 per minute"), (env.env_bool, "maybe"), (env.env_int, "seven")],
)
def test_malformed_values_are_refused_by_name(helper, value):
    default = {env.env_size: "1MB", env.env_rate: "1/s", env.env_bool: False, env.env_int: 0}[helper]
    with pytest.raises(env.ConfigurationError, match="WASL_X"):
        helper("WASL_X", default, environ={"WASL_X": value})


def test_trusted_proxies_are_read_as_addresses_or_networks():
    networks = env.env_networks("WASL_X", [], environ={"WASL_X": "127.0.0.1, 10.0.0.0/8 ,::1"})
    assert [str(n) for n in networks] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    with pytest.raises(env.ConfigurationError, match="WASL_X"):
        env.env_networks("WASL_X", [], environ={"WASL_X": "127.0.0.1, proxy.local"})


def _start(**variables: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_")}
    environment.update(variables, DJANGO_SETTINGS_MODULE="wasl.settings")
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_there_is_no_default_secret_outside_the_demo(tmp_path):
    result = _start(WASL_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "WASL_SECRET_KEY is not set" in result.stderr


def test_a_bad_value_stops_start_up(tmp_path):
    result = _start(WASL_DEMO="true", WASL_DATA_DIR=str(tmp_path), WASL_MAX_FILES="many")
    assert result.returncode != 0
    assert "WASL_MAX_FILES" in result.stderr


def test_the_demo_starts_without_configuration(tmp_path):
    assert _start(WASL_DEMO="true", WASL_DATA_DIR=str(tmp_path)).returncode == 0


def test_only_the_migrations_check_runs_without_a_secret(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_") and k != "DJANGO_SETTINGS_MODULE"}
    environment["WASL_DATA_DIR"] = str(tmp_path)

    def manage(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *arguments],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    check = manage("makemigrations", "--check", "--dry-run")
    assert check.returncode == 0 and "No changes detected" in check.stdout
    refused = manage("migrate")
    assert refused.returncode != 0 and "WASL_SECRET_KEY is not set" in refused.stderr
