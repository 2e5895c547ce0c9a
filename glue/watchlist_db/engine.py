"""The embedded engine: PGlite (WASM PostgreSQL 17) with TimescaleDB, served on 127.0.0.1.

``wldb db up`` starts ``engine/server.mjs`` under Node in its own session, with its data
under the data directory (default ``.wldb/`` in the checkout, git-ignored):

    .wldb/pgdata/       the database files
    .wldb/engine.json   pid, port, start time of the running engine
    .wldb/engine.log    the engine's output
    .wldb/pgpass        the access token: a libpq password file whose password is a random
                        secret; the engine refuses a client that does not prove it knows it

The data directory is 0700 and every file in it 0600 (the engine runs with umask 077):
the engine's one session is a superuser, so reading the token is the access right
(docs/embedded-engine.md). A client idle for WLDB_ENGINE_IDLE_TIMEOUT_S (default 60 s)
with no query in flight is disconnected, so one idle client cannot lock the others out.

Quirks (see README "Engines"): one client connection at a time, one shared session, no
COPY FROM STDIN, no background job scheduler (``wldb jobs run-due`` stands in).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from . import config
from .api import ops as ops_api

ENGINE_DIR = Path(__file__).resolve().parent / "engine"


class EngineError(RuntimeError):
    pass


@dataclass
class EngineStatus:
    state: str  # running | stopped | crashed | unresponsive
    pid: int | None
    port: int | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.state == "running"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not alive.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().split(")")[-1].split()[0] == "Z":
                return False
    except OSError:
        pass
    return True


def _is_our_engine(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _pid_alive(pid)
    return any(part.endswith(b"server.mjs") for part in cmd)


def _port_free(port: int) -> bool:
    """Can a listener bind 127.0.0.1:port right now?"""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing directory is made 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a 0600 file (never readable by others, even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def make_private(tree: Path) -> None:
    """Take group and other access off everything under ``tree`` (PGlite's initdb writes
    some files 0640 and its data directory 0750, whatever the umask)."""
    if not tree.exists():
        return
    for root, dirs, files in os.walk(tree):
        for name in [*dirs, *files, None]:
            p = Path(root) / name if name else Path(root)
            try:
                mode = p.lstat().st_mode
                if mode & 0o077 and not p.is_symlink():
                    p.chmod(mode & 0o700)
            except OSError:
                pass


def read_token(passfile: Path) -> str | None:
    """The token in the engine's password file (the password field of its first line)."""
    try:
        first = passfile.read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    token = first.rsplit(":", 1)[-1].strip()
    return token if len(token) >= 16 else None


