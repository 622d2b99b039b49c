"""Every service of the local stack, exercised for real (no mocks)."""

from __future__ import annotations

import io
import json
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

pytestmark = pytest.mark.integration


def test_mariadb_round_trip(stack):
    import sqlalchemy as sa

    engine = sa.create_engine(stack.mysql_url())
    table = f"smoke_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (id INT PRIMARY KEY, ra_deg DOUBLE)"))
        try:
            conn.execute(sa.text(f"INSERT INTO {table} VALUES (1, 359.999), (2, 0.001)"))
            rows = conn.execute(sa.text(f"SELECT id, ra_deg FROM {table} ORDER BY id")).all()
        finally:
            conn.execute(sa.text(f"DROP TABLE {table}"))
    assert [tuple(r) for r in rows] == [(1, 359.999), (2, 0.001)]


def test_postgres_databases_and_q3c(stack):
    import psycopg

    with psycopg.connect(stack.postgres_dsn("postgres", superuser=True)) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    assert {stack["POSTGRES_AIRFLOW_DB"], stack["POSTGRES_WAREHOUSE_DB"]} <= names
    with psycopg.connect(stack.postgres_dsn()) as conn:
        # 1 degree along the equator
        (dist,) = conn.execute("SELECT q3c_dist(10.0, 0.0, 11.0, 0.0)").fetchone()
    assert dist == pytest.approx(1.0, abs=1e-9)


def test_minio_put_get_list_delete(stack):
    from radiostars.lake.client import lake_client

    client = lake_client(stack)
    assert client.bucket_exists(stack.lake_bucket)
    key = f"tests/smoke/{uuid.uuid4().hex}.txt"
    payload = b"radio stars\n"
    client.put_object(stack.lake_bucket, key, io.BytesIO(payload), len(payload))
    try:
        assert client.get_object(stack.lake_bucket, key).read() == payload
        listed = [o.object_name for o in client.list_objects(stack.lake_bucket, prefix="tests/smoke/")]
        assert key in listed
    finally:
        client.remove_object(stack.lake_bucket, key)
    listed = [o.object_name for o in client.list_objects(stack.lake_bucket, prefix="tests/smoke/")]
    assert key not in listed


def _spark_round_trip(settings, master: str) -> None:
    from radiostars.spark_engine.session import spark_session

    spark = spark_session(f"smoke-{master}", master=master, settings=settings)
    try:
        rows = [(i, float(i) * 0.5, f"src{i}") for i in range(1000)]
        df = spark.createDataFrame(rows, "id long, ra_deg double, name string")
        path = settings.lake_uri(f"tests/spark-smoke/{uuid.uuid4().hex}")
        df.repartition(4).write.mode("overwrite").parquet(path)
        back = spark.read.parquet(path)
        assert back.count() == 1000
        assert sorted(map(tuple, back.collect())) == rows
    finally:
        spark.stop()


def test_spark_local_writes_and_reads_s3a(stack):
    _spark_round_trip(stack, "local[2]")


def test_spark_standalone_cluster_writes_and_reads_s3a(stack):
    from radiostars.stack.probes import spark_alive_workers
    from radiostars.stack.supervisor import program_states

    if program_states(stack).get("spark-worker") != "RUNNING":
        pytest.fail("the Spark standalone master/worker is not running — `make up` starts it", pytrace=False)
    assert len(spark_alive_workers(stack)) >= 1
    _spark_round_trip(stack, stack.spark_standalone_url)


def _airflow_token(settings) -> str:
    body = json.dumps(
        {"username": settings["AIRFLOW_ADMIN_USER"], "password": settings["AIRFLOW_ADMIN_PASSWORD"]}
    ).encode()
    req = urllib.request.Request(
        f"{settings.airflow_url}/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["access_token"]


def test_airflow_health_token_and_auth(airflow_stack):
    s = airflow_stack
    with urllib.request.urlopen(f"{s.airflow_url}/api/v2/monitor/health", timeout=10) as resp:
        health = json.load(resp)
    assert health["metadatabase"]["status"] == "healthy"
    assert health["scheduler"]["status"] == "healthy"

    token = _airflow_token(s)
    req = urllib.request.Request(f"{s.airflow_url}/api/v2/dags", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert "dags" in json.load(resp)

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s.airflow_url}/api/v2/dags", timeout=10)
    assert refused.value.code in (401, 403)

    bad = json.dumps({"username": s["AIRFLOW_ADMIN_USER"], "password": "wrong"}).encode()
    req = urllib.request.Request(
        f"{s.airflow_url}/auth/token", data=bad, headers={"Content-Type": "application/json"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as wrong:
        urllib.request.urlopen(req, timeout=10)
    assert wrong.value.code in (401, 403)


def test_dbt_debug_connects_to_warehouse(stack):
    result = subprocess.run(
        [str(stack.dbt_executable), "debug"],
        cwd=stack.dbt_project_dir,
        env=stack.dbt_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "All checks passed" in result.stdout
