"""detrecall's test stand-in for torchvision: `ops.box_convert` only (see ../README.md)."""

__version__ = "0.0.0+standin"
