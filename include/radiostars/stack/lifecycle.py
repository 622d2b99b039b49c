"""The verbs of the local stack (`radiostars stack up|down|status|logs|workers|clean`).

`up` initialises what is missing (datadirs, users, databases, bucket, Airflow metadata), then starts the
services in dependency order and waits until each answers. Everything is idempotent.
"""

from __future__ import annotations

import json
import shutil
import time

from radiostars.config import Settings, inherited_env
from radiostars.stack.databases import (
    bootstrap_mariadb,
    bootstrap_postgres,
    init_mariadb_datadir,
    init_postgres_cluster,
)
from radiostars.stack.probes import (
    airflow_ready,
    check_ports_free,
    check_prerequisites,
    mariadb_ready,
    mariadb_socket_ready,
    minio_ready,
    postgres_ready,
    spark_alive_workers,
)
from radiostars.stack.process import StackError, port_open, run, wait_for
from radiostars.stack.services import GROUPS, SERVICES, VENV_BIN
from radiostars.stack.supervisor import (
    ensure_supervisord,
    program_states,
    start_program,
    supervisorctl,
    supervisord_running,
)

# the tests' and benchmarks' scratch buckets (radiostars.benchmark.scratch_bucket, `<LAKE_BUCKET>-…` in the
# ingestion/load tests and benchmarks): the pipeline code runs on them
SCRATCH_BUCKETS = "rs-test-*"


def pipeline_policy(bucket: str) -> dict:
    """The pipeline user's only rights (docs/security.md): read the whole lake bucket; write and delete only
    under the pipeline's zones and the tests' and benchmarks' scratch roots
    (:data:`radiostars.lake.keys.WRITABLE_PREFIXES`: ``raw/``, ``quarantine/``, ``_staging/``, ``_state/``,
    ``crossmatch/``, ``curated/``, ``tests/``, ``bench/``) — a put or delete anywhere else in the bucket is
    AccessDenied; no bucket admin, no other bucket except the scratch buckets the tests and benchmarks create
    and remove (``rs-test-*``, ``<bucket>-*``)."""
    from radiostars.lake.keys import WRITABLE_PREFIXES

    scratch = [SCRATCH_BUCKETS, f"{bucket}-*"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]},
            {
                "Effect": "Allow",
                "Action": [
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in WRITABLE_PREFIXES],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:*"],
                "Resource": [arn for name in scratch for arn in (f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*")],
            },
        ],
    }


def bootstrap_minio(settings: Settings) -> None:
    """As root (setup only): the lake bucket, the pipeline user and its policy (idempotent; the user's
    secret key follows MINIO_PIPELINE_PASSWORD)."""
    from minio.credentials import StaticProvider
    from minio.minioadmin import MinioAdmin

    from radiostars.lake.client import lake_client, lake_credentials

    s = settings
    client = lake_client(s, root=True)
    if not client.bucket_exists(s.lake_bucket):
        client.make_bucket(s.lake_bucket)
    admin = MinioAdmin(
        endpoint=s.minio_endpoint,
        credentials=StaticProvider(*lake_credentials(s, root=True)),
        secure=False,
        region=s["S3_REGION"],
    )
    user, password = lake_credentials(s)
    policy = f"radiostars-pipeline-{s.lake_bucket}"
    admin.policy_add(policy, policy=pipeline_policy(s.lake_bucket))
    admin.user_add(user, password)
    try:
        admin.attach_policy([policy], user=user)
    except Exception as exc:  # noqa: BLE001 - minio raises a generic error when it is already attached
        if "already" not in str(exc).lower():
            raise


def airflow_cli_env(settings: Settings) -> dict[str, str]:
    return {**inherited_env(), **settings.airflow_env()}


