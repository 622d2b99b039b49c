"""Entry point supervisord runs for each program: rebuild its spec from the config, then exec it."""

from __future__ import annotations

import os
import sys

from radiostars.config import get_settings
from radiostars.errors import RadiostarsError
from radiostars.stack.services import program_specs


def main(name: str) -> None:
    try:
        specs = program_specs(get_settings())
    except RadiostarsError as exc:  # e.g. a weak secret: one line in the program's log, no traceback
        sys.exit(f"radiostars.stack.launch {name}: {exc}")
    if name not in specs:
        sys.exit(f"radiostars.stack.launch: unknown program {name!r}; known: {', '.join(specs)}")
    spec = specs[name]
    os.execvpe(spec["argv"][0], spec["argv"], spec["env"])


if __name__ == "__main__":
    main(sys.argv[1])
