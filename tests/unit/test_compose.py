"""docker-compose.yaml is checked statically (no Docker engine runs here)."""

import re
import shutil
import subprocess

import pytest
import yaml

from radiostars.config import DEFAULTS, PROJECT_ROOT, parse_env_file

pytestmark = pytest.mark.unit

COMPOSE = PROJECT_ROOT / "docker-compose.yaml"
EXPECTED_SERVICES = {"mysql", "postgres", "minio", "spark-master", "spark-worker", "airflow-init",
                     "airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}


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
    # everything the application reads, except what only concerns local processes, reaches containers
    local_only = {"SPARK_MASTER_WEBUI_PORT", "SPARK_WORKER_WEBUI_PORT", "SPARK_WORKER_CORES",
                  "SPARK_WORKER_MEMORY", "MINIO_CONSOLE_PORT", "AIRFLOW_BIND_HOST"}
    assert set(DEFAULTS) - set(env) - local_only == set()


def test_images_pinned(compose):
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name} has an image name (built images are tagged too)"
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image} is not pinned"
    assert compose["services"]["minio"]["image"] == "quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z"


def test_long_running_services_have_healthchecks(compose):
    for name, service in compose["services"].items():
        if service.get("restart") == "no":  # one-shot init containers
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"


def test_airflow_and_spark_share_one_image(compose):
    images = {compose["services"][n]["image"] for n in
              ("spark-master", "spark-worker", "airflow-api-server", "airflow-scheduler")}
    assert len(images) == 1  # same Python and Spark on driver and executors


def test_named_volumes_declared(compose):
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                used.add(source)
    assert used <= set(compose["volumes"])


@pytest.mark.skipif(shutil.which("docker") is None or subprocess.run(
    ["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose plugin is not installed on this machine")
def test_docker_compose_config_validates(tmp_path):
    env = tmp_path / ".env"
    env.write_text((PROJECT_ROOT / ".env.example").read_text())
    result = subprocess.run(["docker", "compose", "--env-file", str(env), "-f", str(COMPOSE), "config", "-q"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