def bootstrap_airflow(settings: Settings) -> None:
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    (settings.logs_dir / "airflow").mkdir(parents=True, exist_ok=True)
    passwords = home / "simple_auth_manager_passwords.json"
    passwords.write_text(json.dumps({settings["AIRFLOW_ADMIN_USER"]: settings.secret("AIRFLOW_ADMIN_PASSWORD")}))
    passwords.chmod(0o600)
    run([str(VENV_BIN / "airflow"), "db", "migrate"], "airflow db migrate", env=airflow_cli_env(settings))
    ensure_spark_pool(settings)


def ensure_spark_pool(settings: Settings) -> None:
    """The Airflow pool the Spark tasks run in, sized to the cluster (SPARK_POOL_SLOTS; docs/reliability.md)."""
    from radiostars.orchestration.timeouts import SPARK_POOL, spark_pool_slots

    run(
        [
            str(VENV_BIN / "airflow"),
            "pools",
            "set",
            SPARK_POOL,
            str(spark_pool_slots(settings)),
            "Spark jobs: each takes the whole local standalone cluster",
        ],
        "airflow pools set",
        env=airflow_cli_env(settings),
    )


def up(settings: Settings, groups: list[str] | None = None, log=print) -> None:
    from radiostars.spark_engine.jars import ensure_jars
    from radiostars.stack.minio_binary import ensure_minio

    groups = groups or ["core", "spark", "airflow"]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise StackError(f"unknown service group(s) {sorted(unknown)}; choose from {sorted(GROUPS)}")
    if "airflow" in groups and "core" not in groups:
        groups = ["core", *groups]  # Airflow's metadata lives in Postgres
    settings.check_secrets()  # one line naming the first empty / placeholder / known-default secret
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
        wait_for(
            lambda: port_open(settings["SPARK_MASTER_HOST"], settings.port("SPARK_MASTER_PORT")),
            "Spark master",
            60,
            hint,
        )
        start_program(settings, "spark-worker")
        wait_for(lambda: len(spark_alive_workers(settings)) >= 1, "Spark worker", 60, hint)
        log(f"Spark standalone master + worker up at {settings.spark_standalone_url}")
    if "airflow" in groups:
        t1 = time.monotonic()
        bootstrap_airflow(settings)
        for name in GROUPS["airflow"]:
            start_program(settings, name)
        wait_for(
            lambda: airflow_ready(settings), "Airflow (api-server + scheduler + dag-processor + triggerer)", 180, hint
        )
        log(f"Airflow up at {settings.airflow_url} in {time.monotonic() - t1:.1f} s")


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
        rows.append(
            {
                "service": service.name,
                "state": states.get(program, "STOPPED" if states else "DOWN").lower(),
                "port": str(settings.port(service.port_key)) if service.port_key else "-",
                "url": service.url(settings),
                "data": str(data.relative_to(settings.project_root))
                if data and data.is_relative_to(settings.project_root)
                else (str(data) if data else "-"),
            }
        )
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
        out.append(
            f"==> {path.relative_to(settings.project_root) if path.is_relative_to(settings.project_root) else path} <=="
        )
        out += text
    return "\n".join(out) if out else f"no logs yet in {settings.logs_dir}"


STATE_SUBDIRS = ("data", "logs", "run", "airflow", "truth", "supervisord.conf")
CACHE_SUBDIRS = ("bin", "jars", "tools")


def clean(settings: Settings, include_caches: bool = False, log=print) -> None:
    """Remove the local state (service data, logs, Airflow home, truth); with include_caches also the
    cached MinIO binary, jars and tools, which otherwise survive so the next `make up` is quick."""
    from radiostars.stack.services import postgres_dirs

    down(settings, log=log)
    pg_base = postgres_dirs(settings).base
    if pg_base != settings.state_dir and pg_base.is_dir():  # the service user's own copy (root mode)
        shutil.rmtree(pg_base)
    for name in STATE_SUBDIRS + (CACHE_SUBDIRS if include_caches else ()):
        path = settings.state_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    log(f"removed local state in {settings.state_dir}" + (" (caches too)" if include_caches else ""))
