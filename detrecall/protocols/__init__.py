"""Evaluation protocols, one object each behind one interface (`Protocol`): `Coco`, `Voc`,
`Lvis`. `resolve_protocol("voc", ap_method="11point")` is the shorthand `evaluate` accepts."""

from __future__ import annotations

from typing import Any

from ..errors import DetrecallError
from .base import BatchMatches, Prepared, Protocol, Summarized
from .coco import Coco
from .lvis import Lvis
from .voc import Voc

PROTOCOLS: dict[str, type[Protocol]] = {"coco": Coco, "voc": Voc, "lvis": Lvis}
PROTOCOL_OPTIONS = tuple(sorted({o for cls in PROTOCOLS.values() for o in cls.options}))


def resolve_protocol(protocol: str | Protocol = "coco", **options: Any) -> Protocol:
    """A protocol object from itself or its name, and its own options (refused when given to a
    protocol that has no such option, with the protocol that has it)."""
    if isinstance(protocol, Protocol):
        if options:
            raise DetrecallError(
                f"give {', '.join(options)} to the protocol object ({protocol!r}), not as keywords"
            )
        return protocol
    cls = PROTOCOLS.get(protocol) if isinstance(protocol, str) else None
    if cls is None:
        raise DetrecallError(f"protocol must be one of {tuple(PROTOCOLS)}, got {protocol!r}")
    for key, value in options.items():
        if key not in cls.options and value not in (None, False):
            owners = [name for name, c in PROTOCOLS.items() if key in c.options]
            where = owners[0] if owners else "another protocol"
            if key == "pixel_inclusive":
                raise DetrecallError("pixel_inclusive is a Pascal VOC convention: use it with protocol='voc'")
            raise DetrecallError(f"{key} is an option of protocol={where!r}, not {protocol!r}")
    return cls(**{k: v for k, v in options.items() if k in cls.options})


__all__ = [
    "PROTOCOLS",
    "PROTOCOL_OPTIONS",
    "BatchMatches",
    "Coco",
    "Lvis",
    "Prepared",
    "Protocol",
    "Summarized",
    "Voc",
    "resolve_protocol",
]
