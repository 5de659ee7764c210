"""A private PostgreSQL primary and its streaming standby, for the tests (and benchmarks) of reads off the primary.

The suite's databases live in the shared cluster on 5432, which has no standby: ``streaming_pair`` makes a cluster
of its own (``initdb`` into a temporary directory, a free port, ``wal_level=replica``, replication allowed from
127.0.0.1), copies it with ``pg_basebackup -R`` into another directory and starts that as a hot standby on another
port. PostgreSQL will not run as root: under root both run as the ``postgres`` account (``runuser``), which owns
the directories. Both servers are stopped and their directories removed afterwards, even when the test fails.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.infra import free_port

DATABASE = "eldercare"


def postgres_bin() -> Path | None:
    """Where PostgreSQL's server programs are (``ELDERCARE_TEST_PG_BIN``, else Debian's newest), or None."""
    given = os.environ.get("ELDERCARE_TEST_PG_BIN")
    found = [Path(given)] if given else sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    found = [p for p in found if (p / "initdb").exists() and (p / "pg_basebackup").exists()]
    return found[-1] if found else None


def _owner() -> pwd.struct_passwd | None:
    """The account the servers run as: ``postgres`` under root (which PostgreSQL refuses), else none (ourselves)."""
    return pwd.getpwnam("postgres") if os.geteuid() == 0 else None


@dataclass
class Server:
    """One of the pair: its data directory, port and log."""

    bin: Path
    data: Path
    port: int
    socket_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def libpq(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / program), *args]
        if _owner() is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.socket_dir)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed:\n{done.stdout}\n{done.stderr}\n{self.log()[-3000:]}")
        return done

    def log(self) -> str:
        path = self.data.parent / f"{self.data.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        log = self.data.parent / f"{self.data.name}.log"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(log), "-o", f"-p {self.port}", "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; an unresponsive one is killed by the pid in its ``postmaster.pid``."""
        if not (self.data / "postmaster.pid").exists():
            return
        if self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop", check=False).returncode:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int((self.data / "postmaster.pid").read_text().split()[0]), signal.SIGQUIT)

    def connect(self, database: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/{database}", autocommit=True)


@dataclass
class Pair:
    """A primary and its streaming standby, each with the database ``eldercare``."""

    primary: Server
    standby: Server

    def caught_up(self, timeout: float = 30) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        with self.primary.connect() as conn:
            wanted = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + timeout
        with self.standby.connect() as conn:
            while True:
                row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (wanted,)).fetchone()
                if row and row[0]:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"the standby did not replay up to {wanted} in {timeout} s")
                time.sleep(0.1)


PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 200
"""


@contextlib.contextmanager
def streaming_pair() -> Iterator[Pair]:
    """A private primary and its hot standby, started; both stopped and removed afterwards."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's server programs (initdb, pg_basebackup) are not installed")
    folder = Path(tempfile.mkdtemp(prefix="eldercare-replica-"))
    owner = _owner()
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    primary = Server(bin_dir, folder / "primary", free_port(), folder)
    standby = Server(bin_dir, folder / "standby", free_port(), folder)
    try:
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write(PRIMARY_CONF.format(sockets=folder))
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        primary.start()
        with primary.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        args = ("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D", str(standby.data))
        primary.run("pg_basebackup", *args, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
        standby.start()
        yield Pair(primary, standby)
    finally:
        for server in (standby, primary):
            server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
