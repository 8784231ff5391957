"""A throwaway PostgreSQL server for the test suite: initdb in a temporary folder, started on a
free loopback port, stopped and deleted at the end. Uses Debian's postgresql binaries.

PostgreSQL refuses to run as root: as root (CI) the server runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found: install Debian's postgresql package")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    folder: Path
    port: int
    _as_user: list[str]

    @property
    def base_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def url(self, database: str) -> str:
        return f"{self.base_url}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_user, *args], check=True, capture_output=True, text=True)

    def create_database(self, name: str) -> str:
        subprocess.run([_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q",
                        "-c", f'DROP DATABASE IF EXISTS "{name}"', "-c", f'CREATE DATABASE "{name}"'],
                       check=True, capture_output=True, text=True)
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self._as_user, _bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
                        "-w", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> PostgresServer:
    folder = Path(tempfile.mkdtemp(prefix="walkapp-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    server = PostgresServer(folder, port, as_user)
    server._run(_bin("initdb"), "-D", str(folder / "data"), "--auth=trust", "-U", "postgres", "-E", "UTF8",
                "--locale=C.UTF-8")
    # fsync off: a test server loses nothing worth keeping in a crash, and runs much faster.
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " \
              "-c full_page_writes=off -c max_connections=200"
    server._run(_bin("pg_ctl"), "-D", str(folder / "data"), "-o", options, "-l", str(folder / "log"), "-w", "start")
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not start: see {folder / 'log'}")
