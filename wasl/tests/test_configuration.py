"""Settings: every variable documented, malformed values refused, no default secret."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from wasl import env

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_read_is_documented() -> None:
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
def test_typed_values(helper: Callable[..., object], value: str, expected: object) -> None:
    default = {env.env_size: "1MB", env.env_rate: "1/s", env.env_bool: False, env.env_int: 0}[helper]
    assert helper("WASL_X", default, environ={"WASL_X": value}) == expected


@pytest.mark.parametrize(
    ("helper", "value"),
    [(env.env_size, "lots"), (env.env_rate, "30 per minute"), (env.env_bool, "maybe"), (env.env_int, "seven")],
)
def test_malformed_values_are_refused_by_name(helper: Callable[..., object], value: str) -> None:
    default = {env.env_size: "1MB", env.env_rate: "1/s", env.env_bool: False, env.env_int: 0}[helper]
    with pytest.raises(env.ConfigurationError, match="WASL_X"):
        helper("WASL_X", default, environ={"WASL_X": value})


def test_trusted_proxies_are_read_as_addresses_or_networks() -> None:
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


def test_there_is_no_default_secret_outside_the_demo(tmp_path: Path) -> None:
    result = _start(WASL_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "WASL_SECRET_KEY is not set" in result.stderr


def test_a_bad_value_stops_start_up(tmp_path: Path) -> None:
    result = _start(WASL_DEMO="true", WASL_DATA_DIR=str(tmp_path), WASL_MAX_FILES="many")
    assert result.returncode != 0
    assert "WASL_MAX_FILES" in result.stderr


@pytest.mark.slow
def test_the_demo_starts_without_configuration(tmp_path: Path) -> None:
    assert _start(WASL_DEMO="true", WASL_DATA_DIR=str(tmp_path)).returncode == 0


def _settings_seen(**variables: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_")}
    environment.update(variables, DJANGO_SETTINGS_MODULE="wasl.settings")
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DEMO, settings.SECRET_KEY)"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_demo_data_directory_runs_later_commands_as_the_demo_with_its_own_secret(tmp_path: Path) -> None:
    first = _settings_seen(WASL_DEMO="true", WASL_DATA_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    marker = tmp_path / "demo.json"
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    secret = json.loads(marker.read_text())["secret_key"]
    assert first.stdout.split() == ["True", secret] and len(secret) >= 48
    # A command told nothing (the README's `manage.py verify_register`) runs as the same demo.
    later = _settings_seen(WASL_DATA_DIR=str(tmp_path))
    assert later.stdout.split() == ["True", secret], later.stderr
    # Another demo's data directory has another secret: none is built in.
    other = _settings_seen(WASL_DEMO="true", WASL_DATA_DIR=str(tmp_path / "other"))
    assert other.stdout.split()[0] == "True" and other.stdout.split()[1] != secret


def test_a_demo_data_directory_is_not_read_by_a_configured_installation(tmp_path: Path) -> None:
    assert _settings_seen(WASL_DEMO="true", WASL_DATA_DIR=str(tmp_path)).returncode == 0
    configured = _settings_seen(WASL_DATA_DIR=str(tmp_path), WASL_SECRET_KEY="a-secret-of-this-installation-0123456789")
    assert configured.stdout.split() == ["False", "a-secret-of-this-installation-0123456789"], configured.stderr
    refused = _settings_seen(WASL_DATA_DIR=str(tmp_path), WASL_DEMO="false")
    assert refused.returncode != 0 and "WASL_SECRET_KEY is not set" in refused.stderr


def test_a_damaged_demo_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text("{}")
    result = _settings_seen(WASL_DATA_DIR=str(tmp_path))
    assert result.returncode != 0 and f"{tmp_path / 'demo.json'} is damaged" in result.stderr


@pytest.mark.slow
def test_only_the_migrations_check_runs_without_a_secret(tmp_path: Path) -> None:
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
