"""One exception type for bad input to the sample-data tools (the CLI prints its one-line message)."""

from radiostars.errors import RadiostarsError


class SampleError(RadiostarsError, ValueError):
    """Bad input or unmet precondition; the message says what is wrong and what to do."""
