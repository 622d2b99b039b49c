"""The one place that reads the environment.

Every other module asks :func:`get_settings` for what it needs; nothing else touches ``os.environ``.
Values come from, in order of precedence: the process environment, then the project's ``.env`` file
(git-ignored, created from ``.env.example`` by ``make setup``), then the defaults written here, which
are the same as ``.env.example``. No secret has a default: every password and key is generated per
machine by ``make setup`` (:data:`GENERATED_SECRETS`), and :meth:`Settings.secret` refuses an empty,
placeholder or formerly-published value, naming the key. The same keys drive ``docker-compose.yaml``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from radiostars.errors import RadiostarsError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# key -> default; keep in step with .env.example (a unit test checks both lists are the same)
DEFAULTS: dict[str, str] = {
    "RADIOSTARS_STATE_DIR": ".local",
    # MariaDB / MySQL: the raw catalogues
    "MYSQL_HOST": "127.0.0.1",
    "MYSQL_PORT": "13306",
    "MYSQL_DATABASE": "catalogues",
    "MYSQL_USER": "radiostars",
    "MYSQL_PASSWORD": "",
    "MYSQL_ROOT_PASSWORD": "",
    "MYSQL_INGEST_USER": "radiostars_ingest",
    "MYSQL_INGEST_PASSWORD": "",
    # PostgreSQL: Airflow metadata + the analytics warehouse
    "POSTGRES_HOST": "127.0.0.1",
    "POSTGRES_PORT": "15432",
    "POSTGRES_USER": "radiostars",
    "POSTGRES_PASSWORD": "",
    "POSTGRES_AIRFLOW_DB": "airflow",
    "POSTGRES_AIRFLOW_USER": "airflow",
    "POSTGRES_AIRFLOW_PASSWORD": "",
    "POSTGRES_WAREHOUSE_DB": "warehouse",
    "WAREHOUSE_USER": "radiostars_warehouse",
    "WAREHOUSE_PASSWORD": "",
    "ANALYST_USER": "analyst",
    "ANALYST_PASSWORD": "",
    # MinIO: the data lake
    "MINIO_HOST": "127.0.0.1",
    "MINIO_PORT": "19000",
    "MINIO_CONSOLE_PORT": "19001",
    "MINIO_ROOT_USER": "radiostars",
    "MINIO_ROOT_PASSWORD": "",
    "MINIO_PIPELINE_USER": "radiostars-pipeline",
    "MINIO_PIPELINE_PASSWORD": "",
    "LAKE_BUCKET": "lake",
    "S3_REGION": "us-east-1",
    # Spark
    "SPARK_MASTER": "local[*]",
    "SPARK_MASTER_HOST": "127.0.0.1",
    "SPARK_MASTER_PORT": "17077",
    "SPARK_MASTER_WEBUI_PORT": "18081",
    "SPARK_WORKER_WEBUI_PORT": "18082",
    "SPARK_WORKER_CORES": "1",
    "SPARK_WORKER_MEMORY": "2g",
    "SPARK_DRIVER_MEMORY": "2g",
    "SPARK_EXECUTOR_MEMORY": "1g",
    "SPARK_SHUFFLE_PARTITIONS": "8",
    "SPARK_DRIVER_HOST": "127.0.0.1",
    "SPARK_DRIVER_BIND_ADDRESS": "",
    "SPARK_AUTH_SECRET": "",
    # Airflow 3
    "AIRFLOW_HOST": "127.0.0.1",
    "AIRFLOW_PORT": "18080",
    "AIRFLOW_BIND_HOST": "",
    "AIRFLOW_ADMIN_USER": "admin",
    "AIRFLOW_ADMIN_PASSWORD": "",
    "AIRFLOW_PARALLELISM": "4",
    "AIRFLOW_SCHEDULER_HEALTH_PORT": "18974",
    "AIRFLOW_FERNET_KEY": "",
    "AIRFLOW_JWT_SECRET": "",
    "AIRFLOW_API_SECRET_KEY": "",
    "INGEST_SCHEDULE": "0 2 * * *",
    "INGEST_QUARANTINE_MAX_FRACTION": "0.05",
    "INGEST_SAFETY_LAG_S": "300",
    # sample data
    "SAMPLE_SEED": "42",
    # timeouts, pools and retries (docs/reliability.md) — every one in this block
    "TASK_TIMEOUT_SCALE": "1",  # multiplies every task execution_timeout and DAG dagrun_timeout
    "MYSQL_STATEMENT_TIMEOUT_S": "900",  # MariaDB max_statement_time of every extract query
    "MYSQL_LOCK_WAIT_TIMEOUT_S": "60",  # MariaDB lock_wait_timeout (a table locked upstream)
    "POSTGRES_STATEMENT_TIMEOUT_S": "1800",  # statement_timeout of the loader and publish connections
    "POSTGRES_LOCK_TIMEOUT_S": "60",  # lock_timeout of the same (incl. the publish advisory lock)
    "SPARK_WORKER_WAIT_S": "120",  # how long the cross-match waits for an alive standalone worker
    "SPARK_POOL_SLOTS": "1",  # Airflow pool `spark`: concurrent Spark jobs the cluster takes
}

# generated into .env by `make setup` (strong random, per machine) when empty or a known default; never
# committed, no default in the code; docs/security.md says which identity each one is
GENERATED_SECRETS = (
    "MYSQL_ROOT_PASSWORD",
    "MYSQL_PASSWORD",
    "MYSQL_INGEST_PASSWORD",
    "POSTGRES_PASSWORD",
    "POSTGRES_AIRFLOW_PASSWORD",
    "WAREHOUSE_PASSWORD",
    "ANALYST_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "MINIO_PIPELINE_PASSWORD",
    "SPARK_AUTH_SECRET",
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
)

# values this project once published as defaults (and the usual placeholders): never accepted as a
# secret; `make setup` replaces them in an existing .env
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "radiostars-local",
        "root-local",
        "analyst-local",
        "admin-local",
        "radiostars-local-secret",
        "changeme",
        "change-me",
        "password",
        "secret",
        "admin",
        "root",
        "minioadmin",
    }
)


def is_weak_secret(value: str) -> bool:
    """Empty, a placeholder (``<...>``, ``CHANGE...``) or a known default: not a usable secret."""
    v = value.strip()
    return (
        not v
        or v.lower() in KNOWN_DEFAULT_SECRETS
        or v.startswith("<")
        or v.upper().startswith("CHANGE")
        or len(v) < 12
    )


class ConfigError(RadiostarsError, ValueError):
    """A configuration value is missing or malformed; the message names the .env key."""


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file (comments, blank lines, optional quotes); missing file -> {}."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ConfigError(f"{path}:{lineno}: expected KEY=value, got {raw!r}")
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _bounded(values: Mapping[str, str], key: str, convert, lo, hi, what: str):
    """values[key] converted and checked to lie in [lo, hi], or a ConfigError saying how to fix it."""
    raw = values[key]
    try:
        value = convert(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not {what}; fix it in .env") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{key}={value} is outside {lo}..{hi}; fix it in .env")
    return value


def _port(values: Mapping[str, str], key: str) -> int:
    return _bounded(values, key, int, 1, 65535, "a port number")


def _fraction(values: Mapping[str, str], key: str) -> float:
    return _bounded(values, key, float, 0.0, 1.0, "a number")


def _count(values: Mapping[str, str], key: str, hi: int = 1_000_000) -> int:
    """A whole number >= 1 (a count of partitions, cores ...)."""
    return _bounded(values, key, int, 1, hi, "a whole number")


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, str] = field(repr=False)

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    def secret(self, key: str) -> str:
        """A generated secret, refused (ConfigError naming the key) when empty, a placeholder or a known
        default: nothing starts on a password someone else could know."""
        value = self.values[key]
        if is_weak_secret(value):
            raise ConfigError(
                f"{key} is empty, a placeholder or a known default: run `make setup` to generate it into .env"
            )
        return value

    def check_secrets(self) -> None:
        """Refuse to start the stack on any weak secret (the first one found is named)."""
        for key in GENERATED_SECRETS:
            self.secret(key)

    def port(self, key: str) -> int:
        return _port(self.values, key)

    def fraction(self, key: str) -> float:
        """A value in [0, 1] (ConfigError naming the key otherwise)."""
        return _fraction(self.values, key)

    def count(self, key: str) -> int:
        """A whole number >= 1 (ConfigError naming the key otherwise)."""
        return _count(self.values, key)

    # ---- ingestion -----------------------------------------------------------------------
    @property
    def ingest_quarantine_max_fraction(self) -> float:
        """Largest fraction of a batch that may be quarantined before the ingestion run fails."""
        return self.fraction("INGEST_QUARANTINE_MAX_FRACTION")

    @property
    def ingest_safety_lag_s(self) -> int:
        """Seconds below the MySQL server's clock that an extract stops at (``updated_at <= now - lag``): a
        row committed at most this long after its ``updated_at`` is always ingested (docs/ingestion.md)."""
        return _bounded(self.values, "INGEST_SAFETY_LAG_S", int, 0, 7 * 86400, "a whole number of seconds")

    # ---- timeouts (docs/reliability.md) ---------------------------------------------------
    def timeout_s(self, key: str) -> int:
        """A timeout in whole seconds, 1 s .. 7 days (ConfigError naming the key otherwise)."""
        return _bounded(self.values, key, int, 1, 7 * 86400, "a whole number of seconds")

    @property
    def task_timeout_scale(self) -> float:
        """Factor on every task's execution_timeout and every DAG's dagrun_timeout (large catalogues: > 1)."""
        return _bounded(self.values, "TASK_TIMEOUT_SCALE", float, 0.01, 100.0, "a number")

    # ---- paths ---------------------------------------------------------------------------
    @property
    def project_root(self) -> Path:
        return PROJECT_ROOT

    @property
    def state_dir(self) -> Path:
        path = Path(self.values["RADIOSTARS_STATE_DIR"])
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def bin_dir(self) -> Path:
        return self.state_dir / "bin"

    @property
    def jars_dir(self) -> Path:
        return self.state_dir / "jars"

    @property
    def spark_conf_dir(self) -> Path:
        """SPARK_CONF_DIR of the drivers pyspark launches: a 0700 folder whose 0600 spark-defaults.conf holds
        the cluster's shared secret (radiostars.spark_engine.session.write_spark_auth_conf)."""
        return self.state_dir / "spark-conf"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow"

    @property
    def dags_dir(self) -> Path:
        return PROJECT_ROOT / "dags"

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def dbt_executable(self) -> Path:
        return PROJECT_ROOT / ".venv-dbt" / "bin" / "dbt"

    @property
    def truth_dir(self) -> Path:
        """Evaluation-only truth of the synthetic sample: never read by the pipeline."""
        return self.state_dir / "truth"

    # ---- MariaDB -------------------------------------------------------------------------
    @property
    def mysql_port(self) -> int:
        return self.port("MYSQL_PORT")

    def mysql_url(self, *, root: bool = False, ingest: bool = False, database: str | None = None) -> str:
        """SQLAlchemy URL (PyMySQL driver) for the catalogue database: as the writer (seeder, loader), the
        SELECT-only ingestion user (``ingest``), or root (setup, tests' scratch databases)."""
        user, password_key = (
            ("root", "MYSQL_ROOT_PASSWORD")
            if root
            else (self["MYSQL_INGEST_USER"], "MYSQL_INGEST_PASSWORD")
            if ingest
            else (self["MYSQL_USER"], "MYSQL_PASSWORD")
        )
        password = self.secret(password_key)
        db = self["MYSQL_DATABASE"] if database is None else database
        return f"mysql+pymysql://{user}:{password}@{self['MYSQL_HOST']}:{self.mysql_port}/{db}"

    # ---- PostgreSQL ----------------------------------------------------------------------
    @property
    def postgres_port(self) -> int:
        return self.port("POSTGRES_PORT")

    def postgres_dsn(
        self,
        database: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        superuser: bool = False,
    ) -> str:
        """libpq DSN (psycopg 3) for the warehouse (or another database of the cluster) as the warehouse
        owner (the loader and dbt), ``user``/``password``, or the cluster superuser (setup only)."""
        db = database or self["POSTGRES_WAREHOUSE_DB"]
        if superuser:
            user, password = self["POSTGRES_USER"], self.secret("POSTGRES_PASSWORD")
        return (
            f"host={self['POSTGRES_HOST']} port={self.postgres_port} dbname={db} "
            f"user={user or self['WAREHOUSE_USER']} password={password or self.secret('WAREHOUSE_PASSWORD')}"
        )

    def postgres_sqlalchemy_url(self, database: str) -> str:
        """Airflow's metadata database, as its own login (owner of that database only)."""
        return (
            f"postgresql+psycopg2://{self['POSTGRES_AIRFLOW_USER']}:{self.secret('POSTGRES_AIRFLOW_PASSWORD')}"
            f"@{self['POSTGRES_HOST']}:{self.postgres_port}/{database}"
        )

    # ---- MinIO / S3 ----------------------------------------------------------------------
    @property
    def minio_endpoint(self) -> str:
        """host:port, as the minio SDK wants it."""
        return f"{self['MINIO_HOST']}:{self.port('MINIO_PORT')}"

    @property
    def minio_url(self) -> str:
        return f"http://{self.minio_endpoint}"

    @property
    def lake_bucket(self) -> str:
        return self["LAKE_BUCKET"]

    def lake_uri(self, key: str = "", scheme: str = "s3a") -> str:
        return f"{scheme}://{self.lake_bucket}/{key.lstrip('/')}"

    # ---- Spark ---------------------------------------------------------------------------
    @property
    def spark_master(self) -> str:
        return self["SPARK_MASTER"]

    @property
    def spark_standalone_url(self) -> str:
        return f"spark://{self['SPARK_MASTER_HOST']}:{self.port('SPARK_MASTER_PORT')}"

    @property
    def spark_shuffle_partitions(self) -> int:
        """spark.sql.shuffle.partitions: tasks of every shuffle stage (the cross-match's match stage)."""
        return self.count("SPARK_SHUFFLE_PARTITIONS")

    @property
    def spark_driver_host(self) -> str:
        """The address executors (and the master) connect back to: the host running the driver
        (spark-submit client mode / a SparkSession), not the master's."""
        host = self["SPARK_DRIVER_HOST"].strip()
        if not host:
            raise ConfigError(
                "SPARK_DRIVER_HOST is empty: set it to the address of the host that runs the "
                "Spark driver (127.0.0.1 locally); fix it in .env"
            )
        return host

    @property
    def spark_driver_bind_address(self) -> str:
        """The local address the driver listens on; empty SPARK_DRIVER_BIND_ADDRESS = SPARK_DRIVER_HOST
        (compose sets 0.0.0.0: the container's own interfaces, whatever its address)."""
        return self["SPARK_DRIVER_BIND_ADDRESS"].strip() or self.spark_driver_host

    # ---- dbt -----------------------------------------------------------------------------
    def dbt_profile_env(self) -> dict[str, str]:
        """The dbt profile's keys without its password: what the Cosmos operators carry (their ``env`` is a
        template field, rendered into Airflow's metadata); the password reaches dbt through the task
        process's own environment (:meth:`task_secrets_env`, ``append_env``)."""
        return {
            "DBT_PROFILES_DIR": str(self.dbt_project_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            **{key: self[key] for key in ("POSTGRES_HOST", "POSTGRES_PORT", "WAREHOUSE_USER", "POSTGRES_WAREHOUSE_DB")},
        }

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess: profiles.yml reads these keys with env_var()."""
        return {**inherited_env(), **self.dbt_profile_env(), "WAREHOUSE_PASSWORD": self.secret("WAREHOUSE_PASSWORD")}

    def task_secrets_env(self) -> dict[str, str]:
        """Secrets the Airflow processes hold in their environment (never in a DAG or a template field)
        for the subprocesses of their tasks: dbt's password."""
        return {"WAREHOUSE_PASSWORD": self.secret("WAREHOUSE_PASSWORD")}

    # ---- Airflow -------------------------------------------------------------------------
    @property
    def airflow_url(self) -> str:
        return f"http://{self['AIRFLOW_HOST']}:{self.port('AIRFLOW_PORT')}"

    def airflow_env(self) -> dict[str, str]:
        """The AIRFLOW__* settings shared by every Airflow process (and by `airflow` CLI calls)."""
        for key in ("AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY"):
            self.secret(key)
        home = self.airflow_home
        return {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_dir),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": self["AIRFLOW_PARALLELISM"],
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": self["AIRFLOW_FERNET_KEY"],
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self['AIRFLOW_ADMIN_USER']}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "simple_auth_manager_passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.airflow_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres_sqlalchemy_url(self["POSTGRES_AIRFLOW_DB"]),
            "AIRFLOW__API__BASE_URL": self.airflow_url,
            "AIRFLOW__API__HOST": self["AIRFLOW_HOST"],
            "AIRFLOW__API__PORT": str(self.port("AIRFLOW_PORT")),
            "AIRFLOW__API__SECRET_KEY": self["AIRFLOW_API_SECRET_KEY"],
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": self["AIRFLOW_JWT_SECRET"],
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs_dir / "airflow"),
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",  # probed locally only
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.port("AIRFLOW_SCHEDULER_HEALTH_PORT")),
            "PYTHONPATH": str(PROJECT_ROOT / "include"),
            **self.airflow_connections(),
        }

    def airflow_connections(self) -> dict[str, str]:
        """AIRFLOW_CONN_* (JSON form): only ``spark_default``, which SparkSubmitOperator reads (without it, it falls
        back to yarn). The tasks take MySQL, Postgres and MinIO from this module, as the CLI does: one configuration
        for every entry point, so Airflow connections for them would be copies that nothing reads — an operator
        editing one in the UI would change nothing (docs/stack.md), and each would put a password in every Airflow
        process's environment."""
        import json

        return {"AIRFLOW_CONN_SPARK_DEFAULT": json.dumps(self._spark_connection(self.spark_master))}

    @staticmethod
    def _spark_connection(master: str) -> dict:
        if master.startswith("spark://"):
            host, _, port = master[len("spark://") :].partition(":")
            return {"conn_type": "spark", "host": f"spark://{host}", "port": int(port or 7077)}
        return {"conn_type": "spark", "host": master}


