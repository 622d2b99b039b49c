"""Secure by default, on the real services (issue #18; docs/security.md): loopback-only listeners, no secret
in any process's argv nor in Airflow's metadata and task logs, and every identity refused what it must
not do (the refusals are counted and printed), the pipeline MinIO user held to its prefixes, the Spark
standalone cluster refusing drivers without its shared secret. Small: ~1.5 min once the stack is up."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import psutil
import psycopg
import pymysql
import pytest
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from radiostars.config import GENERATED_SECRETS, inherited_env
from radiostars.lake.client import lake_client
from radiostars.stack.services import run_dir

pytestmark = pytest.mark.integration

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def secret_values(settings) -> dict[str, str]:
    return {key: settings[key] for key in GENERATED_SECRETS}


def stack_processes(settings) -> list[psutil.Process]:
    pid = int((run_dir(settings) / "supervisord.pid").read_text().strip())
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def test_every_listening_socket_of_the_stack_is_on_loopback(airflow_stack):
    listening, wide = [], []
    for proc in stack_processes(airflow_stack):
        try:
            conns = proc.net_connections(kind="inet")
            name = proc.name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for conn in conns:
            if conn.status == psutil.CONN_LISTEN:
                listening.append((name, conn.laddr.ip, conn.laddr.port))
                if conn.laddr.ip not in LOOPBACK:
                    wide.append((name, conn.laddr.ip, conn.laddr.port))
    print(f"\n{len(listening)} listening sockets of the stack, {len(wide)} beyond loopback")
    assert len(listening) >= 6  # MariaDB, Postgres, MinIO API + console, Airflow api-server, health ...
    assert wide == []


def test_no_secret_in_any_command_line_while_spark_reads_the_lake(stack, tmp_path):
    """A Spark session (the JVM pyspark launches through spark-submit) reading the lake over s3a: the
    credentials reach Hadoop's configuration, never an argv."""
    from radiostars.spark_engine.session import spark_session

    client = lake_client(stack)
    key = f"tests/security-probe/{uuid.uuid4().hex}.csv"
    client.put_object(stack.lake_bucket, key, io.BytesIO(b"a\n1\n"), 4)
    spark = spark_session("security-probe", master="local[1]", settings=stack)
    try:
        assert spark.read.csv(stack.lake_uri(key), header=True).count() == 1  # s3a authenticated
        secrets = secret_values(stack)
        leaks = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            leaks += [(proc.info["pid"], k) for k, v in secrets.items() if v and v in cmdline]
        assert leaks == []
    finally:
        spark.stop()
        client.remove_object(stack.lake_bucket, key)


def test_no_secret_in_airflow_metadata_or_task_logs(airflow_stack):
    """serialized_dag (the DAGs as parsed), rendered_task_instance_fields and the task logs of every
    run so far (in `make test`, the end-to-end runs before this file) carry no .env secret."""
    s = airflow_stack
    secrets = {k: v for k, v in secret_values(s).items()}
    dsn = s.postgres_dsn(
        s["POSTGRES_AIRFLOW_DB"], user=s["POSTGRES_AIRFLOW_USER"], password=s["POSTGRES_AIRFLOW_PASSWORD"]
    )
    with psycopg.connect(dsn) as conn:
        dags = conn.execute("SELECT dag_id, data::text FROM serialized_dag WHERE data IS NOT NULL").fetchall()
        rendered = conn.execute(
            "SELECT dag_id, task_id, rendered_fields::text FROM rendered_task_instance_fields"
        ).fetchall()
    assert {d for d, _ in dags} >= {"catalogue_ingestion", "radio_star_crossmatch", "warehouse_publish"}
    leaks = [(dag, k) for dag, text in dags for k, v in secrets.items() if v in text]
    leaks += [(f"{dag}.{task}", k) for dag, task, text in rendered for k, v in secrets.items() if v in text]
    logs = [p for p in (s.logs_dir / "airflow").rglob("*") if p.is_file()]
    for path in logs:
        text = path.read_text(errors="replace")
        leaks += [(str(path), k) for k, v in secrets.items() if v in text]
    print(f"\nscanned {len(dags)} serialized DAGs, {len(rendered)} rendered task fields, {len(logs)} log files")
    assert leaks == []


