"""docker/compose.yml: the production/integration path. No engine runs here, so it is
validated structurally, and by `docker compose config` / `docker-compose config` where a
client is installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from watchlist_db import config

COMPOSE = config.project_root() / "docker" / "compose.yml"


def test_compose_structure_and_no_secrets():
    doc = yaml.safe_load(COMPOSE.read_text())
    assert set(doc["services"]) == {"db", "migrate", "tests"}
    assert doc["services"]["migrate"]["command"] == ["wldb", "migrate"]
    assert doc["services"]["tests"]["command"] == ["tests/run", "all"]
    assert "WLDB_TEST_DSN" in doc["services"]["tests"]["environment"]
    assert doc["services"]["db"]["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    for name, secret in doc["secrets"].items():
        assert secret["file"].startswith("${"), f"secret {name} must come from outside the repository"
    text = COMPOSE.read_text()
    assert not re.search(r"POSTGRES_PASSWORD:\s|password=", text, re.I), "no literal password in compose.yml"


def _compose_client() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1), whichever works here."""
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) and subprocess.run([*cmd, "version"], capture_output=True, text=True).returncode == 0:
            return cmd
    return None


def test_compose_config_validates(tmp_path):
    cmd = _compose_client()
    if cmd is None:
        pytest.skip("no compose client (docker compose or docker-compose) installed")  # a failure on CI
    (tmp_path / "pw").write_text("x\n")
    (tmp_path / "pgpass").write_text("db:5432:*:postgres:x\n")
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "WLDB_PG_PASSWORD_FILE": str(tmp_path / "pw"),
        "WLDB_PGPASS_FILE": str(tmp_path / "pgpass"),
    }
    res = subprocess.run([*cmd, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    missing = subprocess.run(
        [*cmd, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env={"PATH": env["PATH"]}
    )
    assert missing.returncode != 0 and "WLDB_PG_PASSWORD_FILE" in missing.stderr
