"""The local stack's service table: every service (port, URL, data folder, group) and every long-lived
program supervisord runs (argv, environment, stop behaviour), real processes on loopback with their data
and logs in the state folder. The verbs (`up`, `down`, `status` ...) are :mod:`radiostars.stack.lifecycle`.
"""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from radiostars.config import Settings, inherited_env

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
MARIADB_SERVER = Path("/usr/sbin/mariadbd")
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Service:
    name: str  # supervisor program name
    port_key: str  # the .env key of its port
    group: str  # 'core' (data services), 'spark', 'airflow'
    url: Callable[[Settings], str]
    data: Callable[[Settings], Path | None]


SERVICES: tuple[Service, ...] = (
    Service(
        "mariadb",
        "MYSQL_PORT",
        "core",
        lambda s: f"mysql://{s['MYSQL_HOST']}:{s.mysql_port}/{s['MYSQL_DATABASE']}",
        lambda s: s.data_dir / "mariadb",
    ),
    Service(
        "postgres",
        "POSTGRES_PORT",
        "core",
        lambda s: f"postgresql://{s['POSTGRES_HOST']}:{s.postgres_port}/{s['POSTGRES_WAREHOUSE_DB']}",
        lambda s: postgres_dirs(s).data,
    ),
    Service("minio", "MINIO_PORT", "core", lambda s: s.minio_url, lambda s: s.data_dir / "minio"),
    Service(
        "minio-console",
        "MINIO_CONSOLE_PORT",
        "core",
        lambda s: f"http://{s['MINIO_HOST']}:{s.port('MINIO_CONSOLE_PORT')}",
        lambda s: None,
    ),
    Service(
        "spark-master",
        "SPARK_MASTER_PORT",
        "spark",
        lambda s: f"{s.spark_standalone_url}  (UI http://{s['SPARK_MASTER_HOST']}:{s.port('SPARK_MASTER_WEBUI_PORT')})",
        lambda s: None,
    ),
    Service(
        "spark-worker",
        "SPARK_WORKER_WEBUI_PORT",
        "spark",
        lambda s: f"http://{s['SPARK_MASTER_HOST']}:{s.port('SPARK_WORKER_WEBUI_PORT')}",
        lambda s: s.data_dir / "spark-work",
    ),
    Service("airflow-api-server", "AIRFLOW_PORT", "airflow", lambda s: s.airflow_url, lambda s: s.airflow_home),
    Service("airflow-scheduler", "", "airflow", lambda s: "-", lambda s: None),
    Service("airflow-dag-processor", "", "airflow", lambda s: "-", lambda s: None),
    Service("airflow-triggerer", "", "airflow", lambda s: "-", lambda s: None),
)

GROUPS = {
    "core": ["mariadb", "postgres", "minio"],
    "spark": ["spark-master", "spark-worker"],
    "airflow": ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"],
}


def run_dir(settings: Settings) -> Path:
    return settings.state_dir / "run"


@dataclass(frozen=True)
class PostgresDirs:
    base: Path  # 0700, owned by the service user: holds the two below (and initdb's password file)
    data: Path
    socket: Path


