"""`python -m radiostars.evaluate …`."""

from .cli import main

raise SystemExit(main())
