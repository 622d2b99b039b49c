"""A small client for Airflow 3's REST API v2 (JWT from POST /auth/token): what `make demo` and the
end-to-end tests need — unpause, trigger, follow runs and task states, read a task's log."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from radiostars.config import Settings
from radiostars.errors import RadiostarsError

TERMINAL_RUN_STATES = {"success", "failed"}


class AirflowApiError(RadiostarsError):
    pass


class AirflowClient:
    def __init__(self, settings: Settings, timeout_s: float = 30.0):
        self.base = settings.airflow_url
        self.username = settings["AIRFLOW_ADMIN_USER"]
        self.password = settings["AIRFLOW_ADMIN_PASSWORD"]
        self.timeout_s = timeout_s
        self._token: str | None = None

    # ---- transport ---------------------------------------------------------------------------
    def token(self) -> str:
        body = json.dumps({"username": self.username, "password": self.password}).encode()
        req = urllib.request.Request(
            f"{self.base}/auth/token", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                self._token = json.load(resp)["access_token"]
        except urllib.error.HTTPError as exc:
            raise AirflowApiError(
                f"Airflow refused the admin credentials (HTTP {exc.code}): check "
                "AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD in .env"
            ) from None
        except urllib.error.URLError as exc:
            raise AirflowApiError(f"Airflow is not reachable at {self.base} ({exc.reason}): run `make up`") from None
        return self._token

    def request(self, method: str, path: str, body: Any = None, accept: str = "application/json") -> Any:
        if self._token is None:
            self.token()
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            req = urllib.request.Request(
                f"{self.base}/api/v2{path}",
                data=data,
                method=method,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                    "Accept": accept,
                },
            )
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    raw = resp.read()
                    return json.loads(raw) if accept == "application/json" and raw else raw.decode(errors="replace")
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and attempt == 1:  # token expired: fetch a new one once
                    self.token()
                    continue
                detail = exc.read().decode(errors="replace")[:500]
                raise AirflowApiError(f"{method} {path} -> HTTP {exc.code}: {detail}") from None
        raise AirflowApiError(f"{method} {path}: unauthorized")

    # ---- DAGs and runs --------------------------------------------------------------------------
    def dag(self, dag_id: str) -> dict:
        return self.request("GET", f"/dags/{dag_id}")

    def wait_for_dags(self, dag_ids: list[str], timeout_s: float = 120) -> None:
        """New DAG files appear after the dag-processor parses them."""
        deadline = time.monotonic() + timeout_s
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            missing = [d for d in dag_ids if not self._exists(d)]
            if not missing:
                return
            time.sleep(2)
        errors = self.request("GET", "/importErrors").get("import_errors", [])
        detail = "; ".join(f"{e.get('filename')}: {str(e.get('stack_trace', ''))[-300:]}" for e in errors)
        raise AirflowApiError(f"DAGs not parsed after {timeout_s:.0f} s: {missing}. Import errors: {detail or 'none'}")

    def _exists(self, dag_id: str) -> bool:
        try:
            self.dag(dag_id)
            return True
        except AirflowApiError:
            return False

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/dags/{dag_id}", {"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        run = self.request("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def dag_runs(self, dag_id: str, limit: int = 20) -> list[dict]:
        query = urllib.parse.urlencode({"limit": limit, "order_by": "-run_after"})
        return self.request("GET", f"/dags/{dag_id}/dagRuns?{query}")["dag_runs"]

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        rid = urllib.parse.quote(run_id, safe="")
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{rid}/taskInstances?limit=500")["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        rid = urllib.parse.quote(run_id, safe="")
        query = urllib.parse.urlencode({"full_content": "true", "map_index": map_index})
        body = self.request("GET", f"/dags/{dag_id}/dagRuns/{rid}/taskInstances/{task_id}/logs/{try_number}?{query}")
        lines = []
        for item in body.get("content", []):  # structured log records (dicts) or plain strings
            if isinstance(item, dict):
                event = str(item.get("event", ""))
                lines.append(f"{item.get('timestamp', '')} {item.get('level', '')} {event}".strip())
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def wait_for_new_run(self, dag_id: str, known_run_ids: set[str], timeout_s: float) -> dict:
        """The first run of dag_id not in known_run_ids (an asset-triggered run, say)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for run in self.dag_runs(dag_id):
                if run["dag_run_id"] not in known_run_ids:
                    return run
            time.sleep(2)
        raise AirflowApiError(f"no new run of {dag_id} within {timeout_s:.0f} s")

    def follow_run(
        self,
        dag_id: str,
        run_id: str,
        timeout_s: float,
        on_change: Callable[[str, str, str], None] | None = None,
        poll_s: float = 2.0,
    ) -> dict:
        """Poll until the run ends; call on_change(task_id, old_state, new_state) on every transition."""
        deadline = time.monotonic() + timeout_s
        seen: dict[str, str] = {}
        while time.monotonic() < deadline:
            for ti in self.task_instances(dag_id, run_id):
                key = ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")
                state = ti.get("state") or "none"
                if seen.get(key) != state:
                    if on_change:
                        on_change(key, seen.get(key, "-"), state)
                    seen[key] = state
            run = self.dag_run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            time.sleep(poll_s)
        raise AirflowApiError(f"{dag_id} run {run_id} did not finish within {timeout_s:.0f} s")

    def failed_task_logs(self, dag_id: str, run_id: str, tail_lines: int = 40) -> str:
        out = []
        for ti in self.task_instances(dag_id, run_id):
            if ti.get("state") == "failed":
                log = self.task_log(
                    dag_id, run_id, ti["task_id"], max(ti.get("try_number", 1), 1), ti.get("map_index", -1)
                )
                out.append(f"--- {dag_id}.{ti['task_id']} (try {ti.get('try_number')}) ---")
                out += log.splitlines()[-tail_lines:]
        return "\n".join(out)