def inherited_env() -> dict[str, str]:
    """A copy of this process's environment, the base for the subprocesses the stack launches
    (PATH, HOME, JAVA_HOME ...). The one sanctioned read of os.environ besides load_settings."""
    return dict(os.environ)


def use_this_python_for_pyspark_workers() -> None:
    """PySpark's driver reads PYSPARK_PYTHON from the process environment (spark-submit sets it from
    spark.pyspark.python; a plain `python` driver does not): point it at this interpreter, the venv
    that carries numpy/pandas/radiostars, unless the caller chose one."""
    import sys

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def bind_spark_driver_to(address: str) -> None:
    """SPARK_LOCAL_IP for the driver JVM pyspark launches: the address its web UI binds (when a caller
    enables it) instead of every interface; the caller's own choice wins."""
    os.environ.setdefault("SPARK_LOCAL_IP", address)


def started_by_spark_submit() -> bool:
    """True in a Python driver spark-submit launched (its JVM runs already and waits on PYSPARK_GATEWAY_PORT)."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def use_spark_conf_dir(folder: Path) -> None:
    """SPARK_CONF_DIR for the driver JVM pyspark launches: its spark-defaults.conf is read by spark-submit
    (radiostars.spark_engine.session.write_spark_auth_conf)."""
    os.environ["SPARK_CONF_DIR"] = str(folder)


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Merge defaults < .env file < environment, keeping only the keys the project knows."""
    environ = os.environ if environ is None else environ
    file_values = parse_env_file(env_file or PROJECT_ROOT / ".env")
    values = dict(DEFAULTS)
    for key in DEFAULTS:
        if key in file_values:
            values[key] = file_values[key]
        if key in environ:
            values[key] = environ[key]
    settings = Settings(values)
    for key in DEFAULTS:
        if key.endswith("_PORT"):
            settings.port(key)  # fail early, naming the key
    return settings


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
