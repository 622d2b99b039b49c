"""radiostars.spark_engine.session.spark_conf from the settings (no Spark started: the conf is a plain dict)."""

from pathlib import Path

import pytest

from radiostars.config import DEFAULTS, ConfigError, load_settings
from radiostars.spark_engine.jars import JARS
from radiostars.spark_engine.session import spark_conf

pytestmark = pytest.mark.unit


def settings_with_jars(tmp_path: Path, **environ: str):
    """Settings whose state dir holds (empty) s3a jars, which spark_conf insists on."""
    (tmp_path / "jars").mkdir(exist_ok=True)
    for jar in JARS:
        (tmp_path / "jars" / jar.filename).touch()
    return load_settings(environ={"RADIOSTARS_STATE_DIR": str(tmp_path), **environ}, env_file=tmp_path / "none")


def test_defaults_are_the_bare_machine_ones(tmp_path: Path):
    conf = spark_conf(settings_with_jars(tmp_path))
    assert DEFAULTS["SPARK_SHUFFLE_PARTITIONS"] == "8"
    assert conf["spark.sql.shuffle.partitions"] == "8"
    # everything on loopback, as before the driver had its own key
    assert conf["spark.driver.host"] == "127.0.0.1" == DEFAULTS["SPARK_MASTER_HOST"]
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"


def test_shuffle_partitions_come_from_the_setting(tmp_path: Path):
    conf = spark_conf(settings_with_jars(tmp_path, SPARK_SHUFFLE_PARTITIONS=" 96 "))
    assert conf["spark.sql.shuffle.partitions"] == "96"


@pytest.mark.parametrize(
    "raw,message",
    [
        ("eight", "SPARK_SHUFFLE_PARTITIONS='eight' is not a whole number"),
        ("8.5", "SPARK_SHUFFLE_PARTITIONS='8.5' is not a whole number"),
        ("", "SPARK_SHUFFLE_PARTITIONS='' is not a whole number"),
        ("0", r"SPARK_SHUFFLE_PARTITIONS=0 is outside 1\.\."),
        ("-4", r"SPARK_SHUFFLE_PARTITIONS=-4 is outside 1\.\."),
    ],
)
def test_bad_shuffle_partitions_name_the_key(tmp_path: Path, raw, message):
    with pytest.raises(ConfigError, match=message):
        spark_conf(settings_with_jars(tmp_path, SPARK_SHUFFLE_PARTITIONS=raw))


def test_driver_host_is_its_own_key_not_the_masters(tmp_path: Path):
    # compose: the driver runs in the Airflow scheduler container, the master in spark-master
    s = settings_with_jars(
        tmp_path,
        SPARK_MASTER_HOST="spark-master",
        SPARK_DRIVER_HOST="airflow-scheduler",
        SPARK_DRIVER_BIND_ADDRESS="0.0.0.0",
    )
    conf = spark_conf(s, master="spark://spark-master:7077")
    assert conf["spark.driver.host"] == "airflow-scheduler"
    assert conf["spark.driver.bindAddress"] == "0.0.0.0"


def test_empty_bind_address_means_the_driver_host(tmp_path: Path):
    conf = spark_conf(settings_with_jars(tmp_path, SPARK_DRIVER_HOST="10.0.0.5", SPARK_DRIVER_BIND_ADDRESS=""))
    assert conf["spark.driver.bindAddress"] == "10.0.0.5"


def test_empty_driver_host_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="SPARK_DRIVER_HOST is empty"):
        spark_conf(settings_with_jars(tmp_path, SPARK_DRIVER_HOST=""))


def test_spark_submit_conf_carries_the_settings(tmp_path: Path):
    # what the DAG hands SparkSubmitOperator: the same conf minus the master (the connection's)
    from radiostars.spark_engine.session import submit_conf

    conf = submit_conf(
        settings_with_jars(tmp_path, SPARK_SHUFFLE_PARTITIONS="24", SPARK_DRIVER_HOST="airflow-scheduler")
    )
    assert "spark.master" not in conf
    assert conf["spark.sql.shuffle.partitions"] == "24"
    assert conf["spark.driver.host"] == "airflow-scheduler"


def test_no_secret_in_the_conf_and_no_driver_ui(tmp_path: Path):
    """The conf is spark-submit's argv and a rendered template field: credentials never go in it."""
    from radiostars.config import GENERATED_SECRETS
    from radiostars.spark_engine.session import submit_conf

    secrets = {key: f"test-secret-{key.lower()}" for key in GENERATED_SECRETS}
    s = settings_with_jars(tmp_path, **secrets)
    for conf in (spark_conf(s), submit_conf(s)):
        assert not any(secret in value for value in conf.values() for secret in secrets.values())
        assert not any("secret.key" in key or "access.key" in key for key in conf)
        assert conf["spark.ui.enabled"] == "false"


def test_standalone_drivers_authenticate_with_the_shared_secret_local_ones_do_not(tmp_path: Path):
    """spark.authenticate (docs/security.md): on for spark:// masters with SPARK_AUTH_SECRET, off for local[N]
    (a generated local secret would stick to the JVM and break a later standalone session)."""
    from radiostars.spark_engine.session import spark_auth_conf

    s = settings_with_jars(tmp_path, SPARK_AUTH_SECRET="test-spark-auth-secret-0123")
    assert spark_auth_conf(s, "spark://127.0.0.1:7077") == {
        "spark.authenticate": "true",
        "spark.authenticate.secret": "test-spark-auth-secret-0123",
    }
    assert spark_auth_conf(s, "local[2]") == {"spark.authenticate": "false"}
    with pytest.raises(ConfigError, match="SPARK_AUTH_SECRET"):
        spark_auth_conf(settings_with_jars(tmp_path, SPARK_AUTH_SECRET=""), "spark://127.0.0.1:7077")


def test_the_secret_file_for_pyspark_launched_drivers_is_private(tmp_path: Path):
    from radiostars.spark_engine.session import write_spark_auth_conf

    s = settings_with_jars(tmp_path, SPARK_AUTH_SECRET="test-spark-auth-secret-0123")
    folder = write_spark_auth_conf(s)
    path = folder / "spark-defaults.conf"
    assert path.read_text() == "spark.authenticate.secret test-spark-auth-secret-0123\n"
    assert (folder.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o600)
    assert write_spark_auth_conf(s) == folder  # idempotent
