"""docker-compose.yaml is checked statically (no Docker engine runs here)."""

import re
import shutil
import subprocess

import pytest
import yaml

from radiostars.config import DEFAULTS, GENERATED_SECRETS, PROJECT_ROOT, load_settings, parse_env_file

pytestmark = pytest.mark.unit

COMPOSE = PROJECT_ROOT / "docker-compose.yaml"
EXPECTED_SERVICES = {
    "mysql",
    "postgres",
    "minio",
    "spark-master",
    "spark-worker",
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
}


# keys each service sets for itself, never in the shared x-radiostars-env block
PER_SERVICE = {"AIRFLOW_BIND_HOST", "SPARK_DRIVER_HOST", "SPARK_DRIVER_BIND_ADDRESS"}


def service_env(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=value form
        env = dict(item.split("=", 1) for item in env)
    return env


def runs_spark_driver(service: dict) -> bool:
    """A Spark driver runs in the service: a spark-submit / pyspark job, or the Airflow scheduler,
    whose LocalExecutor runs the tasks (SparkSubmitOperator's spark-submit, client mode) itself."""
    command = (
        " ".join(service.get("command") or [])
        if isinstance(service.get("command"), list)
        else str(service.get("command") or "")
    )
    return any(word in command for word in ("spark-submit", "spark_jobs/", "pyspark", "airflow-scheduler"))


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_every_service_present(compose):
    assert EXPECTED_SERVICES <= set(compose["services"])


def test_every_interpolated_key_is_in_env_example():
    keys = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    example = parse_env_file(PROJECT_ROOT / ".env.example")
    assert keys, "compose is configured from .env keys"
    assert keys - set(example) == set()


def test_container_environment_only_uses_known_keys(compose):
    env = compose["x-radiostars-env"]
    assert set(env) - set(DEFAULTS) == set()
    # everything the application reads, except what only concerns local processes or is set per
    # service (a listen address, the driver's own host name), reaches containers
    local_only = {
        "SPARK_MASTER_WEBUI_PORT",
        "SPARK_WORKER_WEBUI_PORT",
        "SPARK_WORKER_CORES",
        "SPARK_WORKER_MEMORY",
        "MINIO_CONSOLE_PORT",
        "AIRFLOW_SCHEDULER_HEALTH_PORT",
    }
    assert set(DEFAULTS) - set(env) - local_only - PER_SERVICE == set()
    # one shared value would be right for at most one service
    assert set(env) & PER_SERVICE == set()
    for name, service in compose["services"].items():
        assert set(service_env(service)) - set(DEFAULTS) == set(), name  # a typo is not silently ignored


def test_driver_host_is_the_drivers_own_host_not_the_masters(compose, tmp_path):
    # tasks run inside the scheduler only while the executor is LocalExecutor; another executor moves
    # the drivers to its workers, which then need their own SPARK_DRIVER_HOST
    s = load_settings(
        environ={key: f"test-secret-{key.lower()}" for key in GENERATED_SECRETS}, env_file=tmp_path / "none"
    )
    assert s.airflow_env()["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    services = compose["services"]
    drivers = {name for name, service in services.items() if runs_spark_driver(service)}
    assert "airflow-scheduler" in drivers
    for name in drivers:
        env, hostname = service_env(services[name]), services[name].get("hostname", name)
        assert env.get("SPARK_DRIVER_HOST") == hostname, (
            f"{name} runs a Spark driver: SPARK_DRIVER_HOST must be its own host name {hostname!r}"
        )
        assert env["SPARK_DRIVER_HOST"] != env["SPARK_MASTER_HOST"]
        # listen on the container's own interfaces (the master's address is not one of them)
        assert env.get("SPARK_DRIVER_BIND_ADDRESS") in ("0.0.0.0", hostname), name
    for name, service in services.items():  # nobody claims another service's host name
        host = service_env(service).get("SPARK_DRIVER_HOST")
        assert host is None or host == service.get("hostname", name), name


def test_compose_driver_conf_reaches_spark(compose, tmp_path):
    """What spark_conf makes of the scheduler container's keys (jars present as in the image)."""
    from radiostars.spark_engine.jars import JARS
    from radiostars.spark_engine.session import spark_conf

    env = {**compose["x-radiostars-env"], **service_env(compose["services"]["airflow-scheduler"])}
    env = {k: str(v) for k, v in env.items() if "${" not in str(v)}  # interpolated keys keep the defaults
    env["RADIOSTARS_STATE_DIR"] = str(tmp_path)
    (tmp_path / "jars").mkdir()
    for jar in JARS:
        (tmp_path / "jars" / jar.filename).touch()
    conf = spark_conf(load_settings(environ=env, env_file=tmp_path / "none"), master="spark://spark-master:7077")
    assert conf["spark.driver.host"] == "airflow-scheduler"
    assert conf["spark.driver.bindAddress"] == "0.0.0.0"


def test_images_pinned(compose):
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name} has an image name (built images are tagged too)"
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image} is not pinned"
    from radiostars.versions import MINIO_RELEASE

    assert compose["services"]["minio"]["image"] == f"quay.io/minio/minio:{MINIO_RELEASE}"


def test_long_running_services_have_healthchecks(compose):
    for name, service in compose["services"].items():
        if service.get("restart") == "no":  # one-shot init containers
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"


def test_airflow_and_spark_share_one_image(compose):
    images = {
        compose["services"][n]["image"]
        for n in ("spark-master", "spark-worker", "airflow-api-server", "airflow-scheduler")
    }
    assert len(images) == 1  # same Python and Spark on driver and executors


def test_named_volumes_declared(compose):
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                used.add(source)
    assert used <= set(compose["volumes"])


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose plugin is not installed on this machine",
)
def test_docker_compose_config_validates(tmp_path):
    env = tmp_path / ".env"
    env.write_text((PROJECT_ROOT / ".env.example").read_text())
    result = subprocess.run(
        ["docker", "compose", "--env-file", str(env), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_secrets_are_required_and_ports_published_on_loopback_only(compose):
    text = COMPOSE.read_text()
    for key in GENERATED_SECRETS:
        uses = re.findall(r"\$\{" + key + r"([^}]*)\}", text)
        assert uses, f"{key} reaches the containers"
        assert all(use.startswith(":?") for use in uses), f"{key} must be ${{{key}:?…}}: no default, required"
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_spark_daemons_require_the_shared_secret_from_their_environment(compose):
    """spark.authenticate in compose as in local mode: master and workers read the secret from the container's
    environment (never interpolated into a command line); drivers take SPARK_AUTH_SECRET from the shared env."""
    assert compose["x-radiostars-env"]["SPARK_AUTH_SECRET"].startswith("${SPARK_AUTH_SECRET:?")
    for name in ("spark-master", "spark-worker"):
        command = " ".join(compose["services"][name]["command"])
        assert 'export _SPARK_AUTH_SECRET="$$SPARK_AUTH_SECRET"' in command, name
        assert "SPARK_DAEMON_JAVA_OPTS=-Dspark.authenticate=true" in command, name
        assert "${SPARK_AUTH_SECRET" not in command, name
