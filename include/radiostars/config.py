"""The one place that reads the environment.

Every other module asks :func:`get_settings` for what it needs; nothing else touches ``os.environ``.
Values come from, in order of precedence: the process environment, then the project's ``.env`` file
(git-ignored, created from ``.env.example`` by ``make setup``), then the defaults written here, which
are the same safe local defaults as ``.env.example``. The same keys drive ``docker-compose.yaml``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# key -> default; keep in step with .env.example (a unit test checks both lists are the same)
DEFAULTS: dict[str, str] = {
    "RADIOSTARS_STATE_DIR": ".local",
    # MariaDB / MySQL: the raw catalogues
    "MYSQL_HOST": "127.0.0.1",
    "MYSQL_PORT": "13306",
    "MYSQL_DATABASE": "catalogues",
    "MYSQL_USER": "radiostars",
    "MYSQL_PASSWORD": "radiostars-local",
    "MYSQL_ROOT_PASSWORD": "root-local",
    # PostgreSQL: Airflow metadata + the analytics warehouse
    "POSTGRES_HOST": "127.0.0.1",
    "POSTGRES_PORT": "15432",
    "POSTGRES_USER": "radiostars",
    "POSTGRES_PASSWORD": "radiostars-local",
    "POSTGRES_AIRFLOW_DB": "airflow",
    "POSTGRES_WAREHOUSE_DB": "warehouse",
    "ANALYST_USER": "analyst",
    "ANALYST_PASSWORD": "analyst-local",
    # MinIO: the data lake
    "MINIO_HOST": "127.0.0.1",
    "MINIO_PORT": "19000",
    "MINIO_CONSOLE_PORT": "19001",
    "MINIO_ROOT_USER": "radiostars",
    "MINIO_ROOT_PASSWORD": "radiostars-local-secret",
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
    # Airflow 3
    "AIRFLOW_HOST": "127.0.0.1",
    "AIRFLOW_PORT": "18080",
    "AIRFLOW_BIND_HOST": "",
    "AIRFLOW_ADMIN_USER": "admin",
    "AIRFLOW_ADMIN_PASSWORD": "admin-local",
    "AIRFLOW_PARALLELISM": "4",
    "AIRFLOW_FERNET_KEY": "",
    "AIRFLOW_JWT_SECRET": "",
    "AIRFLOW_API_SECRET_KEY": "",
    "INGEST_SCHEDULE": "0 2 * * *",
    "INGEST_QUARANTINE_MAX_FRACTION": "0.05",
    # sample data
    "SAMPLE_SEED": "42",
}

# generated into .env by `make setup` when empty; never committed
GENERATED_SECRETS = ("AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY")

# versions pinned in one place (the compose file and the jar fetcher read them from here)
HADOOP_VERSION = "3.5.0"  # bundled in pyspark 4.3.0; hadoop-aws must equal it
AWS_SDK_V2_VERSION = "2.35.4"  # what hadoop-project 3.5.0 pins
ANALYTICS_ACCELERATOR_VERSION = "1.3.1"
MINIO_RELEASE = "RELEASE.2025-10-15T17-29-55Z"


class ConfigError(ValueError):
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

    def mysql_url(self, *, root: bool = False, database: str | None = None) -> str:
        """SQLAlchemy URL (PyMySQL driver) for the catalogue database."""
        user = "root" if root else self["MYSQL_USER"]
        password = self["MYSQL_ROOT_PASSWORD"] if root else self["MYSQL_PASSWORD"]
        db = self["MYSQL_DATABASE"] if database is None else database
        return f"mysql+pymysql://{user}:{password}@{self['MYSQL_HOST']}:{self.mysql_port}/{db}"

    # ---- PostgreSQL ----------------------------------------------------------------------
    @property
    def postgres_port(self) -> int:
        return self.port("POSTGRES_PORT")

    def postgres_dsn(self, database: str | None = None, *, user: str | None = None,
                     password: str | None = None) -> str:
        """libpq DSN (psycopg 3) for the warehouse, or another database of the cluster."""
        db = database or self["POSTGRES_WAREHOUSE_DB"]
        return (f"host={self['POSTGRES_HOST']} port={self.postgres_port} dbname={db} "
                f"user={user or self['POSTGRES_USER']} password={password or self['POSTGRES_PASSWORD']}")

    def postgres_sqlalchemy_url(self, database: str) -> str:
        return (f"postgresql+psycopg2://{self['POSTGRES_USER']}:{self['POSTGRES_PASSWORD']}"
                f"@{self['POSTGRES_HOST']}:{self.postgres_port}/{database}")

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

    def s3a_conf(self) -> dict[str, str]:
        """Spark/Hadoop settings that point s3a at MinIO (path-style, no TLS)."""
        return {
            "spark.hadoop.fs.s3a.endpoint": self.minio_url,
            "spark.hadoop.fs.s3a.endpoint.region": self["S3_REGION"],
            "spark.hadoop.fs.s3a.access.key": self["MINIO_ROOT_USER"],
            "spark.hadoop.fs.s3a.secret.key": self["MINIO_ROOT_PASSWORD"],
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
            "spark.hadoop.fs.s3a.aws.credentials.provider":
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        }

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
            raise ConfigError("SPARK_DRIVER_HOST is empty: set it to the address of the host that runs the "
                              "Spark driver (127.0.0.1 locally); fix it in .env")
        return host

    @property
    def spark_driver_bind_address(self) -> str:
        """The local address the driver listens on; empty SPARK_DRIVER_BIND_ADDRESS = SPARK_DRIVER_HOST
        (compose sets 0.0.0.0: the container's own interfaces, whatever its address)."""
        return self["SPARK_DRIVER_BIND_ADDRESS"].strip() or self.spark_driver_host

    def spark_jars(self) -> list[Path]:
        from radiostars.stack.jars import JARS  # local import: config stays dependency-free

        return [self.jars_dir / jar.filename for jar in JARS]

    # ---- dbt -----------------------------------------------------------------------------
    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess: profiles.yml reads these keys with env_var()."""
        return {**inherited_env(), "DBT_PROFILES_DIR": str(self.dbt_project_dir),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
                **{key: self[key] for key in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER",
                                              "POSTGRES_PASSWORD", "POSTGRES_WAREHOUSE_DB")}}

    # ---- Airflow -------------------------------------------------------------------------
    @property
    def airflow_url(self) -> str:
        return f"http://{self['AIRFLOW_HOST']}:{self.port('AIRFLOW_PORT')}"

    def airflow_env(self) -> dict[str, str]:
        """The AIRFLOW__* settings shared by every Airflow process (and by `airflow` CLI calls)."""
        for key in GENERATED_SECRETS:
            if not self[key]:
                raise ConfigError(f"{key} is empty: run `make setup` to generate it into .env")
        home = self.airflow_home
        return {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_dir),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": self["AIRFLOW_PARALLELISM"],
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": self["AIRFLOW_FERNET_KEY"],
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self['AIRFLOW_ADMIN_USER']}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE":
                str(home / "simple_auth_manager_passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.airflow_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
                self.postgres_sqlalchemy_url(self["POSTGRES_AIRFLOW_DB"]),
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
            "PYTHONPATH": str(PROJECT_ROOT / "include"),
            **self.airflow_connections(),
        }

    def airflow_connections(self) -> dict[str, str]:
        """AIRFLOW_CONN_* (JSON form) generated from the same keys."""
        import json

        conns = {
            "catalogues_mysql": {
                "conn_type": "mysql", "host": self["MYSQL_HOST"], "port": self.mysql_port,
                "login": self["MYSQL_USER"], "password": self["MYSQL_PASSWORD"],
                "schema": self["MYSQL_DATABASE"],
            },
            "warehouse_postgres": {
                "conn_type": "postgres", "host": self["POSTGRES_HOST"], "port": self.postgres_port,
                "login": self["POSTGRES_USER"], "password": self["POSTGRES_PASSWORD"],
                "schema": self["POSTGRES_WAREHOUSE_DB"],
            },
            "lake_minio": {
                "conn_type": "aws", "login": self["MINIO_ROOT_USER"],
                "password": self["MINIO_ROOT_PASSWORD"],
                "extra": {"endpoint_url": self.minio_url, "region_name": self["S3_REGION"]},
            },
            # explicit, so SparkSubmitOperator never falls back to yarn
            "spark_default": self._spark_connection(self.spark_master),
        }
        return {f"AIRFLOW_CONN_{name.upper()}": json.dumps(conn) for name, conn in conns.items()}

    @staticmethod
    def _spark_connection(master: str) -> dict:
        if master.startswith("spark://"):
            host, _, port = master[len("spark://"):].partition(":")
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