def _access_denied(attempt) -> bool:
    """True when MinIO refuses the attempt with AccessDenied (any other outcome, success included, is False)."""
    try:
        attempt()
    except S3Error as exc:
        return exc.code == "AccessDenied"
    return False


def test_pipeline_user_writes_and_deletes_only_under_its_prefixes(stack):
    """The pipeline user's policy (radiostars.stack.lifecycle.pipeline_policy): put and delete are refused
    outside the lake's zones and the scratch roots (WRITABLE_PREFIXES), allowed inside; reads are allowed
    everywhere in the bucket. An object root put outside survives the pipeline's delete."""
    from radiostars.lake.keys import WRITABLE_PREFIXES

    s, tag = stack, uuid.uuid4().hex[:10]
    root, pipeline = lake_client(s, root=True), lake_client(s)
    outside = [f"security-{tag}/x", f"reports/security-{tag}/x", f"rawx/security-{tag}/x", f"security-{tag}.json"]
    assert not any(key.startswith(WRITABLE_PREFIXES) for key in outside)
    inside = [f"tests/security-{tag}/x", f"_staging/security-{tag}/x", f"bench/security-{tag}/x"]
    refused = {}
    try:
        for key in outside:
            root.put_object(s.lake_bucket, key, io.BytesIO(b"root"), 4)
            assert pipeline.get_object(s.lake_bucket, key).read() == b"root"  # reading is allowed
            refused[f"PUT {key}"] = _access_denied(
                lambda: pipeline.put_object(s.lake_bucket, key, io.BytesIO(b"x"), 1)  # noqa: B023
            )
            refused[f"DELETE {key}"] = _access_denied(lambda: pipeline.remove_object(s.lake_bucket, key))  # noqa: B023
            errors = list(pipeline.remove_objects(s.lake_bucket, [DeleteObject(key)]))  # the bulk delete Lake uses
            refused[f"bulk DELETE {key}"] = [e.code for e in errors] == ["AccessDenied"]
            assert root.get_object(s.lake_bucket, key).read() == b"root"  # still there, unchanged
        for key in inside:
            pipeline.put_object(s.lake_bucket, key, io.BytesIO(b"x"), 1)
            pipeline.remove_object(s.lake_bucket, key)
    finally:
        for key in outside + inside:
            root.remove_object(s.lake_bucket, key)
    print(f"\n{sum(refused.values())}/{len(refused)} writes/deletes outside the pipeline's prefixes refused")
    assert [name for name, ok in refused.items() if not ok] == []


def _refused(attempt, *errors) -> bool:
    try:
        attempt()
    except errors:
        return True
    return False


