"""Private PostgreSQL servers for tests that must own their server: stop it, SIGKILL its
postmaster, restart it (crash recovery), or run it without TimescaleDB (not a test module).

The binaries are the machine's PostgreSQL (Debian's /usr/lib/postgresql/NN/bin, or
WLDB_TEST_PG_BINDIR). Nothing here needs ../shared: a machine with PostgreSQL and
TimescaleDB installed is enough. Servers run as the postgres OS user when the tests run as
root (initdb refuses root), listen on 127.0.0.1 and a private socket directory only, and
trust local connections (no password anywhere).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from writer_helpers import free_port  # a port free now; start() retries when it is taken before binding


def pg_bindirs() -> list[Path]:
    env = os.environ.get("WLDB_TEST_PG_BINDIR")
    if env:
        return [Path(env)]
    return [Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))]


def pg_config_dir(bindir: Path, what: str) -> Path:
    """A directory of the installation at ``bindir`` as its pg_config reports it (sharedir,
    pkglibdir, ...): Debian splits an installation over /usr/lib/postgresql/NN and
    /usr/share/postgresql/NN, a relocatable build (e.g. /opt/real-timescaledb/pgNN) keeps
    bin, lib and share side by side."""
    cfg = bindir / "pg_config"
    if cfg.exists():
        return Path(subprocess.run([str(cfg), f"--{what}"], capture_output=True, text=True, check=True).stdout.strip())
    # Debian's layout without pg_config: <prefix>/lib/postgresql/NN/bin
    if what == "sharedir":
        return bindir.parents[3] / "share/postgresql" / bindir.parent.name
    if what == "pkglibdir":
        return bindir.parent / "lib"
    raise ValueError(f"no pg_config next to {bindir} to ask for {what}")


def sharedir_of(bindir: Path) -> Path:
    return pg_config_dir(bindir, "sharedir")


def has_timescaledb(bindir: Path) -> bool:
    return (sharedir_of(bindir) / "extension" / "timescaledb.control").exists()


def timescaledb_bindir() -> Path | None:
    """The newest local PostgreSQL with TimescaleDB installed, if any."""
    for b in reversed(pg_bindirs()):
        if has_timescaledb(b):
            return b
    return None


def private_bindir() -> Path | None:
    """The bin directory for a test's private server: WLDB_TEST_PG_BINDIR, else the real-server
    tool's (WLDB_REAL_TIMESCALEDB, the major of REAL_PG_MAJOR, default 16) when it has
    TimescaleDB, else the newest local PostgreSQL with TimescaleDB; None without any."""
    env = os.environ.get("WLDB_TEST_PG_BINDIR")
    if env:
        return Path(env)
    tool = os.environ.get("WLDB_REAL_TIMESCALEDB")
    if tool and os.access(tool, os.X_OK):
        env = {**os.environ, "REAL_PG_MAJOR": os.environ.get("REAL_PG_MAJOR", "16")}
        out = subprocess.run([tool, "bindir"], capture_output=True, text=True, env=env)
        b = Path(out.stdout.strip())
        if out.returncode == 0 and (b / "initdb").exists() and has_timescaledb(b):
            return b
    return timescaledb_bindir()


def _as_postgres(args: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    out = subprocess.run(args, capture_output=True, text=True, **kw)
    if out.returncode:
        raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    return out


def workdir(prefix: str = "wldb-pg-") -> Path:
    """A directory the postgres OS user can reach (pytest's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(d, 0o755)
    return d


def relocated_install(work: Path, bindir: Path, *, timescaledb_control: str | None = None) -> Path:
    """A copy of the PostgreSQL installation at ``bindir`` whose share directory has no
    TimescaleDB (PostgreSQL finds its share directory relative to its binaries), optionally
    with a ``timescaledb.control`` of the given text instead. Returns the copy's bindir."""
    # PostgreSQL finds its share and lib directories relative to its binaries, so the copy
    # keeps the installation's own layout (as pg_config reports it) under a new root.
    bindir = Path(os.path.realpath(bindir))
    share, pkglib = (
        Path(os.path.realpath(sharedir_of(bindir))),
        Path(os.path.realpath(pg_config_dir(bindir, "pkglibdir"))),
    )
    top = Path(os.path.commonpath([bindir, share, pkglib]))
    root = work / "install"
    new_bin = root / bindir.relative_to(top)
    new_share = root / share.relative_to(top)
    new_lib = root / pkglib.relative_to(top)
    shutil.copytree(bindir, new_bin, symlinks=False)
    new_lib.parent.mkdir(parents=True, exist_ok=True)
    if not new_lib.exists():
        new_lib.symlink_to(pkglib)
    shutil.copytree(share, new_share, symlinks=True)
    for f in (new_share / "extension").glob("timescaledb*"):
        f.unlink()
    if timescaledb_control is not None:
        (new_share / "extension" / "timescaledb.control").write_text(timescaledb_control)
    for d, _, _files in os.walk(root):
        os.chmod(d, 0o755)
    return new_bin


class PrivateServer:
    """initdb + pg_ctl on a private data directory; stop, kill -9 and restart."""

    def __init__(
        self,
        bindir: Path,
        work: Path | None = None,
        *,
        preload_timescaledb: bool = True,
        settings: dict[str, str] | None = None,
    ):
        self.bindir = Path(bindir)
        self.work = Path(work) if work else workdir()
        self.work.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work, 0o777)
        self.data = self.work / "data"
        self.sock = self.work / "sock"
        self.sock.mkdir(exist_ok=True)
        os.chmod(self.sock, 0o777)
        self.port = free_port()
        self.settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.sock}'",
            "fsync": "on",
            "timescaledb.telemetry_level": "off",
            "max_worker_processes": "16",
            "timescaledb.max_background_workers": "8",
        }
        if preload_timescaledb:
            self.settings["shared_preload_libraries"] = "'timescaledb'"
        self.settings.update(settings or {})

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres sslmode=disable gssencmode=disable connect_timeout=5"

    def _pg_ctl(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args], **kw)

    def _write_conf(self) -> None:
        lines = [f"port = {self.port}", *(f"{k} = {v}" for k, v in self.settings.items())]
        (self.data / "postgresql.auto.conf").write_text("\n".join(lines) + "\n")

    def start(self, attempts: int = 5) -> PrivateServer:
        if not (self.data / "PG_VERSION").exists():
            _as_postgres(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
            (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        for attempt in range(attempts):
            self._write_conf()
            try:
                self._pg_ctl("-w", "-t", "120", "-l", str(self.work / "server.log"), "start")
                return self
            except RuntimeError:
                if attempt == attempts - 1 or "could not bind" not in self.log_tail():
                    raise RuntimeError(f"server did not start:\n{self.log_tail()}") from None
                self.port = free_port()  # the port was taken between choosing and binding
        return self

    def stop(self) -> None:
        if self.running():
            self._pg_ctl("-m", "fast", "-w", "stop")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and _alive(pid)

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash); wait until its children are gone too."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (_alive(pid) or self._children()):
            time.sleep(0.05)
        if _zombie(pid):  # not reaped by its parent: the next start would take it for alive
            (self.data / "postmaster.pid").unlink(missing_ok=True)
            for lock in self.sock.glob(".s.PGSQL.*.lock"):
                lock.unlink(missing_ok=True)

    def _children(self) -> list[int]:
        real = os.path.realpath(self.data)
        out = []
        for p in glob.glob("/proc/[0-9]*"):
            try:
                if os.readlink(f"{p}/cwd") == real and not _zombie(int(p[6:])):
                    out.append(int(p[6:]))
            except OSError:
                pass
        return out

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join((self.work / "server.log").read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return "(no log)"

    def destroy(self) -> None:
        try:
            if self.running():
                self._pg_ctl("-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.work, ignore_errors=True)


def _stat(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st != "Z"


def _zombie(pid: int) -> bool:
    return _stat(pid) == "Z"
