"""Import-time names only (torchmetrics' image metrics import them when torchvision is present);
calling one says it is a stand-in."""

from __future__ import annotations

from typing import Any


def _absent(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("detrecall's torchvision stand-in has no models")


resnet50 = vgg16 = _absent
VGG16_Weights = None