def test_each_identity_is_refused_what_it_must_not_do(airflow_stack):
    from radiostars.benchmark import scratch_database
    from radiostars.warehouse.roles import ensure_analyst_role

    s = airflow_stack
    refusals: dict[str, bool] = {}
    pg_denied = (psycopg.errors.InsufficientPrivilege, psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction)

    # --- PostgreSQL: the analyst on a scratch warehouse with raw + marts, grants as the publication gives them
    with scratch_database(s) as wh:
        with psycopg.connect(wh.postgres_dsn(), autocommit=True) as owner:
            owner.execute(
                "CREATE SCHEMA raw; CREATE TABLE raw.pairs (x int); CREATE SCHEMA marts; "
                "CREATE TABLE marts.candidates (x int); INSERT INTO marts.candidates VALUES (1)"
            )
            ensure_analyst_role(owner, wh)
        analyst = wh.postgres_dsn(user=wh["ANALYST_USER"], password=wh["ANALYST_PASSWORD"])
        with psycopg.connect(analyst, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM marts.candidates").fetchone() == (1,)  # what it may do
            conn.execute("SET default_transaction_read_only = off")  # a setting it can override: grants hold
            for name, statement in {
                "analyst INSERT into marts": "INSERT INTO marts.candidates VALUES (2)",
                "analyst CREATE TABLE in marts": "CREATE TABLE marts.mine (x int)",
                "analyst CREATE TABLE in public": "CREATE TABLE public.mine (x int)",
                "analyst CREATE TEMP TABLE": "CREATE TEMP TABLE mine (x int)",
                "analyst SELECT raw": "SELECT * FROM raw.pairs",
                "analyst CREATE SCHEMA": "CREATE SCHEMA mine",
            }.items():
                refusals[name] = _refused(lambda: conn.execute(statement), *pg_denied)  # noqa: B023
        for db in (s["POSTGRES_AIRFLOW_DB"], "postgres"):
            refusals[f"analyst CONNECT {db}"] = _refused(
                lambda: psycopg.connect(
                    s.postgres_dsn(db, user=s["ANALYST_USER"], password=s["ANALYST_PASSWORD"])  # noqa: B023
                ).close(),
                psycopg.OperationalError,
            )
    # --- the warehouse owner and Airflow's login: their own database only, no cluster power
    with psycopg.connect(s.postgres_dsn(), autocommit=True) as conn:
        for name, statement in {
            "warehouse owner CREATE ROLE": "CREATE ROLE intruder",
            "warehouse owner CREATE DATABASE": "CREATE DATABASE intruder",
            "warehouse owner COPY TO PROGRAM": "COPY (SELECT 1) TO PROGRAM 'true'",
        }.items():
            refusals[name] = _refused(lambda: conn.execute(statement), *pg_denied)  # noqa: B023
    refusals["warehouse owner CONNECT airflow"] = _refused(
        lambda: psycopg.connect(s.postgres_dsn(s["POSTGRES_AIRFLOW_DB"])).close(), psycopg.OperationalError
    )
    refusals["airflow login CONNECT warehouse"] = _refused(
        lambda: psycopg.connect(
            s.postgres_dsn(user=s["POSTGRES_AIRFLOW_USER"], password=s["POSTGRES_AIRFLOW_PASSWORD"])
        ).close(),
        psycopg.OperationalError,
    )

    # --- MariaDB: the ingestion user reads, never writes
    ingest = pymysql.connect(
        host=s["MYSQL_HOST"],
        port=s.mysql_port,
        user=s["MYSQL_INGEST_USER"],
        password=s["MYSQL_INGEST_PASSWORD"],
        database=s["MYSQL_DATABASE"],
    )
    with ingest, ingest.cursor() as cur:
        cur.execute("SELECT 1")
        for name, statement in {
            "ingest user CREATE TABLE": "CREATE TABLE intruder (x int)",
            "ingest user DROP DATABASE": f"DROP DATABASE `{s['MYSQL_DATABASE']}`",
            "ingest user CREATE USER": "CREATE USER 'intruder'@'%'",
        }.items():
            refusals[name] = _refused(
                lambda: cur.execute(statement),  # noqa: B023
                pymysql.err.OperationalError,
                pymysql.err.ProgrammingError,
            )

    # --- MinIO: the pipeline user works in the lake bucket only, no admin
    root = lake_client(s, root=True)
    other = f"security-other-{uuid.uuid4().hex[:8]}"
    root.make_bucket(other)
    try:
        pipeline = lake_client(s)
        refusals["pipeline user PUT in another bucket"] = _refused(
            lambda: pipeline.put_object(other, "x", io.BytesIO(b"x"), 1), S3Error
        )
        refusals["pipeline user LIST another bucket"] = _refused(lambda: list(pipeline.list_objects(other)), S3Error)
        refusals["pipeline user REMOVE another bucket"] = _refused(lambda: pipeline.remove_bucket(other), S3Error)
        refusals["pipeline user CREATE a bucket"] = _refused(lambda: pipeline.make_bucket(f"intruder-{other}"), S3Error)
        refusals["pipeline user REMOVE the lake bucket"] = _refused(
            lambda: pipeline.remove_bucket(s.lake_bucket), S3Error
        )
        outside = f"security-{uuid.uuid4().hex[:8]}/x"  # not under a zone nor a scratch root
        root.put_object(s.lake_bucket, outside, io.BytesIO(b"x"), 1)
        try:
            refusals["pipeline user PUT outside its prefixes"] = _access_denied(
                lambda: pipeline.put_object(s.lake_bucket, f"{outside}2", io.BytesIO(b"x"), 1)
            )
            refusals["pipeline user DELETE outside its prefixes"] = _access_denied(
                lambda: pipeline.remove_object(s.lake_bucket, outside)
            )
        finally:
            root.remove_object(s.lake_bucket, outside)
        refusals["pipeline user SET the lake's policy"] = _refused(
            lambda: pipeline.set_bucket_policy(s.lake_bucket, json.dumps({"Version": "2012-10-17", "Statement": []})),
            S3Error,
        )
    finally:
        root.remove_bucket(other)

    # --- Airflow's REST API without a token
    for name, (method, path) in {
        "API list DAGs unauthenticated": ("GET", "/api/v2/dags"),
        "API trigger unauthenticated": ("POST", "/api/v2/dags/radio_star_crossmatch/dagRuns"),
        "API read connections unauthenticated": ("GET", "/api/v2/connections"),
    }.items():
        request = urllib.request.Request(
            s.airflow_url + path,
            method=method,
            data=b"{}" if method == "POST" else None,
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
            refusals[name] = False
        except urllib.error.HTTPError as exc:
            refusals[name] = exc.code in (401, 403)

    allowed = [name for name, refused in refusals.items() if not refused]
    print(f"\n{sum(refusals.values())}/{len(refusals)} forbidden attempts refused")
    assert allowed == []


# ---- Spark standalone: shared-secret authentication ------------------------------------------------
# a driver that builds its own session (not radiostars' spark_session): the secret only if given on its argv
INTRUDER_DRIVER = """
import sys
from pyspark.sql import SparkSession
master, app, secret = sys.argv[1], sys.argv[2], sys.argv[3:]
builder = SparkSession.builder.appName(app).master(master).config("spark.ui.enabled", "false")
builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
builder = builder.config("spark.executor.memory", "512m")
if secret:
    builder = builder.config("spark.authenticate", "true").config("spark.authenticate.secret", secret[0])
spark = builder.getOrCreate()
print("count=%d" % spark.range(10).count(), flush=True)
"""
# what the driver logs when the master refuses its connection: no SASL at all, or a wrong secret
SPARK_AUTH_REFUSED = re.compile(r"Expected SaslMessage|SaslException")


def _master_apps(settings) -> set[str]:
    url = f"http://{settings['SPARK_MASTER_HOST']}:{settings.port('SPARK_MASTER_WEBUI_PORT')}/json/"
    with urllib.request.urlopen(url, timeout=5) as resp:
        state = json.load(resp)
    return {app["name"] for app in state.get("activeapps", []) + state.get("completedapps", [])}


def _require_cluster(settings) -> None:
    from radiostars.stack.probes import spark_alive_workers

    try:
        alive = spark_alive_workers(settings)
    except OSError:
        alive = []
    if not alive:
        pytest.fail("the Spark standalone master/worker is not running — `make up` starts it", pytrace=False)


def _intruder(settings, tmp_path, app: str, secret: list[str]) -> str:
    """Run the intruder driver until the master refuses it (or 90 s); return its log."""
    script, conf_dir, log = tmp_path / "intruder.py", tmp_path / "empty-conf", tmp_path / f"{app}.log"
    script.write_text(INTRUDER_DRIVER)
    conf_dir.mkdir(exist_ok=True)  # no spark-defaults.conf: nothing but what the driver sets itself
    env = {**inherited_env(), "SPARK_CONF_DIR": str(conf_dir), "SPARK_LOCAL_IP": settings["SPARK_MASTER_HOST"]}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), settings.spark_standalone_url, app, *secret],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if SPARK_AUTH_REFUSED.search(log.read_text(errors="replace")):
                break
            time.sleep(1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the driver we started and its spark-submit JVM
        proc.wait()
    return log.read_text(errors="replace")


def test_spark_master_refuses_a_driver_without_the_shared_secret(stack, tmp_path):
    """spark.authenticate on the local standalone cluster: a driver without the secret, or with a wrong one,
    is refused by the master (SASL) and never registers; the pipeline's own session (spark_session) runs a
    job on the same cluster, and the secret is in no process's argv nor in the worker's logs."""
    from radiostars.spark_engine.session import spark_session

    s = stack
    _require_cluster(s)
    tag = uuid.uuid4().hex[:8]
    refused = {}
    for name, secret in {"no secret": [], "a wrong secret": [f"wrong-{uuid.uuid4().hex}"]}.items():
        app = f"security-intruder-{tag}-{len(refused)}"
        log = _intruder(s, tmp_path, app, secret)
        refused[f"driver with {name}"] = (
            bool(SPARK_AUTH_REFUSED.search(log)) and "count=" not in log and app not in _master_apps(s)
        )
    print(f"\n{sum(refused.values())}/{len(refused)} unauthenticated drivers refused by the master")
    assert [name for name, ok in refused.items() if not ok] == []

    app = f"security-pipeline-{tag}"
    spark = spark_session(app, master=s.spark_standalone_url, settings=s)
    try:
        assert spark.range(1000).count() == 1000  # executors launched by the worker, authenticated
        assert app in _master_apps(s)
        secret = s.secret("SPARK_AUTH_SECRET")
        leaks = [
            p.info["pid"]
            for p in psutil.process_iter(["pid", "cmdline"])
            if secret in " ".join(p.info["cmdline"] or [])
        ]
        logs = [  # the stack's logs, the executors' stdout/stderr (not the jars the worker copied)
            path
            for folder in (s.logs_dir, s.data_dir / "spark-work")
            for path in folder.rglob("*")
            if path.is_file() and (path.name in ("stdout", "stderr") or path.suffix in (".log", ".err"))
        ]
        leaks += [str(p) for p in logs if secret in p.read_text(errors="replace")]
        assert leaks == []
    finally:
        spark.stop()


SUBMITTED_JOB = """
from radiostars.spark_engine.session import spark_session
spark = spark_session("security-submit-probe", inherit_master=True)
print("auth=%s count=%d" % (spark.conf.get("spark.authenticate"), spark.range(100).count()), flush=True)
spark.stop()
"""


def test_a_job_spark_submit_starts_authenticates_to_the_cluster(stack, tmp_path):
    """The DAG's way (SparkSubmitOperator): spark-submit with submit_conf on its argv and the master from
    --master; the job's spark_session joins that JVM and hands it the secret through py4j."""
    from radiostars.config import PROJECT_ROOT
    from radiostars.spark_engine.session import submit_conf
    from radiostars.stack.services import VENV_BIN

    s = stack
    _require_cluster(s)
    job = tmp_path / "job.py"
    job.write_text(SUBMITTED_JOB)
    argv = [str(VENV_BIN / "spark-submit"), "--master", s.spark_standalone_url]
    argv += [arg for key, value in submit_conf(s).items() for arg in ("--conf", f"{key}={value}")]
    assert s.secret("SPARK_AUTH_SECRET") not in " ".join(argv)
    env = {
        **inherited_env(),
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(PROJECT_ROOT / "include"),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": s.spark_driver_bind_address,
    }
    env.pop("SPARK_CONF_DIR", None)  # nothing but what spark_session hands the running JVM
    done = subprocess.run([*argv, str(job)], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert "auth=true count=100" in done.stdout, done.stderr[-3000:]
