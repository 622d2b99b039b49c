"""The loader's error: a file that cannot be loaded; the CLI prints its message on one line, exit 2."""

from radiostars.errors import RadiostarsError


class LoadError(RadiostarsError, ValueError):
    """Bad input file, column map or unit; the message says what is wrong and how to fix it."""
