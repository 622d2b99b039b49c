import configparser
from pathlib import Path

import pytest

from radiostars.config import GENERATED_SECRETS, load_settings
from radiostars.spark_engine.jars import JARS
from radiostars.stack import envfile, services
from radiostars.stack.probes import check_ports_free
from radiostars.stack.process import StackError
from radiostars.stack.supervisor import render_supervisor_conf

pytestmark = pytest.mark.unit


@pytest.fixture
def settings(tmp_path: Path):
    secrets = {key: f"s3cr3t-{key.lower()}" for key in GENERATED_SECRETS}
    return load_settings(
        environ={**secrets, "RADIOSTARS_STATE_DIR": str(tmp_path / "state"), "MINIO_ROOT_PASSWORD": "pw%with%percent"},
        env_file=tmp_path / "none",
    )


def test_supervisor_conf_parses_and_has_every_program(settings):
    parser = configparser.RawConfigParser()
    parser.read_string(render_supervisor_conf(settings))
    programs = {section.split(":", 1)[1] for section in parser.sections() if section.startswith("program:")}
    expected = {name for group in services.GROUPS.values() for name in group} | {"spark-worker-2"}
    assert programs == expected
    for name in programs:
        assert parser.get(f"program:{name}", "autostart") == "false"  # `up` starts them in order


def test_spark_daemons_require_the_shared_secret_from_their_environment(settings):
    """spark.authenticate on the master and the workers: the flag may be on argv, the secret only in the
    environment (_SPARK_AUTH_SECRET, which a worker hands to its executors the same way)."""
    specs = services.program_specs(settings)
    secret = settings["SPARK_AUTH_SECRET"]
    for name in ("spark-master", "spark-worker", "spark-worker-2"):
        env = specs[name]["env"]
        assert env["_SPARK_AUTH_SECRET"] == secret
        assert env["SPARK_DAEMON_JAVA_OPTS"] == "-Dspark.authenticate=true"
        assert not any(secret in arg for arg in specs[name]["argv"])


def test_supervisor_conf_carries_no_secret(settings):
    text = render_supervisor_conf(settings)
    for value in [settings[k] for k in GENERATED_SECRETS] + [
        settings["MINIO_ROOT_PASSWORD"],
        settings["POSTGRES_PASSWORD"],
    ]:
        assert value not in text


def test_program_specs_use_configured_ports(settings):
    specs = services.program_specs(settings)
    assert f"--port={settings.mysql_port}" in specs["mariadb"]["argv"]
    assert str(settings.postgres_port) in specs["postgres"]["argv"]
    assert f"127.0.0.1:{settings.port('MINIO_PORT')}" in specs["minio"]["argv"]
    assert specs["spark-worker"]["argv"][-1] == settings.spark_standalone_url
    api = specs["airflow-api-server"]
    assert api["argv"][api["argv"].index("--port") + 1] == str(settings.port("AIRFLOW_PORT"))
    assert api["env"]["AIRFLOW__API_AUTH__JWT_SECRET"] == settings["AIRFLOW_JWT_SECRET"]
    # one JWT secret shared by every Airflow process
    secrets = {specs[n]["env"]["AIRFLOW__API_AUTH__JWT_SECRET"] for n in services.GROUPS["airflow"]}
    assert len(secrets) == 1


def test_port_in_use_names_the_env_key(settings):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        busy = load_settings(environ={**settings.values, "MINIO_PORT": str(port)}, env_file=Path("/nonexistent"))
        with pytest.raises(StackError, match=f"port {port}.*MINIO_PORT"):
            check_ports_free(busy, ["minio"])


def test_env_file_generated_once_and_kept(tmp_path: Path):
    example = tmp_path / ".env.example"
    example.write_text("A=1\nAIRFLOW_FERNET_KEY=\nAIRFLOW_JWT_SECRET=\nAIRFLOW_API_SECRET_KEY=\n")
    env = tmp_path / ".env"
    made = envfile.ensure_env_file(env, example)
    assert set(made) == set(GENERATED_SECRETS)
    first = env.read_text()
    assert envfile.ensure_env_file(env, example) == []  # idempotent
    assert env.read_text() == first
    example.write_text(example.read_text() + "NEW_KEY=2\n")
    envfile.ensure_env_file(env, example)
    assert "NEW_KEY=2" in env.read_text() and first.splitlines()[1] in env.read_text()
    assert oct(env.stat().st_mode & 0o777) == "0o600"


def test_jars_match_pyspark_hadoop():
    import pyspark

    bundled = list((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    assert bundled, "pyspark ships hadoop-client-api"
    hadoop_version = bundled[0].stem.removeprefix("hadoop-client-api-")
    aws = next(j for j in JARS if j.artifact == "hadoop-aws")
    assert aws.version == hadoop_version
    assert all(len(j.sha1) == 40 for j in JARS)


def test_setup_replaces_published_defaults_and_writes_0600_from_the_start(tmp_path: Path):
    import os

    from radiostars.config import PROJECT_ROOT, is_weak_secret, parse_env_file

    env = tmp_path / ".env"
    env.write_text("MYSQL_PASSWORD=radiostars-local\nMYSQL_PORT=23306\nANALYST_PASSWORD=analyst-local\n")
    old_umask = os.umask(0)  # a careless umask: the file must still never be readable by others
    try:
        made = envfile.ensure_env_file(env, PROJECT_ROOT / ".env.example")
    finally:
        os.umask(old_umask)
    values = parse_env_file(env)
    assert set(made) == set(GENERATED_SECRETS)
    assert values["MYSQL_PORT"] == "23306"  # kept
    assert not any(is_weak_secret(values[key]) for key in GENERATED_SECRETS)
    assert len({values[key] for key in GENERATED_SECRETS}) == len(GENERATED_SECRETS)  # all different
    assert oct(env.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temporary file left behind
    load_settings(environ={}, env_file=env).check_secrets()


def test_stack_up_refuses_a_weak_secret_before_starting_anything(settings):
    from radiostars.config import ConfigError
    from radiostars.stack.lifecycle import up

    weak = load_settings(
        environ={**settings.values, "ANALYST_PASSWORD": "analyst-local"}, env_file=Path("/nonexistent")
    )
    with pytest.raises(ConfigError, match="ANALYST_PASSWORD"):
        up(weak, ["core"], log=lambda *_: None)
    assert not (weak.state_dir / "supervisord.conf").exists()
