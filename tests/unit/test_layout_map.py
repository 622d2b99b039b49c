"""The "Where things live" map of the README matches the tree: every package and top-level module of
include/radiostars is on it, and every path it names exists."""

from __future__ import annotations

import re

import pytest

from radiostars.config import PROJECT_ROOT

pytestmark = pytest.mark.unit


def _map_rows() -> dict[str, str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([^`]+)` \| (.+) \|$", section, re.M))


def test_every_package_and_module_is_on_the_map():
    rows = _map_rows()
    pkg = PROJECT_ROOT / "include" / "radiostars"
    for sub in sorted(p for p in pkg.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert f"include/radiostars/{sub.name}/" in rows, sub.name
    modules = rows["include/radiostars/*.py"]
    for mod in sorted(p.stem for p in pkg.glob("*.py") if p.stem != "__init__"):
        assert f"`{mod}`" in modules, mod


def test_every_path_on_the_map_exists():
    for path in _map_rows():
        if "*" not in path:
            assert (PROJECT_ROOT / path).exists(), path
