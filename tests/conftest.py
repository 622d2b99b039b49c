"""Shared fixtures. Integration tests run against the real local services that `make test` starts;
run alone without them, they fail with one clear line rather than skipping silently."""

from __future__ import annotations

import pytest

from radiostars.config import get_settings


@pytest.fixture(scope="session")
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def stack(settings):
    from radiostars.stack.services import GROUPS
    from radiostars.stack.supervisor import program_states

    states = program_states(settings)
    needed = [name for group in ("core",) for name in GROUPS[group]]
    down = [name for name in needed if states.get(name) != "RUNNING"]
    if down:
        pytest.fail(
            f"services not running: {', '.join(down)} — start them with `make up` (make test does)", pytrace=False
        )
    return settings


@pytest.fixture(scope="session")
def airflow_stack(stack):
    from radiostars.stack.probes import airflow_ready

    if not airflow_ready(stack):
        pytest.fail("Airflow is not healthy — start it with `make up`", pytrace=False)
    return stack
