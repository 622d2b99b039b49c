"""Import a file of scripts/ as a module (scripts/ is not a package)."""

import importlib.util
import sys

from radiostars.config import PROJECT_ROOT


def load_script(name: str):
    """scripts/<name>.py as module ``name`` (registered once in sys.modules, so its children pickle)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
