import json
from pathlib import Path

import pytest

from radiostars.config import DEFAULTS, GENERATED_SECRETS, PROJECT_ROOT, ConfigError, load_settings, parse_env_file

pytestmark = pytest.mark.unit


def test_env_example_lists_exactly_the_known_keys():
    example = parse_env_file(PROJECT_ROOT / ".env.example")
    assert set(example) == set(DEFAULTS)
    # the example's values are the code's defaults (secrets are generated, so empty in both)
    assert example == DEFAULTS
    for key in GENERATED_SECRETS:
        assert example[key] == ""


def test_precedence_environment_over_file_over_defaults(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("MYSQL_PORT=23306\nMINIO_PORT='29000'\n# comment\n\nUNKNOWN_KEY=x\n")
    s = load_settings(environ={"MYSQL_PORT": "33306"}, env_file=env_file)
    assert s.mysql_port == 33306  # environment wins
    assert s.port("MINIO_PORT") == 29000  # file, quotes stripped
    assert s.postgres_port == int(DEFAULTS["POSTGRES_PORT"])  # default
    assert "UNKNOWN_KEY" not in s.values


def test_bad_port_names_the_key(tmp_path: Path):
    with pytest.raises(ConfigError, match="POSTGRES_PORT"):
        load_settings(environ={"POSTGRES_PORT": "fifty"}, env_file=tmp_path / "none")
    with pytest.raises(ConfigError, match="MINIO_PORT"):
        load_settings(environ={"MINIO_PORT": "70000"}, env_file=tmp_path / "none")


def test_quarantine_fraction_is_parsed_and_checked(tmp_path: Path):
    none = tmp_path / "none"
    assert load_settings(environ={}, env_file=none).ingest_quarantine_max_fraction == float(
        DEFAULTS["INGEST_QUARANTINE_MAX_FRACTION"]
    )
    assert (
        load_settings(environ={"INGEST_QUARANTINE_MAX_FRACTION": "0.2"}, env_file=none).ingest_quarantine_max_fraction
        == 0.2
    )
    with pytest.raises(ConfigError, match="INGEST_QUARANTINE_MAX_FRACTION='5%' is not a number"):
        load_settings(environ={"INGEST_QUARANTINE_MAX_FRACTION": "5%"}, env_file=none).ingest_quarantine_max_fraction
    with pytest.raises(ConfigError, match=r"INGEST_QUARANTINE_MAX_FRACTION=1.5 is outside 0.0..1.0"):
        load_settings(environ={"INGEST_QUARANTINE_MAX_FRACTION": "1.5"}, env_file=none).ingest_quarantine_max_fraction


def test_safety_lag_is_parsed_and_checked(tmp_path: Path):
    none = tmp_path / "none"
    assert load_settings(environ={}, env_file=none).ingest_safety_lag_s == int(DEFAULTS["INGEST_SAFETY_LAG_S"]) == 300
    assert load_settings(environ={"INGEST_SAFETY_LAG_S": "0"}, env_file=none).ingest_safety_lag_s == 0
    with pytest.raises(ConfigError, match="INGEST_SAFETY_LAG_S='5m' is not a whole number of seconds"):
        load_settings(environ={"INGEST_SAFETY_LAG_S": "5m"}, env_file=none).ingest_safety_lag_s
    with pytest.raises(ConfigError, match=r"INGEST_SAFETY_LAG_S=-1 is outside 0..604800"):
        load_settings(environ={"INGEST_SAFETY_LAG_S": "-1"}, env_file=none).ingest_safety_lag_s


def test_malformed_env_line_is_reported(tmp_path: Path):
    bad = tmp_path / ".env"
    bad.write_text("GOOD=1\nthis line has no equals\n")
    with pytest.raises(ConfigError, match=":2:"):
        parse_env_file(bad)


def test_airflow_env_requires_generated_secrets(tmp_path: Path):
    s = load_settings(environ={key: "" for key in GENERATED_SECRETS}, env_file=tmp_path / "none")
    with pytest.raises(ConfigError, match="make setup"):
        s.airflow_env()


def test_airflow_env_is_consistent(tmp_path: Path):
    secrets = {key: f"secret-{key}" for key in GENERATED_SECRETS}
    s = load_settings(environ={**secrets, "AIRFLOW_PORT": "28080"}, env_file=tmp_path / "none")
    env = s.airflow_env()
    assert env["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:28080"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:28080/execution/"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "secret-AIRFLOW_JWT_SECRET"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    # endpoints come from radiostars.config in every task: the only connection is the one an operator reads
    assert sorted(k for k in env if k.startswith("AIRFLOW_CONN_")) == ["AIRFLOW_CONN_SPARK_DEFAULT"]


@pytest.mark.parametrize(
    "master,expected",
    [
        ("local[*]", {"conn_type": "spark", "host": "local[*]"}),
        ("spark://127.0.0.1:17077", {"conn_type": "spark", "host": "spark://127.0.0.1", "port": 17077}),
    ],
)
def test_spark_connection_never_falls_back_to_yarn(tmp_path: Path, master, expected):
    secrets = {key: f"test-secret-{key.lower()}" for key in GENERATED_SECRETS}
    s = load_settings(environ={**secrets, "SPARK_MASTER": master}, env_file=tmp_path / "none")
    conn = json.loads(s.airflow_env()["AIRFLOW_CONN_SPARK_DEFAULT"])
    assert conn == expected


def test_s3a_conf_points_at_minio(tmp_path: Path):
    from radiostars.spark_engine.session import s3a_conf

    s = load_settings(environ={"MINIO_PORT": "29000"}, env_file=tmp_path / "none")
    conf = s3a_conf(s)
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:29000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "us-east-1"


def test_only_the_config_module_reads_os_environ():
    offenders = []
    for path in [
        *(PROJECT_ROOT / "include").rglob("*.py"),
        *(PROJECT_ROOT / "dags").rglob("*.py"),
        *(PROJECT_ROOT / "spark_jobs").rglob("*.py"),
    ]:
        if path.name == "config.py" and path.parent.name == "radiostars":
            continue
        text = path.read_text()
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert offenders == []


def strong_secrets() -> dict[str, str]:
    return {key: f"test-secret-{key.lower()}" for key in GENERATED_SECRETS}


def test_no_secret_has_a_default_in_code_or_example():
    example = parse_env_file(PROJECT_ROOT / ".env.example")
    assert all(DEFAULTS[key] == "" == example[key] for key in GENERATED_SECRETS)


@pytest.mark.parametrize(
    "weak", ["", "radiostars-local", "root-local", "admin-local", "<generate me>", "CHANGE_ME_PLEASE", "short"]
)
def test_weak_secret_is_refused_naming_the_key(tmp_path: Path, weak: str):
    s = load_settings(environ={**strong_secrets(), "MYSQL_PASSWORD": weak}, env_file=tmp_path / "none")
    with pytest.raises(ConfigError, match="^MYSQL_PASSWORD is empty, a placeholder or a known default"):
        s.mysql_url()
    with pytest.raises(ConfigError, match="MYSQL_PASSWORD"):
        s.check_secrets()
    load_settings(environ=strong_secrets(), env_file=tmp_path / "none").check_secrets()  # strong: accepted
