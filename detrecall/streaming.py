"""`Evaluator`: evaluation batch by batch, merged across processes, equal to one `evaluate`.

Matching is per image, so the state is the matcher's output for the images seen so far
(compact arrays: one row per kept detection and per match, one per ground truth), never the
inputs. Images must arrive whole (all of an image's ground truth and detections in one
`update`), each once; the summary orders them by image id, as one pass would.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DetrecallError
from .evaluate import Config, check_image_ids, class_names, finish, make_config, match_batch, read_inputs
from .io.arrays import is_arrays
from .matching import concat_matches
from .options import CocoParams, InputOptions, IouType, Keywords, PointOptions
from .protocols import BatchMatches, Protocol
from .result import EvaluationResult
from .types import Categories, Matches

if TYPE_CHECKING:
    from typing_extensions import Unpack

STATE_FORMAT = "detrecall.Evaluator/1"


def _plain(value: Any) -> Any:
    """Options as plain data (arrays and tuples as lists), compared through repr (nan == nan)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def options_of(config: Config) -> dict[str, Any]:
    """A Config as plain data: what two evaluators must share to be merged."""
    return {
        "iou_type": config.iou_type.value,
        "protocol": repr(config.protocol),
        "params": _plain(dataclasses.asdict(config.params)),
        "point": _plain(dataclasses.asdict(config.point)),
        "inputs": {
            k: str(v) if v is not None else None for k, v in dataclasses.asdict(config.inputs).items()
        },
    }


def _matches_to_dict(m: Matches) -> dict[str, np.ndarray]:
    return {f.name: np.array(getattr(m, f.name)) for f in dataclasses.fields(Matches)}


def _matches_from_dict(d: dict[str, Any]) -> Matches:
    return Matches(**{f.name: np.asarray(d[f.name]) for f in dataclasses.fields(Matches)})


