"""As root the cluster lives in the postgres user's home, keyed by the checkout's state folder *and* a token kept in
it: a checkout deleted and cloned again at the same path must not reuse the old cluster (old passwords)."""

from __future__ import annotations

import os
import pwd
import shutil

import pytest

from radiostars.config import GENERATED_SECRETS, load_settings
from radiostars.stack.services import postgres_dirs

pytestmark = pytest.mark.unit


def _settings(state):
    secrets = {key: f"test-secret-{key.lower()}" for key in GENERATED_SECRETS}
    return load_settings(environ={**secrets, "RADIOSTARS_STATE_DIR": str(state)}, env_file=state / "none")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root keeps the cluster outside the checkout")
def test_a_new_state_folder_at_the_same_path_gets_a_new_cluster(tmp_path):
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres service user on this machine")
    state = tmp_path / ".local"
    s = _settings(state)
    assert s.state_dir == state
    first = postgres_dirs(s)
    assert postgres_dirs(s) == first  # stable while the state folder lives
    shutil.rmtree(state)
    again = postgres_dirs(_settings(state))
    assert again.base != first.base and again.base.parent == first.base.parent
