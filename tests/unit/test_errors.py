"""Every error class the project defines derives from radiostars.errors.RadiostarsError (one handler
catches them all), and the ValueError-flavoured ones stay ValueErrors."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import radiostars
from radiostars.errors import RadiostarsError

pytestmark = pytest.mark.unit


def _project_exceptions():
    for info in pkgutil.walk_packages(radiostars.__path__, "radiostars."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("radiostars."):
                yield obj


def test_every_project_error_derives_from_the_base():
    found = set(_project_exceptions())
    assert len(found) >= 25, sorted(c.__name__ for c in found)
    outside = sorted(f"{c.__module__}.{c.__name__}" for c in found if not issubclass(c, RadiostarsError))
    assert outside == []


def test_value_errors_stay_value_errors():
    from radiostars.config import ConfigError
    from radiostars.ingest.errors import ParamsError
    from radiostars.lake.errors import InvalidRunIdError
    from radiostars.sample.errors import SampleError

    for cls in (ConfigError, ParamsError, InvalidRunIdError, SampleError):
        assert issubclass(cls, ValueError) and issubclass(cls, RadiostarsError)
