"""Errors of the run store and the monitor, each a one-line message the CLI prints as is.

DetrecallError (ValueError)
 ├── StoreError              the store cannot be used: not a detrecall database, a newer schema
 └── InputError
      └── MonitorInputError  a monitor call asked for what is not there: an unknown model,
                             run or metric, a malformed rule
"""

from __future__ import annotations

from ..errors import DetrecallError, InputError


class StoreError(DetrecallError):
    """The store at a URL cannot be opened as a detrecall run store (and nothing was written)."""


class MonitorInputError(InputError):
    """A monitor request names a model, run or metric the store does not hold, or a bad rule."""
