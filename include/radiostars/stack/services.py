"""The local stack: real MariaDB, PostgreSQL + q3c, MinIO, Spark standalone and Airflow 3 processes on
loopback, supervised by `supervisord` (PyPI `supervisor`), with all data and logs in the state folder.

`up` initialises what is missing (datadirs, users, databases, bucket, Airflow metadata), then starts
the services in dependency order and waits until each answers. Everything is idempotent.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import getpass

from radiostars.config import Settings, inherited_env

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
MARIADB_SERVER = Path("/usr/sbin/mariadbd")
VENV_BIN = Path(sys.executable).parent


class StackError(RuntimeError):
    """A service could not be set up or started; the message says what to do."""


@dataclass(frozen=True)
class Service:
    name: str  # supervisor program name
    port_key: str  # the .env key of its port
    group: str  # 'core' (data services), 'spark', 'airflow'
    url: Callable[[Settings], str]
    data: Callable[[Settings], Path | None]


SERVICES: tuple[Service, ...] = (
    Service("mariadb", "MYSQL_PORT", "core",
            lambda s: f"mysql://{s['MYSQL_HOST']}:{s.mysql_port}/{s['MYSQL_DATABASE']}",
            lambda s: s.data_dir / "mariadb"),
    Service("postgres", "POSTGRES_PORT", "core",
            lambda s: f"postgresql://{s['POSTGRES_HOST']}:{s.postgres_port}/{s['POSTGRES_WAREHOUSE_DB']}",
            lambda s: s.data_dir / "postgres"),
    Service("minio", "MINIO_PORT", "core", lambda s: s.minio_url, lambda s: s.data_dir / "minio"),
    Service("minio-console", "MINIO_CONSOLE_PORT", "core",
            lambda s: f"http://{s['MINIO_HOST']}:{s.port('MINIO_CONSOLE_PORT')}", lambda s: None),
    Service("spark-master", "SPARK_MASTER_PORT", "spark",
            lambda s: f"{s.spark_standalone_url}  (UI http://{s['SPARK_MASTER_HOST']}:{s.port('SPARK_MASTER_WEBUI_PORT')})",
            lambda s: None),
    Service("spark-worker", "SPARK_WORKER_WEBUI_PORT", "spark",
            lambda s: f"http://{s['SPARK_MASTER_HOST']}:{s.port('SPARK_WORKER_WEBUI_PORT')}",
            lambda s: s.data_dir / "spark-work"),
    Service("airflow-api-server", "AIRFLOW_PORT", "airflow", lambda s: s.airflow_url,
            lambda s: s.airflow_home),
    Service("airflow-scheduler", "", "airflow", lambda s: "-", lambda s: None),
    Service("airflow-dag-processor", "", "airflow", lambda s: "-", lambda s: None),
    Service("airflow-triggerer", "", "airflow", lambda s: "-", lambda s: None),
)


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------
def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        return sock.connect_ex((host, port)) == 0


def wait_for(check: Callable[[], bool], what: str, timeout_s: float, log_hint: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - a service that is still starting may raise anything
            pass
        time.sleep(0.5)
    raise StackError(f"{what} did not become ready within {timeout_s:.0f} s{log_hint}")


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def run(cmd: list[str], what: str, env: dict | None = None, user: str | None = None,
        input_text: str | None = None) -> str:
    if user is not None and os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, input=input_text)
    if result.returncode != 0:
        raise StackError(f"{what} failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()[-1500:]}")
    return result.stdout


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
        raise StackError("missing system packages: " + " ".join(missing)
                         + f" — run `make setup` (or: sudo apt-get install {' '.join(missing)})")


# ---------------------------------------------------------------------------------------------
# supervisor
# ---------------------------------------------------------------------------------------------
def run_dir(settings: Settings) -> Path:
    return settings.state_dir / "run"


def supervisor_conf_path(settings: Settings) -> Path:
    return settings.state_dir / "supervisord.conf"


def _env_line(env: dict[str, str]) -> str:
    # supervisor: KEY="value" pairs, comma separated; '%' must be doubled (its own interpolation)
    def quote(value: str) -> str:
        return '"' + value.replace("%", "%%").replace('"', '\\"') + '"'

    return ",".join(f"{key}={quote(value)}" for key, value in env.items())


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
    base_env = {"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": parent_env.get("HOME", "/root"),
                "JAVA_HOME": java_home, "LANG": "C.UTF-8"}
    spark_env = {**base_env, "SPARK_HOME": str(spark), "SPARK_LOCAL_IP": s["SPARK_MASTER_HOST"],
                 "SPARK_LOG_DIR": str(logs), "SPARK_NO_DAEMONIZE": "1",
                 "SPARK_WORKER_DIR": str(s.data_dir / "spark-work"), "PYSPARK_PYTHON": sys.executable}
    airflow_env = {**base_env, **s.airflow_env()}
    minio_env = {**base_env, "MINIO_ROOT_USER": s["MINIO_ROOT_USER"],
                 "MINIO_ROOT_PASSWORD": s["MINIO_ROOT_PASSWORD"], "MINIO_BROWSER": "on", "MINIO_UPDATE": "off"}
    mariadb_user = "root" if os.geteuid() == 0 else getpass.getuser()
    spark_class = str(spark / "bin" / "spark-class")

    def worker(webui_port: int) -> list[str]:
        return [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", s["SPARK_MASTER_HOST"],
                "--cores", s["SPARK_WORKER_CORES"], "--memory", s["SPARK_WORKER_MEMORY"],
                "--webui-port", str(webui_port), s.spark_standalone_url]

    return {
        "mariadb": dict(argv=[str(MARIADB_SERVER), "--no-defaults", f"--datadir={s.data_dir / 'mariadb'}",
                              f"--port={s.mysql_port}", f"--bind-address={s['MYSQL_HOST']}",
                              f"--socket={run / 'mariadb.sock'}", f"--pid-file={run / 'mariadb.pid'}",
                              f"--user={mariadb_user}", "--local-infile=1", "--skip-name-resolve",
                              "--innodb-buffer-pool-size=512M", "--max-allowed-packet=256M",
                              "--character-set-server=utf8mb4", f"--log-error={logs / 'mariadb.err'}"],
                        env=base_env, stopsignal="TERM", stopwaitsecs=60),
        # run directly (not through the launcher): it switches to the postgres user, who cannot read .env
        "postgres": dict(argv=[str(POSTGRES_BIN / "postgres"), "-D", str(s.data_dir / "postgres"),
                               "-p", str(s.postgres_port), "-k", str(run / "pg"),
                               "-c", f"listen_addresses={s['POSTGRES_HOST']}", "-c", "max_connections=200",
                               "-c", "shared_buffers=256MB"],
                         env={}, direct=True, user="postgres" if os.geteuid() == 0 else "",
                         stopsignal="INT", stopwaitsecs=60),
        "minio": dict(argv=[str(s.bin_dir / "minio"), "server", str(s.data_dir / "minio"), "--quiet",
                            "--address", f"{s['MINIO_HOST']}:{s.port('MINIO_PORT')}",
                            "--console-address", f"{s['MINIO_HOST']}:{s.port('MINIO_CONSOLE_PORT')}"],
                      env=minio_env, stopsignal="TERM", stopwaitsecs=20),
        "spark-master": dict(argv=[spark_class, "org.apache.spark.deploy.master.Master", "--host",
                                   s["SPARK_MASTER_HOST"], "--port", str(s.port("SPARK_MASTER_PORT")),
                                   "--webui-port", str(s.port("SPARK_MASTER_WEBUI_PORT"))],
                             env=spark_env, stopsignal="TERM", stopwaitsecs=20, stopasgroup=True),
        "spark-worker": dict(argv=worker(s.port("SPARK_WORKER_WEBUI_PORT")), env=spark_env,
                             stopsignal="TERM", stopwaitsecs=20, stopasgroup=True),
        # a second worker, started only for cluster tests and scaling runs (`radiostars stack workers 2`)
        "spark-worker-2": dict(argv=worker(s.port("SPARK_WORKER_WEBUI_PORT") + 1),
                               env={**spark_env, "SPARK_WORKER_DIR": str(s.data_dir / "spark-work-2")},
                               stopsignal="TERM", stopwaitsecs=20, stopasgroup=True),
        "airflow-api-server": dict(argv=[airflow, "api-server", "--host",
                                         s["AIRFLOW_BIND_HOST"] or s["AIRFLOW_HOST"], "--port",
                                         str(s.port("AIRFLOW_PORT"))],
                                   env=airflow_env, stopsignal="TERM", stopwaitsecs=30, stopasgroup=True),
        "airflow-scheduler": dict(argv=[airflow, "scheduler"], env=airflow_env, stopsignal="TERM",
                                  stopwaitsecs=30, stopasgroup=True),
        "airflow-dag-processor": dict(argv=[airflow, "dag-processor"], env=airflow_env, stopsignal="TERM",
                                      stopwaitsecs=30, stopasgroup=True),
        "airflow-triggerer": dict(argv=[airflow, "triggerer"], env=airflow_env, stopsignal="TERM",
                                  stopwaitsecs=30, stopasgroup=True),
    }


def render_supervisor_conf(settings: Settings) -> str:
    """supervisord.conf for every long-lived process; all autostart=false: `up` starts them in order."""
    s = settings
    logs = s.logs_dir
    run = run_dir(s)
    lines = [
        "; generated by `radiostars stack up` from .env — do not edit (it is rewritten on every start)",
        "[unix_http_server]", f"file={run / 'supervisor.sock'}", "",
        "[supervisord]", f"logfile={logs / 'supervisord.log'}", f"pidfile={run / 'supervisord.pid'}",
        f"directory={s.project_root}", f"childlogdir={logs}", "minfds=4096", "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
        "[supervisorctl]", f"serverurl=unix://{run / 'supervisor.sock'}", "",
    ]
    for name, spec in program_specs(s).items():
        command = (" ".join(spec["argv"]) if spec.get("direct")
                   else f"{sys.executable} -m radiostars.stack.launch {name}")
        lines += [f"[program:{name}]", f"command={command}", "autostart=false",
                  "autorestart=unexpected", "startsecs=3", "startretries=2",
                  f"stdout_logfile={logs / (name + '.log')}", "redirect_stderr=true",
                  "stdout_logfile_maxbytes=20MB", "stdout_logfile_backups=2",
                  f"stopsignal={spec['stopsignal']}", f"stopwaitsecs={spec['stopwaitsecs']}",
                  f"environment=RADIOSTARS_STATE_DIR=\"{s.state_dir}\""]
        if spec.get("user"):
            lines.append(f"user={spec['user']}")
        if spec.get("stopasgroup"):
            lines += ["stopasgroup=true", "killasgroup=true"]
        lines.append("")
    return "\n".join(lines)


def supervisorctl(settings: Settings, *args: str, check: bool = True) -> str:
    result = subprocess.run([str(VENV_BIN / "supervisorctl"), "-c", str(supervisor_conf_path(settings)), *args],
                            capture_output=True, text=True)
    # supervisorctl exits 3 for 'status' when some program is not running: not an error here
    if check and result.returncode not in (0, 3):
        raise StackError(f"supervisorctl {' '.join(args)} failed: {(result.stdout + result.stderr).strip()}")
    return result.stdout


def supervisord_running(settings: Settings) -> bool:
    sock = run_dir(settings) / "supervisor.sock"
    if not sock.exists():
        return False
    result = subprocess.run([str(VENV_BIN / "supervisorctl"), "-c", str(supervisor_conf_path(settings)), "pid"],
                            capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip().isdigit()


def program_states(settings: Settings) -> dict[str, str]:
    if not supervisord_running(settings):
        return {}
    states = {}
    for line in supervisorctl(settings, "status", check=False).splitlines():
        parts = line.split()
        if len(parts) >= 2:
            states[parts[0]] = parts[1]
    return states


def ensure_supervisord(settings: Settings) -> None:
    for folder in (settings.logs_dir, run_dir(settings), run_dir(settings) / "pg", settings.data_dir):
        folder.mkdir(parents=True, exist_ok=True)
    conf = supervisor_conf_path(settings)
    rendered = render_supervisor_conf(settings)
    changed = not conf.exists() or conf.read_text() != rendered
    conf.write_text(rendered)
    conf.chmod(0o600)  # it carries the local passwords
    if supervisord_running(settings):
        if changed:
            supervisorctl(settings, "reread")
            supervisorctl(settings, "update")
        return
    run([str(VENV_BIN / "supervisord"), "-c", str(conf)], "starting supervisord")
    wait_for(lambda: supervisord_running(settings), "supervisord", 15)


def start_program(settings: Settings, name: str) -> None:
    if program_states(settings).get(name) == "RUNNING":
        return
    out = supervisorctl(settings, "start", name, check=False)
    if "ERROR" in out and "already started" not in out:
        tail = log_tail(settings, name)
        raise StackError(f"{name} failed to start: {out.strip()}\n--- last lines of {name}.log ---\n{tail}")


def log_tail(settings: Settings, name: str, lines: int = 25) -> str:
    candidates = [settings.logs_dir / f"{name}.log"]
    if name == "mariadb":
        candidates.append(settings.logs_dir / "mariadb.err")
    out = []
    for path in candidates:
        if path.exists():
            out += path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------------------------
def check_ports_free(settings: Settings, names: list[str]) -> None:
    """A port taken by something that is not ours gives a message naming the port and the key."""
    states = program_states(settings)
    for service in SERVICES:
        if service.name not in names or not service.port_key or states.get(service.name) == "RUNNING":
            continue
        host = settings["AIRFLOW_HOST"] if service.group == "airflow" else "127.0.0.1"
        port = settings.port(service.port_key)
        if port_open(host, port):
            raise StackError(f"port {port} ({service.name}) is already in use by another process: stop it, "
                             f"or set {service.port_key} to a free port in .env")


# ---------------------------------------------------------------------------------------------
# per-service initialisation (idempotent)
# ---------------------------------------------------------------------------------------------
def init_mariadb_datadir(settings: Settings) -> None:
    datadir = settings.data_dir / "mariadb"
    if (datadir / "mysql").exists():
        return
    datadir.mkdir(parents=True, exist_ok=True)
    user = "root" if os.geteuid() == 0 else getpass.getuser()
    run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", f"--user={user}",
         "--auth-root-authentication-method=normal", "--skip-test-db"], "mariadb-install-db")


def bootstrap_mariadb(settings: Settings) -> None:
    """Root password, the catalogue database and the app user (root over TCP for tests and seeding)."""
    import pymysql

    s = settings
    sock = str(run_dir(s) / "mariadb.sock")
    try:  # a fresh datadir: root without password over the socket
        conn = pymysql.connect(unix_socket=sock, user="root", password="")
    except pymysql.err.OperationalError:
        conn = pymysql.connect(unix_socket=sock, user="root", password=s["MYSQL_ROOT_PASSWORD"])
    db, user = s["MYSQL_DATABASE"], s["MYSQL_USER"]
    pw, root_pw = conn.escape(s["MYSQL_PASSWORD"]), conn.escape(s["MYSQL_ROOT_PASSWORD"])
    statements = [
        f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4",
        f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY {pw}",
        f"ALTER USER '{user}'@'%' IDENTIFIED BY {pw}",
        f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'%'",
        f"GRANT ALL PRIVILEGES ON `{db}\\_%`.* TO '{user}'@'%'",  # catalogues_test etc. for tests
        f"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY {root_pw}",
        f"ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY {root_pw}",
        "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
        f"ALTER USER 'root'@'localhost' IDENTIFIED BY {root_pw}",
        "FLUSH PRIVILEGES",
    ]
    with conn.cursor() as cur:
        for sql in statements:
            cur.execute(sql)
    conn.commit()
    conn.close()


def init_postgres_cluster(settings: Settings) -> None:
    datadir = settings.data_dir / "postgres"
    if (datadir / "PG_VERSION").exists():
        return
    datadir.mkdir(parents=True, exist_ok=True)
    (run_dir(settings) / "pg").mkdir(parents=True, exist_ok=True)
    pwfile = run_dir(settings) / "pg.pw"
    pwfile.write_text(settings["POSTGRES_PASSWORD"] + "\n")
    user = None
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        user = "postgres"
        shutil.chown(datadir, "postgres", "postgres")
        shutil.chown(run_dir(settings) / "pg", "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    try:
        run([str(POSTGRES_BIN / "initdb"), "-D", str(datadir), "-U", settings["POSTGRES_USER"],
             f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
             "--locale=C"], "initdb", user=user)
    finally:
        pwfile.unlink(missing_ok=True)


def bootstrap_postgres(settings: Settings) -> None:
    """Databases `airflow` and `warehouse`, q3c in the warehouse (idempotent)."""
    import psycopg

    s = settings
    with psycopg.connect(s.postgres_dsn("postgres"), autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for db in (s["POSTGRES_AIRFLOW_DB"], s["POSTGRES_WAREHOUSE_DB"]):
            if db not in existing:
                conn.execute(f'CREATE DATABASE "{db}"')
    with psycopg.connect(s.postgres_dsn(), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS q3c")


def bootstrap_minio(settings: Settings) -> None:
    from radiostars.lake import lake_client

    client = lake_client(settings)
    if not client.bucket_exists(settings.lake_bucket):
        client.make_bucket(settings.lake_bucket)


def airflow_cli_env(settings: Settings) -> dict[str, str]:
    return {**inherited_env(), **settings.airflow_env()}


def bootstrap_airflow(settings: Settings) -> None:
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    (settings.logs_dir / "airflow").mkdir(parents=True, exist_ok=True)
    passwords = home / "simple_auth_manager_passwords.json"
    passwords.write_text(json.dumps({settings["AIRFLOW_ADMIN_USER"]: settings["AIRFLOW_ADMIN_PASSWORD"]}))
    passwords.chmod(0o600)
    run([str(VENV_BIN / "airflow"), "db", "migrate"], "airflow db migrate", env=airflow_cli_env(settings))


# ---------------------------------------------------------------------------------------------
# readiness checks
# ---------------------------------------------------------------------------------------------
def mariadb_ready(settings: Settings) -> bool:
    import pymysql

    conn = pymysql.connect(unix_socket=str(run_dir(settings) / "mariadb.sock"), user="root",
                           password=settings["MYSQL_ROOT_PASSWORD"], connect_timeout=2)
    conn.close()
    return True


def mariadb_socket_ready(settings: Settings) -> bool:
    return (run_dir(settings) / "mariadb.sock").exists() and port_open("127.0.0.1", settings.mysql_port)


def postgres_ready(settings: Settings) -> bool:
    result = subprocess.run([str(POSTGRES_BIN / "pg_isready"), "-h", settings["POSTGRES_HOST"], "-p",
                             str(settings.postgres_port)], capture_output=True)
    return result.returncode == 0


def minio_ready(settings: Settings) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"{settings.minio_url}/minio/health/ready", timeout=2) as resp:
        return resp.status == 200


def airflow_ready(settings: Settings) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"{settings.airflow_url}/api/v2/monitor/health", timeout=3) as resp:
        health = json.load(resp)
    return (health.get("metadatabase", {}).get("status") == "healthy"
            and health.get("scheduler", {}).get("status") == "healthy"
            and health.get("dag_processor", {}).get("status") == "healthy"
            and health.get("triggerer", {}).get("status") == "healthy")


# ---------------------------------------------------------------------------------------------
# the verbs
# ---------------------------------------------------------------------------------------------
GROUPS = {
    "core": ["mariadb", "postgres", "minio"],
    "spark": ["spark-master", "spark-worker"],
    "airflow": ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"],
}


def up(settings: Settings, groups: list[str] | None = None, log=print) -> None:
    from radiostars.stack.jars import ensure_jars
    from radiostars.stack.minio_binary import ensure_minio

    groups = groups or ["core", "spark", "airflow"]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise StackError(f"unknown service group(s) {sorted(unknown)}; choose from {sorted(GROUPS)}")
    if "airflow" in groups and "core" not in groups:
        groups = ["core", *groups]  # Airflow's metadata lives in Postgres
    check_prerequisites(settings)
    ensure_minio(settings.bin_dir, log=log)
    ensure_jars(settings.jars_dir, log=log)
    init_mariadb_datadir(settings)
    init_postgres_cluster(settings)
    ensure_supervisord(settings)
    names = [name for group in groups for name in GROUPS[group]]
    check_ports_free(settings, names)
    hint = " — see `make logs`"
    t0 = time.monotonic()
    if "core" in groups:
        for name in GROUPS["core"]:
            start_program(settings, name)
        wait_for(lambda: mariadb_socket_ready(settings), "MariaDB", 60, hint)
        bootstrap_mariadb(settings)
        wait_for(lambda: mariadb_ready(settings), "MariaDB", 30, hint)
        wait_for(lambda: postgres_ready(settings), "PostgreSQL", 60, hint)
        bootstrap_postgres(settings)
        wait_for(lambda: minio_ready(settings), "MinIO", 60, hint)
        bootstrap_minio(settings)
        log(f"core services up (MariaDB, PostgreSQL+q3c, MinIO) in {time.monotonic() - t0:.1f} s")
    if "spark" in groups:
        start_program(settings, "spark-master")
        wait_for(lambda: port_open(settings["SPARK_MASTER_HOST"], settings.port("SPARK_MASTER_PORT")),
                 "Spark master", 60, hint)
        start_program(settings, "spark-worker")
        wait_for(lambda: len(spark_alive_workers(settings)) >= 1, "Spark worker", 60, hint)
        log(f"Spark standalone master + worker up at {settings.spark_standalone_url}")
    if "airflow" in groups:
        t1 = time.monotonic()
        bootstrap_airflow(settings)
        for name in GROUPS["airflow"]:
            start_program(settings, name)
        wait_for(lambda: airflow_ready(settings), "Airflow (api-server + scheduler + dag-processor + triggerer)",
                 180, hint)
        log(f"Airflow up at {settings.airflow_url} in {time.monotonic() - t1:.1f} s")


def spark_alive_workers(settings: Settings) -> list[dict]:
    import urllib.request

    url = f"http://{settings['SPARK_MASTER_HOST']}:{settings.port('SPARK_MASTER_WEBUI_PORT')}/json/"
    with urllib.request.urlopen(url, timeout=3) as resp:
        state = json.load(resp)
    return [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]


def set_spark_workers(settings: Settings, count: int) -> None:
    """Run 1 or 2 local standalone workers (cluster tests and scaling measurements)."""
    if count not in (1, 2):
        raise StackError("the local standalone cluster runs 1 or 2 workers")
    ensure_supervisord(settings)
    start_program(settings, "spark-master")
    start_program(settings, "spark-worker")
    if count == 2:
        start_program(settings, "spark-worker-2")
    elif program_states(settings).get("spark-worker-2") == "RUNNING":
        supervisorctl(settings, "stop", "spark-worker-2")
    wait_for(lambda: len(spark_alive_workers(settings)) == count, f"{count} Spark worker(s)", 90)


def down(settings: Settings, log=print) -> None:
    if not supervisord_running(settings):
        log("stack is not running")
        return
    supervisorctl(settings, "stop", "all")
    supervisorctl(settings, "shutdown")
    wait_for(lambda: not supervisord_running(settings), "supervisord shutdown", 60)
    log("stack stopped")


def is_up(settings: Settings) -> bool:
    states = program_states(settings)
    return bool(states) and all(states.get(name) == "RUNNING" for group in GROUPS.values() for name in group)


def status(settings: Settings) -> list[dict[str, str]]:
    states = program_states(settings)
    rows = []
    for service in SERVICES:
        program = "minio" if service.name == "minio-console" else service.name
        data = service.data(settings)
        rows.append({
            "service": service.name,
            "state": states.get(program, "STOPPED" if states else "DOWN").lower(),
            "port": str(settings.port(service.port_key)) if service.port_key else "-",
            "url": service.url(settings),
            "data": str(data.relative_to(settings.project_root)) if data and data.is_relative_to(settings.project_root) else (str(data) if data else "-"),
        })
    return rows


def format_status(rows: list[dict[str, str]]) -> str:
    headers = ["service", "state", "port", "url", "data"]
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in headers}
    lines = ["  ".join(h.upper().ljust(widths[h]) for h in headers)]
    lines += ["  ".join(r[h].ljust(widths[h]) for h in headers) for r in rows]
    return "\n".join(lines)


def logs(settings: Settings, lines: int = 30) -> str:
    out = []
    for path in sorted(settings.logs_dir.glob("*.log")) + sorted(settings.logs_dir.glob("*.err")):
        text = path.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"==> {path.relative_to(settings.project_root) if path.is_relative_to(settings.project_root) else path} <==")
        out += text
    return "\n".join(out) if out else f"no logs yet in {settings.logs_dir}"


STATE_SUBDIRS = ("data", "logs", "run", "airflow", "truth", "supervisord.conf")
CACHE_SUBDIRS = ("bin", "jars", "tools")


def clean(settings: Settings, include_caches: bool = False, log=print) -> None:
    """Remove the local state (service data, logs, Airflow home, truth); with include_caches also the
    cached MinIO binary, jars and tools, which otherwise survive so the next `make up` is quick."""
    down(settings, log=log)
    for name in STATE_SUBDIRS + (CACHE_SUBDIRS if include_caches else ()):
        path = settings.state_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    log(f"removed local state in {settings.state_dir}" + (" (caches too)" if include_caches else ""))