class Evaluator:
    """Streaming evaluation: `update(gt, dt)` per batch, `merge` shards, `compute()` the result.

    Takes `evaluate`'s keyword arguments. `gt` of a batch is a COCO dict (or file, or Dataset)
    holding just that batch's images; all batches must list the same categories. `compute()`
    equals `evaluate` on all the batches' images at once, to the bit.
    """

    def __init__(
        self,
        iou_type: str | IouType = "bbox",
        *,
        protocol: str | Protocol = "coco",
        params: CocoParams | None = None,
        point: PointOptions | None = None,
        inputs: InputOptions | None = None,
        **keywords: Unpack[Keywords],
    ) -> None:
        config = make_config(
            iou_type, protocol=protocol, params=params, point=point, inputs=inputs, **keywords
        )
        if not config.protocol.streaming:
            raise DetrecallError(
                f"protocol={config.protocol.name!r} is not available in streaming yet: its labels come "
                "with the whole ground-truth file (use evaluate)"
            )
        self._config: Config = config
        self._options = options_of(config)
        self._categories: Categories | None = None
        self._parts: list[BatchMatches] = []
        self._images: list[np.ndarray] = []

    def _check_categories(self, categories: Categories) -> None:
        if self._categories is None:
            self._categories = categories
        elif not (
            np.array_equal(self._categories.ids, categories.ids)
            and self._categories.names == categories.names
        ):
            raise DetrecallError(
                "every batch must list the same categories (ids and names) "
                f"as the first: {self._categories.ids.tolist()}"
            )

    def _add(self, part: BatchMatches, images: np.ndarray) -> None:
        seen = np.concatenate(self._images) if self._images else np.zeros(0, np.int64)
        again = np.intersect1d(seen, images)
        if len(again):
            raise DetrecallError(
                f"image {int(again[0])} was already evaluated: each image must come whole, once "
                f"({len(again)} image(s) repeated)"
            )
        self._parts.append(part)
        self._images.append(images)

    def update(self, gt: Any, dt: Any) -> None:
        """Match one batch of whole images and keep only the matcher's output.

        `gt`, `dt` may be per-image arrays (targets, preds) as `evaluate` takes them; images
        without an "image_id" then get ids after the largest seen so far (0, 1, ... at first),
        and the Evaluator needs `categories=` (the class list must be the same in every batch).
        """
        first_id = 0
        if is_arrays(gt):
            if self._config.inputs.categories is None:
                raise DetrecallError(
                    "Evaluator.update with per-image arrays needs Evaluator(..., "
                    "categories=[names by label] or {label: name}): every batch "
                    "must have the same class list"
                )
            first_id = int(max((int(i.max()) + 1 for i in self._images if len(i)), default=0))
        gt_set, dt_set = read_inputs(gt, dt, self._config, first_image_id=first_id)
        self._check_categories(gt_set.categories)
        images = gt_set.images.ids
        if self._config.params.image_ids is not None:
            images = np.intersect1d(images, self._config.params.image_ids)
        self._add(match_batch(gt_set, dt_set, self._config), images)

    def merge(self, other: Evaluator) -> None:
        """Take in another evaluator's images (same options and categories, other images)."""
        if other is self:
            raise DetrecallError("cannot merge an Evaluator into itself")
        if repr(other._options) != repr(self._options):
            raise DetrecallError("cannot merge evaluators made with different options")
        if other._categories is None:
            return
        self._check_categories(other._categories)
        for part, images in zip(other._parts, other._images):
            self._add(part, images)

    def _merged(self) -> tuple[BatchMatches, np.ndarray]:
        if not self._parts:
            raise DetrecallError("nothing to compute: call update() with at least one batch first")
        if len(self._parts) > 1:  # compact: the merged state replaces its parts
            confusions = [p.confusion for p in self._parts if p.confusion is not None]
            merged = BatchMatches(
                coco=concat_matches([p.coco for p in self._parts]),
                point=concat_matches([p.point for p in self._parts]),
                confusion=np.sum(confusions, axis=0) if confusions else None,
            )
            self._parts, self._images = [merged], [np.sort(np.concatenate(self._images))]
        return self._parts[0], self._images[0]

    def compute(self) -> EvaluationResult:
        """The result of every image seen, as `evaluate` would give it."""
        merged, images = self._merged()
        check_image_ids(self._config.params, images)
        assert self._categories is not None
        names = class_names(self._categories, merged.coco.class_ids, self._config.params.class_agnostic)
        return finish(self._config, merged, names, images)

    def state_dict(self) -> dict[str, Any]:
        """The state as plain data (numpy arrays, lists): picklable, to merge elsewhere."""
        if not self._parts:
            return {"format": STATE_FORMAT, "options": self._options, "categories": None}
        merged, images = self._merged()
        assert self._categories is not None
        return {
            "format": STATE_FORMAT,
            "options": self._options,
            "categories": {"ids": self._categories.ids.copy(), "names": list(self._categories.names)},
            "images": images,
            "coco": _matches_to_dict(merged.coco),
            "point": _matches_to_dict(merged.point),
            "confusion": merged.confusion,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace this evaluator's state by one from `state_dict()` (same options)."""
        try:
            self._load_state(state)
        except DetrecallError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise DetrecallError(f"not a whole Evaluator state ({type(e).__name__}: {e})") from None

    def _load_state(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise DetrecallError(f"not an Evaluator state (expected format {STATE_FORMAT!r})")
        if repr(state["options"]) != repr(self._options):
            raise DetrecallError("the state was made with different options")
        self._categories, self._parts, self._images = None, [], []
        if state["categories"] is None:
            return
        self._categories = Categories(
            ids=np.asarray(state["categories"]["ids"], np.int64), names=tuple(state["categories"]["names"])
        )
        confusion = state["confusion"]
        self._parts = [
            BatchMatches(
                coco=_matches_from_dict(state["coco"]),
                point=_matches_from_dict(state["point"]),
                confusion=None if confusion is None else np.asarray(confusion),
            )
        ]
        self._images = [np.asarray(state["images"], np.int64)]