def _port_open(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedEngine:
    def __init__(self, data_dir: Path | None = None, port: int | None = None):
        self.data_dir = Path(data_dir or config.data_dir())
        self.port = port or config.embedded_port()
        self.state_file = self.data_dir / "engine.json"
        self.log_file = self.data_dir / "engine.log"
        self.pgdata = self.data_dir / "pgdata"
        self.passfile = self.data_dir / "pgpass"

    # -- helpers -----------------------------------------------------------------
    def conninfo(self) -> str:
        return config.embedded_conninfo(self.port, self.data_dir)

    def _read_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no engine log)"

    def _ping(self, port: int, timeout: float = 5.0) -> str | None:
        """None when the engine answers a query, else the error text."""
        try:
            with psycopg.connect(
                config.embedded_conninfo(port, self.data_dir) + f" connect_timeout={max(1, int(timeout))}",
                autocommit=True,
                prepare_threshold=None,
            ) as conn:
                ops_api.ping(conn)
            return None
        except psycopg.Error as exc:
            return str(exc).strip() or exc.__class__.__name__

    # -- public ------------------------------------------------------------------
    def status(self) -> EngineStatus:
        st = self._read_state()
        if st is None:
            return EngineStatus("stopped", None, None, f"no engine running for {self.data_dir}")
        pid, port = int(st["pid"]), int(st["port"])
        if not (_pid_alive(pid) and _is_our_engine(pid)):
            return EngineStatus(
                "crashed",
                pid,
                port,
                f"engine pid {pid} (port {port}) is gone without `wldb db down`; last log lines:\n{self.log_tail()}",
            )
        err = self._ping(port)
        if err is not None:
            return EngineStatus(
                "unresponsive", pid, port, f"engine pid {pid} is alive but does not answer on port {port}: {err}"
            )
        return EngineStatus("running", pid, port, f"engine pid {pid} listening on 127.0.0.1:{port}")

    def ensure_node_modules(self, echo=print) -> None:
        if (ENGINE_DIR / "node_modules" / "@unni-craftsman" / "pglite").is_dir():
            return
        npm = shutil.which("npm")
        if not npm:
            raise EngineError(
                "the embedded engine needs Node.js 20+ and npm on PATH (or configure WLDB_DSN for a real server)"
            )
        echo("installing the embedded engine's npm packages (once)...")
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--legacy-peer-deps"], cwd=ENGINE_DIR, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise EngineError(f"npm ci failed in {ENGINE_DIR}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")

    def up(self, timeout: float = 120.0, echo=print) -> EngineStatus:
        current = self.status()
        if current.state == "running":
            return current
        if current.state == "unresponsive":
            raise EngineError(current.detail + "\nrun `wldb db down` to stop it, then `wldb db up`")
        if current.state == "crashed":
            echo(f"note: {current.detail}\nstarting a new engine on the same data directory")
            self.state_file.unlink(missing_ok=True)
        # A just-killed engine can hold its port for a moment after its main thread is
        # gone (the other threads still exiting): give the port a few seconds to free up.
        deadline = time.monotonic() + 5
        while not _port_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _port_free(self.port):
            raise EngineError(f"port {self.port} on 127.0.0.1 is already taken by another program; set WLDB_PORT")
        node = shutil.which("node")
        if not node:
            raise EngineError("the embedded engine needs Node.js 20+ on PATH (or configure WLDB_DSN for a real server)")
        self.ensure_node_modules(echo)
        private_dir(self.data_dir)
        self.ensure_token()
        fd = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # a log left by an older version may be 0644
        log = os.fdopen(fd, "ab")
        for f in (self.pgdata, self.state_file):
            if f.exists():
                f.chmod(0o700 if f.is_dir() else 0o600)
        proc = subprocess.Popen(
            [node, str(ENGINE_DIR / "server.mjs"), str(self.pgdata), str(self.port), "127.0.0.1"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ENGINE_DIR,
            start_new_session=True,
            umask=0o077,  # the database files PGlite writes: owner only
            env={**os.environ, "WLDB_ENGINE_TOKEN_FILE": str(self.passfile)},
        )
        log.close()
        write_private(self.state_file, json.dumps({"pid": proc.pid, "port": self.port, "started_at": time.time()}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.state_file.unlink(missing_ok=True)
                raise EngineError(
                    f"the embedded engine exited with code {proc.returncode} while starting:\n{self.log_tail()}"
                )
            if _port_open(self.port, 0.5) and self._ping(self.port) is None:
                make_private(self.pgdata)
                return self.status()
            time.sleep(0.25)
        self.down()
        raise EngineError(f"the embedded engine did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def ensure_token(self) -> str:
        """The access token, created on first use: a libpq password file (0600) matching any
        database and user on the loopback address, whose password is a random secret. It is
        kept across restarts, so exported ``wldb db env`` settings stay valid."""
        token = read_token(self.passfile)
        if token is None:
            token = secrets.token_hex(24)
        write_private(self.passfile, "".join(f"{host}:*:*:*:{token}\n" for host in ("127.0.0.1", "localhost")))
        return token

    def down(self, timeout: float = 30.0) -> str:
        st = self._read_state()
        if st is None:
            return "not running"
        pid = int(st["pid"])
        if not (_pid_alive(pid) and _is_our_engine(pid)):
            self.state_file.unlink(missing_ok=True)
            return f"engine pid {pid} was already gone (crashed); state cleared"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.1)
        how = "stopped cleanly"
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            how = f"did not stop within {timeout:.0f}s; killed"
        self.state_file.unlink(missing_ok=True)
        return f"engine pid {pid} {how}"

    def env_lines(self) -> list[str]:
        """Shell lines that point psql / pg_prove / libpq at this engine."""
        return [
            "export PGHOST=127.0.0.1",
            f"export PGPORT={self.port}",
            "export PGUSER=postgres",
            "export PGDATABASE=postgres",
            "export PGSSLMODE=disable",
            "export PGGSSENCMODE=disable",
            f"export PGPASSFILE={self.passfile}",
        ]
