"""A checkout inside a private (0700) directory, as root: the postgres service user cannot traverse it,
so its cluster lives in a 0700 folder of its own (radiostars.stack.services.postgres_dirs); initdb,
the server and scram-sha-256 on the local socket work there. ~15 s; needs no running stack."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from radiostars.config import GENERATED_SECRETS, load_settings
from radiostars.stack.databases import init_postgres_cluster
from radiostars.stack.services import POSTGRES_BIN, postgres_dirs

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(os.geteuid() != 0, reason="the failure is root's: as an ordinary user postgres runs as you")
def test_postgres_starts_from_a_checkout_in_a_0700_directory():
    private = Path(tempfile.mkdtemp(prefix="radiostars-private-"))  # 0700, like /root or a mktemp -d
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    port = _free_port()
    secrets = {key: f"test-secret-{key.lower()}-{os.getpid()}" for key in GENERATED_SECRETS}
    s = load_settings(
        environ={**secrets, "RADIOSTARS_STATE_DIR": str(private / "checkout" / ".local"), "POSTGRES_PORT": str(port)},
        env_file=private / "none",
    )
    dirs = postgres_dirs(s)
    assert not dirs.base.is_relative_to(private)
    server = None
    try:
        init_postgres_cluster(s)
        for folder in (dirs.base, dirs.data, dirs.socket):
            st = folder.stat()
            assert oct(st.st_mode & 0o777) == "0o700" and st.st_uid == pwd.getpwnam("postgres").pw_uid, folder
        assert not any(dirs.socket.iterdir())  # initdb's password file is gone
        server = subprocess.Popen(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(POSTGRES_BIN / "postgres"),
                "-D",
                str(dirs.data),
                "-p",
                str(port),
                "-k",
                str(dirs.socket),
                "-c",
                "listen_addresses=127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(s.postgres_dsn("postgres", superuser=True), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        with pytest.raises(psycopg.OperationalError):  # scram-sha-256 on the local socket too: no password, no entry
            psycopg.connect(
                host=str(dirs.socket), port=port, dbname="postgres", user=s["POSTGRES_USER"], connect_timeout=5
            ).close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(dirs.base, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
