"""The hand cases of the dbt project's unit tests (``unit_tests:`` in dbt_project/models/**/*.yml): the
Python twins of the dbt rules (radiostars.evaluate.metrics / samestar) run the very same cases."""

from __future__ import annotations

from pathlib import Path

import yaml

from radiostars.config import PROJECT_ROOT

MODELS = PROJECT_ROOT / "dbt_project" / "models"


def dbt_unit_test(name: str, models: Path = MODELS) -> dict:
    """The unit test ``name``: ``{"given": {input: rows}, "expect": rows, ...}``."""
    for path in sorted(models.rglob("*.yml")):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []) or []:
            if test["name"] == name:
                given = {g["input"]: g.get("rows") or [] for g in test["given"]}
                return {**test, "given": given, "expect": test["expect"]["rows"]}
    raise KeyError(f"no dbt unit test {name!r} under {models}")
