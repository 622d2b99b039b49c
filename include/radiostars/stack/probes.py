"""Is it there, is it up: prerequisites, free ports, and the readiness check of each service."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from radiostars.config import Settings
from radiostars.stack.process import StackError, port_open
from radiostars.stack.services import MARIADB_SERVER, POSTGRES_BIN, SERVICES, run_dir
from radiostars.stack.supervisor import program_states


def check_prerequisites(settings: Settings) -> None:
    """A missing system package gives a message saying what to install."""
    missing = []
    if not MARIADB_SERVER.exists():
        missing.append("mariadb-server")
    if not (POSTGRES_BIN / "postgres").exists():
        missing.append("postgresql-15")
    if not Path("/usr/share/postgresql/15/extension/q3c.control").exists():
        missing.append("postgresql-15-q3c")
    if shutil.which("java") is None:
        missing.append("openjdk-17-jre-headless")
    if missing:
        raise StackError(
            "missing system packages: "
            + " ".join(missing)
            + f" — run `make setup` (or: sudo apt-get install {' '.join(missing)})"
        )


def check_ports_free(settings: Settings, names: list[str]) -> None:
    """A port taken by something that is not ours gives a message naming the port and the key."""
    states = program_states(settings)
    for service in SERVICES:
        if service.name not in names or not service.port_key or states.get(service.name) == "RUNNING":
            continue
        host = settings["AIRFLOW_HOST"] if service.group == "airflow" else "127.0.0.1"
        port = settings.port(service.port_key)
        if port_open(host, port):
            raise StackError(
                f"port {port} ({service.name}) is already in use by another process: stop it, "
                f"or set {service.port_key} to a free port in .env"
            )


def mariadb_ready(settings: Settings) -> bool:
    import pymysql

    conn = pymysql.connect(
        unix_socket=str(run_dir(settings) / "mariadb.sock"),
        user="root",
        password=settings.secret("MYSQL_ROOT_PASSWORD"),
        connect_timeout=2,
    )
    conn.close()
    return True


def mariadb_socket_ready(settings: Settings) -> bool:
    return (run_dir(settings) / "mariadb.sock").exists() and port_open("127.0.0.1", settings.mysql_port)


def postgres_ready(settings: Settings) -> bool:
    result = subprocess.run(
        [str(POSTGRES_BIN / "pg_isready"), "-h", settings["POSTGRES_HOST"], "-p", str(settings.postgres_port)],
        capture_output=True,
    )
    return result.returncode == 0


def minio_ready(settings: Settings) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"{settings.minio_url}/minio/health/ready", timeout=2) as resp:
        return resp.status == 200


def airflow_ready(settings: Settings) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"{settings.airflow_url}/api/v2/monitor/health", timeout=3) as resp:
        health = json.load(resp)
    return (
        health.get("metadatabase", {}).get("status") == "healthy"
        and health.get("scheduler", {}).get("status") == "healthy"
        and health.get("dag_processor", {}).get("status") == "healthy"
        and health.get("triggerer", {}).get("status") == "healthy"
    )


def spark_alive_workers(settings: Settings) -> list[dict]:
    import urllib.request

    url = f"http://{settings['SPARK_MASTER_HOST']}:{settings.port('SPARK_MASTER_WEBUI_PORT')}/json/"
    with urllib.request.urlopen(url, timeout=3) as resp:
        state = json.load(resp)
    return [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