def postgres_dirs(settings: Settings) -> PostgresDirs:
    """Where the cluster's data directory and socket live, each 0700 and owned by the user postgres runs as.

    As an ordinary user: the state folder (the user owns the checkout). As root, postgres runs as the
    `postgres` service user, who cannot traverse a checkout inside a private (0700) directory, e.g. /root or
    a `mktemp -d`: its state is then kept in that user's own home, in a folder derived from the checkout's
    state path and a random token kept in it (``~postgres/radiostars/<sha1(state_dir + token)[:12]>``): a checkout
    deleted and cloned again at the same path gets a new cluster, not the old one with the old passwords (seen:
    "password authentication failed" on a re-clone). A cluster made earlier inside the state folder stays there."""
    import hashlib
    import pwd
    import secrets

    legacy = PostgresDirs(settings.state_dir, settings.data_dir / "postgres", run_dir(settings) / "pg")
    if os.geteuid() != 0 or (legacy.data / "PG_VERSION").exists():
        return legacy
    token_file = settings.state_dir / "postgres-instance"
    if not token_file.exists():
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(secrets.token_hex(8) + "\n")
    token = token_file.read_text().strip()
    digest = hashlib.sha1(f"{settings.state_dir.resolve()}:{token}".encode()).hexdigest()[:12]
    base = Path(pwd.getpwnam("postgres").pw_dir) / "radiostars" / digest
    return PostgresDirs(base, base / "data", base / "socket")


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def program_specs(settings: Settings) -> dict[str, dict]:
    """Every long-lived process: argv, environment and stop behaviour. supervisord runs each through
    `python -m radiostars.stack.launch NAME`, which rebuilds the spec from the one config and execs it,
    so no secret is written into supervisord.conf."""
    s = settings
    logs = s.logs_dir
    run = run_dir(s)
    spark = spark_home()
    airflow = str(VENV_BIN / "airflow")
    parent_env = inherited_env()
    java = shutil.which("java") or "/usr/bin/java"
    java_home = parent_env.get("JAVA_HOME") or str(Path(os.path.realpath(java)).parents[1])
    base_env = {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": parent_env.get("HOME", "/root"),
        "JAVA_HOME": java_home,
        "LANG": "C.UTF-8",
    }
    spark_env = {
        **base_env,
        "SPARK_HOME": str(spark),
        "SPARK_LOCAL_IP": s["SPARK_MASTER_HOST"],
        "SPARK_LOG_DIR": str(logs),
        "SPARK_NO_DAEMONIZE": "1",
        "SPARK_WORKER_DIR": str(s.data_dir / "spark-work"),
        "PYSPARK_PYTHON": sys.executable,
        # shared-secret authentication (docs/security.md): the master and workers refuse a driver or an executor
        # without the secret; it is read from the environment (never an argv), and a worker hands it to the
        # executors it launches the same way
        "SPARK_DAEMON_JAVA_OPTS": "-Dspark.authenticate=true",
        "_SPARK_AUTH_SECRET": s.secret("SPARK_AUTH_SECRET"),
    }
    # SPARK_LOCAL_IP: the spark-submit drivers the scheduler's tasks start listen on the driver's address only
    airflow_env = {**base_env, **s.airflow_env(), **s.task_secrets_env(), "SPARK_LOCAL_IP": s.spark_driver_bind_address}
    minio_env = {
        **base_env,
        "MINIO_ROOT_USER": s["MINIO_ROOT_USER"],
        "MINIO_ROOT_PASSWORD": s.secret("MINIO_ROOT_PASSWORD"),
        "MINIO_BROWSER": "on",
        "MINIO_UPDATE": "off",
    }
    mariadb_user = "root" if os.geteuid() == 0 else getpass.getuser()
    spark_class = str(spark / "bin" / "spark-class")

    def worker(webui_port: int) -> list[str]:
        return [
            spark_class,
            "org.apache.spark.deploy.worker.Worker",
            "--host",
            s["SPARK_MASTER_HOST"],
            "--cores",
            s["SPARK_WORKER_CORES"],
            "--memory",
            s["SPARK_WORKER_MEMORY"],
            "--webui-port",
            str(webui_port),
            s.spark_standalone_url,
        ]

    return {
        "mariadb": dict(
            argv=[
                str(MARIADB_SERVER),
                "--no-defaults",
                f"--datadir={s.data_dir / 'mariadb'}",
                f"--port={s.mysql_port}",
                f"--bind-address={s['MYSQL_HOST']}",
                f"--socket={run / 'mariadb.sock'}",
                f"--pid-file={run / 'mariadb.pid'}",
                f"--user={mariadb_user}",
                "--local-infile=1",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=512M",
                "--max-allowed-packet=256M",
                "--character-set-server=utf8mb4",
                f"--log-error={logs / 'mariadb.err'}",
            ],
            env=base_env,
            stopwaitsecs=60,
        ),
        # run directly (not through the launcher): it switches to the postgres user, who cannot read .env
        "postgres": dict(
            argv=[
                str(POSTGRES_BIN / "postgres"),
                "-D",
                str(postgres_dirs(s).data),
                "-p",
                str(s.postgres_port),
                "-k",
                str(postgres_dirs(s).socket),
                "-c",
                f"listen_addresses={s['POSTGRES_HOST']}",
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=256MB",
            ],
            env={},
            direct=True,
            user="postgres" if os.geteuid() == 0 else "",
            stopsignal="INT",
            stopwaitsecs=60,
        ),
        "minio": dict(
            argv=[
                str(s.bin_dir / "minio"),
                "server",
                str(s.data_dir / "minio"),
                "--quiet",
                "--address",
                f"{s['MINIO_HOST']}:{s.port('MINIO_PORT')}",
                "--console-address",
                f"{s['MINIO_HOST']}:{s.port('MINIO_CONSOLE_PORT')}",
            ],
            env=minio_env,
            stopwaitsecs=20,
        ),
        "spark-master": dict(
            argv=[
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                s["SPARK_MASTER_HOST"],
                "--port",
                str(s.port("SPARK_MASTER_PORT")),
                "--webui-port",
                str(s.port("SPARK_MASTER_WEBUI_PORT")),
            ],
            env=spark_env,
            stopwaitsecs=20,
            stopasgroup=True,
        ),
        "spark-worker": dict(
            argv=worker(s.port("SPARK_WORKER_WEBUI_PORT")),
            env=spark_env,
            stopwaitsecs=20,
            stopasgroup=True,
        ),
        # a second worker, started only for cluster tests and scaling runs (`radiostars stack workers 2`)
        "spark-worker-2": dict(
            argv=worker(s.port("SPARK_WORKER_WEBUI_PORT") + 1),
            env={**spark_env, "SPARK_WORKER_DIR": str(s.data_dir / "spark-work-2")},
            stopwaitsecs=20,
            stopasgroup=True,
        ),
        "airflow-api-server": dict(
            argv=[
                airflow,
                "api-server",
                "--host",
                s["AIRFLOW_BIND_HOST"] or s["AIRFLOW_HOST"],
                "--port",
                str(s.port("AIRFLOW_PORT")),
            ],
            env=airflow_env,
            stopwaitsecs=30,
            stopasgroup=True,
        ),
        # --skip-serve-logs: task logs are local files the api-server reads itself; Airflow's log server
        # would listen on every interface (its host is hard-coded)
        "airflow-scheduler": dict(
            argv=[airflow, "scheduler", "--skip-serve-logs"],
            env=airflow_env,
            stopwaitsecs=30,
            stopasgroup=True,
        ),
        "airflow-dag-processor": dict(
            argv=[airflow, "dag-processor"], env=airflow_env, stopwaitsecs=30, stopasgroup=True
        ),
        "airflow-triggerer": dict(
            argv=[airflow, "triggerer", "--skip-serve-logs"],
            env=airflow_env,
            stopwaitsecs=30,
            stopasgroup=True,
        ),
    }
