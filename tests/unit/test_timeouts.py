"""Timeouts of the clients and of the Spark cluster wait (docs/reliability.md); no services needed."""

from __future__ import annotations

import pytest

from radiostars.config import ConfigError, load_settings
from radiostars.ingest.extract import _timeout_hint, statement_limits
from radiostars.orchestration.crossmatch_dag import SparkClusterUnavailable, wait_for_workers
from radiostars.warehouse.db import session_options

pytestmark = pytest.mark.unit


def test_postgres_sessions_carry_statement_and_lock_timeouts():
    s = load_settings(environ={"POSTGRES_STATEMENT_TIMEOUT_S": "90", "POSTGRES_LOCK_TIMEOUT_S": "7"})
    assert session_options(s) == "-c statement_timeout=90000 -c lock_timeout=7000"


def test_timeouts_are_checked_naming_the_key():
    with pytest.raises(ConfigError, match="MYSQL_LOCK_WAIT_TIMEOUT_S"):
        load_settings(environ={"MYSQL_LOCK_WAIT_TIMEOUT_S": "0"}).timeout_s("MYSQL_LOCK_WAIT_TIMEOUT_S")
    with pytest.raises(ConfigError, match="TASK_TIMEOUT_SCALE"):
        _ = load_settings(environ={"TASK_TIMEOUT_SCALE": "soon"}).task_timeout_scale


def test_mysql_statement_limits_and_the_hint_naming_the_timeout():
    assert statement_limits(900, 60) == "max_statement_time=900, lock_wait_timeout=60"
    assert statement_limits(2.5, 1) == "max_statement_time=2.5, lock_wait_timeout=1"
    with pytest.raises(ValueError):
        statement_limits(0, 60)
    assert "MYSQL_STATEMENT_TIMEOUT_S" in _timeout_hint("ERROR 1969 (70100): Query execution was interrupted")
    assert "MYSQL_LOCK_WAIT_TIMEOUT_S" in _timeout_hint("ERROR 1205 (HY000): Lock wait timeout exceeded")
    assert _timeout_hint("ERROR 2013: Lost connection") == ""


def test_wait_for_workers_only_checks_the_local_standalone_master():
    s = load_settings(environ={"SPARK_MASTER_PORT": "17077", "SPARK_MASTER_HOST": "127.0.0.1"})
    calls = []
    assert wait_for_workers(s, "local[*]", alive_workers=lambda _: calls.append(1) or []) == 0
    assert wait_for_workers(s, "spark://elsewhere:7077", alive_workers=lambda _: calls.append(1) or []) == 0
    assert calls == []
    answers = iter([[], OSError("refused"), [{"id": "w1"}]])

    def alive(_):
        a = next(answers)
        if isinstance(a, Exception):
            raise a
        return a

    assert wait_for_workers(s, "spark://127.0.0.1:17077", wait_s=5, poll_s=0, alive_workers=alive) == 1


def test_wait_for_workers_fails_clearly_when_none_comes():
    s = load_settings(environ={"SPARK_MASTER_PORT": "17077", "SPARK_MASTER_HOST": "127.0.0.1"})
    with pytest.raises(SparkClusterUnavailable, match="0 alive workers after 0 s .SPARK_WORKER_WAIT_S") as info:
        wait_for_workers(s, "spark://127.0.0.1:17077", wait_s=0, poll_s=0, alive_workers=lambda _: [])
    assert info.value.retryable


class _Event:
    def __init__(self, run_id):
        self.extra = {"run_id": run_id}


def test_the_publish_dag_takes_the_newest_committed_of_the_merged_asset_events():
    from radiostars.orchestration.publish_dag import run_id_to_publish

    s = load_settings(environ={})
    order = ["a", "b", "c", "d"]  # oldest commit first
    events = {"crossmatch_runs": [_Event("c"), _Event("b"), _Event("a")]}
    assert run_id_to_publish(s, {}, events, committed=order) == "c"
    assert run_id_to_publish(s, {}, {"x": [_Event("b")]}, committed=order) == "b"
    assert run_id_to_publish(s, {"run_id": "a"}, {}, committed=order) == "a"  # the trigger form's choice
    assert run_id_to_publish(s, {}, {}, committed=order) == "d"  # nothing named: the newest committed
    with pytest.raises(RuntimeError, match="no committed cross-match run"):
        run_id_to_publish(s, {}, {}, committed=[])
