"""The publish DAG creates the schemas dbt writes into before Cosmos starts its parallel dbt processes (two of
them creating one schema at once fail in PostgreSQL): the list must match dbt_project.yml."""

from __future__ import annotations

import pytest
import yaml

from radiostars.config import PROJECT_ROOT
from radiostars.warehouse.publish import BUILD_SCHEMA, DBT_SCHEMAS

pytestmark = pytest.mark.unit


def _custom_schemas(node) -> set[str]:
    out = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "+schema":
                out.add(str(value).strip())
            else:
                out |= _custom_schemas(value)
    return out


def test_dbt_schemas_are_the_ones_the_models_write_into():
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    written = {BUILD_SCHEMA if s == "marts" else s for s in _custom_schemas(project.get("models", {}))}
    assert written and written == set(DBT_SCHEMAS)
