"""`python -m detrecall.serve ...`: the same as `detrecall serve ...`."""

import sys

from .cli import main

sys.exit(main())
