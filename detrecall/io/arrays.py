"""In-memory input shaped like torchmetrics' and torchvision's: one dict per image.

    targets[i] = {"boxes": (N, 4), "labels": (N,), optional "iscrowd" (N,), "area" (N,),
                  "ignore" (N,) (flags: bool or 0/1), "masks": (N, H, W) bool or a list of N RLE
                  dicts, "image_id"}
    preds[i]   = {"boxes": (N, 4), "scores": (N,), "labels": (N,), optional "masks"}

Values are numpy arrays or anything `np.asarray` takes (lists, torch CPU tensors through their
`__array__`; torch itself is never imported). Image i of `targets` pairs with image i of `preds`;
its id is the target's "image_id" when given, else `first_image_id + i`. Classes are the integer
labels; `categories` names them (a list indexed by label, or {label: name}) and then fixes the
class list, else it is every label of targets and preds, named by number.

Boxes are `box_format` "xyxy" (default, torchvision's), "xywh" (COCO's) or "cxcywh". Masks are
read for iou_type "segm" only; bool arrays become RLEs through pycocotools.mask.encode (Fortran
order), and give the image's size. Areas follow COCO's loading rules: a target's `area` when
given, else its mask area for segm, else the box's w*h; a prediction's is its box's w*h (also for
segm, as pycocotools' loadRes), and a prediction given by masks alone takes area and box from
its mask.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from .._compiled import kernels
from ..errors import InputError
from ..geometry import masks as M
from ..types import Categories, Dataset, Detections, Images
from ._common import BOX_FORMATS, build_dataset, build_detections, is_int_text, to_xywh
from ._problems import Problems, warn_odd_scores, warn_repeats, warn_suspicious
from ._records import INT64_MAX, INT64_MIN, INT64_RANGE, OVERFLOW, box_overflows

TARGET_KEYS = ("boxes", "labels", "iscrowd", "area", "ignore", "masks", "image_id")
PRED_KEYS = ("boxes", "scores", "labels", "masks", "image_id")


def is_arrays(value: Any) -> bool:
    """A list or tuple of per-image dicts (a COCO ground truth is a dict, a results list holds
    dicts with "image_id" and "category_id")."""
    if not isinstance(value, (list, tuple)):
        return False
    return not value or (isinstance(value[0], Mapping) and "category_id" not in value[0])


class _Image:
    """One image's arrays, checked; `n` objects (0 when unusable)."""

    def __init__(
        self,
        d: Any,
        kind: str,
        i: int,
        problems: Problems,
        *,
        box_format: str,
        masks: bool,
        keys: tuple[str, ...],
    ) -> None:
        self.where = f"{kind}[{i}]"
        self.problems = problems
        self.masks: list[dict[str, Any]] | None = None
        self.size: tuple[int, int] | None = None  # (h, w) from the masks
        if not isinstance(d, Mapping):
            self.add(None, f"is {type(d).__name__}, expected a dict with {', '.join(keys[:3])}")
            d = {}
        self.d = d
        unknown = sorted(set(map(str, d)) - set(keys))
        if unknown:
            self.add(None, f"has unknown key(s) {unknown} (expected {', '.join(keys)})")
        self.labels = self.array("labels", 1, integer=True)
        self.n = len(self.labels) if self.labels is not None else 0
        self.has_boxes = "boxes" in d
        self.box = np.zeros((self.n, 4))
        if self.has_boxes:
            raw = self.array("boxes", 2, width=4)
            if raw is not None:
                self.box = self.boxes(raw, box_format)
        if masks and d.get("masks") is not None:
            self.read_masks(d["masks"])
        elif masks and self.n:
            self.add("masks", "missing (iou_type='segm' needs masks: (N, H, W) bool or RLE dicts)")
        elif not self.has_boxes and self.n:
            self.add("boxes", "missing (expected (N, 4) boxes)")

    def add(self, field: str | None, message: str) -> None:
        self.problems.add(message, record=self.where, field=field)

    def array(
        self,
        key: str,
        ndim: int,
        *,
        integer: bool = False,
        width: int | None = None,
        required: bool = True,
        flag: bool = False,
    ) -> np.ndarray | None:
        """The value of `key` as a checked array of `n` rows (labels set n), or None; bool
        values only for a `flag` (iscrowd, ignore: torch users pass bool tensors)."""
        if key not in self.d:
            if required:
                self.add(key, "missing")
            return None
        try:
            a = np.asarray(self.d[key])
        except (TypeError, ValueError) as e:
            self.add(key, f"cannot be read as an array ({e})")
            return None
        if a.size == 0 and (key == "labels" or self.n == 0):
            return np.zeros((0, width) if width else 0, np.int64 if integer else np.float64)
        shape = f"({'N, ' + str(width) if width else 'N,'})"
        if a.ndim != ndim or (width is not None and a.shape[1] != width):
            self.add(key, f"has shape {a.shape} (expected {shape})")
            return None
        if a.dtype.kind not in ("iufb" if flag else "iuf"):
            self.add(key, f"has dtype {a.dtype} (expected {'integers' if integer else 'numbers'})")
            return None
        if key != "labels" and len(a) != self.n:
            self.add(key, f"has {len(a)} rows but labels has {self.n}")
            return None
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(axis=1))
            self.add(key, f"row {int(bad[0])} is not finite ({len(bad)} row(s) in all)")
            return None
        if integer:
            if a.dtype.kind == "u" and (a > INT64_MAX).any():  # would wrap around to negative
                self.add(key, f"has values of 2**63 or more (expected {INT64_RANGE})")
                return None
            if a.dtype.kind == "f":
                if not (a == np.round(a)).all():
                    self.add(key, "has non-integer values (expected integer labels)")
                    return None
            return a.astype(np.int64)
        return a.astype(np.float64)

    def boxes(self, raw: np.ndarray, box_format: str) -> np.ndarray:
        box = to_xywh(raw, box_format)
        overflow = np.flatnonzero(~np.isfinite(box).all(axis=1) | box_overflows(box))
        if len(overflow):
            self.add(
                "boxes",
                f"row {int(overflow[0])} is {raw[overflow[0]].tolist()}: as [x, y, w, h] it is "
                f"{box[overflow[0]].tolist()}, and {OVERFLOW} ({len(overflow)} row(s) in all)",
            )
            return box
        bad = np.flatnonzero((box[:, 2] < 0) | (box[:, 3] < 0))
        if len(bad):
            expected = "x1 <= x2 and y1 <= y2" if box_format == "xyxy" else "w, h >= 0"
            self.add(
                "boxes",
                f"row {int(bad[0])} is {raw[bad[0]].tolist()} (expected {box_format} "
                f"with {expected}; {len(bad)} row(s) in all)",
            )
        return box

    def flags(self, key: str) -> np.ndarray:
        a = self.array(key, 1, required=False, flag=True)
        if a is None:
            return np.zeros(self.n, bool)
        if not np.isin(a, (0, 1)).all():
            self.add(key, "has values other than 0 and 1")
        return a.astype(bool)

    def read_masks(self, value: Any) -> None:
        sizes: set[tuple[int, int]]  # (h, w) of every mask
        if isinstance(value, (list, tuple)) and (not value or isinstance(value[0], Mapping)):
            rles = []
            for k, rle in enumerate(value):
                rle = _rle(rle)
                if rle is None:
                    self.add(
                        "masks",
                        f"item {k} is not an RLE dict {{size: [h, w], counts: ...}} "
                        "(h, w >= 1, h*w < 2**32, run lengths adding up to h*w)",
                    )
                    return
                rles.append(rle)
            sizes = {(int(r["size"][0]), int(r["size"][1])) for r in rles}
        else:
            try:
                m = np.asarray(value)
            except (TypeError, ValueError) as e:
                self.add("masks", f"cannot be read as an array ({e})")
                return
            if m.ndim != 3 or m.dtype.kind not in "biu":
                self.add("masks", f"has shape {m.shape} and dtype {m.dtype} (expected (N, H, W) bool)")
                return
            if m.dtype.kind != "b" and not np.isin(m, (0, 1)).all():
                self.add("masks", "has values other than 0 and 1 (expected bool masks)")
                return
            sizes = {(m.shape[1], m.shape[2])}
            fortran = np.asfortranarray(m.transpose(1, 2, 0).astype(np.uint8))
            rles = list(mask_utils.encode(fortran)) if len(m) else []
        if len(rles) != self.n:
            self.add("masks", f"has {len(rles)} masks but labels has {self.n}")
            return
        if len(sizes) > 1:
            self.add("masks", f"masks of different sizes {sorted(sizes)} (expected one image size)")
            return
        self.masks = rles
        self.size = next(iter(sizes)) if sizes else None


def _rle(value: Any) -> dict[str, Any] | None:
    """A compressed RLE from an RLE dict (compressed or uncompressed counts); None if invalid."""
    if not isinstance(value, Mapping):
        return None
    size: Any = value.get("size")  # anything: what does not give two integers is refused
    counts = value.get("counts")
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        return None
    if h <= 0 or w <= 0 or h * w > M.MAX_MASK_PIXELS:  # what pycocotools' masks hold
        return None
    if isinstance(counts, (str, bytes)):
        raw = counts.encode("ascii", "replace") if isinstance(counts, str) else counts
        if raw.translate(None, bytes(range(48, 112))):
            return None
        if M.first_bad_rle([counts], np.array([[h, w]], np.int64)) is not None:
            return None  # runs that do not add up to h*w, or a negative one
        return {"size": [h, w], "counts": counts}
    if isinstance(counts, (list, tuple, np.ndarray)):
        c = np.asarray(counts)
        if c.ndim != 1 or c.dtype.kind not in "iu" or (c < 0).any() or int(c.sum()) != h * w:
            return None
        return M.uncompressed_to_rle({"size": [h, w], "counts": c.tolist()})
    return None


def _image_id(d: Any, fallback: int, img: _Image) -> int:
    if not isinstance(d, Mapping) or d.get("image_id") is None:
        return fallback
    try:
        a = np.asarray(d["image_id"])
        if a.size == 1 and a.dtype.kind in "iu" and INT64_MIN <= int(a.reshape(-1)[0]) <= INT64_MAX:
            return int(a.reshape(-1)[0])
    except (TypeError, ValueError):
        pass
    img.add("image_id", f"is {d['image_id']!r} (expected {INT64_RANGE})")
    return fallback


def _categories(
    categories: Sequence[str] | Mapping[int, str] | Categories | None, labels: np.ndarray
) -> Categories:
    if isinstance(categories, Categories):  # read already (a streaming evaluator's, every batch)
        return categories
    if categories is None:
        ids = np.unique(labels)
        return Categories(ids=ids, names=tuple(str(int(i)) for i in ids))
    if isinstance(categories, Mapping):
        plain = all(type(k) is int for k in categories)  # the usual case, without a call per key
        found = list(categories) if plain else [_label(k) for k in categories]
        bad = next((k for k, label in zip(categories, found) if label is None), None)
        if bad is not None:
            raise InputError(
                f"key {bad!r} is not an integer label (expected a {{label: name}} dict "
                "with integer labels, or a list of names indexed by label)",
                field="categories",
            )
        keys = [label for label in found if label is not None]  # every one: a bad key raised above
        if len(set(keys)) < len(keys):
            raise InputError(f"keys {list(categories)} name the same label twice", field="categories")
        items = sorted((label, str(v)) for label, v in zip(keys, categories.values()))
    elif isinstance(categories, (list, tuple)):
        items = [(k, str(v)) for k, v in enumerate(categories)]
    else:
        raise InputError(
            f"categories is {type(categories).__name__} (expected a list of names "
            "indexed by label, or a {label: name} dict)"
        )
    return Categories(
        ids=np.array([k for k, _ in items], np.int64).reshape(-1), names=tuple(v for _, v in items)
    )


def _label(key: Any) -> int | None:
    """A category key as an integer label: an int (not a bool) or the text of one."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return int(key)
    if isinstance(key, str) and is_int_text(key.strip()):
        return int(key)
    return None


@dataclass(frozen=True)
class _Columns:
    """A batch's checked columns, images in the order given (rows image by image): what both
    readers (the batch-wide one and the image-by-image one) give, `build_arrays` builds on."""

    image_ids: np.ndarray  # (I,) int64
    sizes: np.ndarray  # (I, 2) int64 (h, w) from the masks, 0 when unknown
    n_gt: np.ndarray  # (I,) int64 rows per image
    n_dt: np.ndarray
    gt_cat: np.ndarray  # (N,) int64
    gt_box: np.ndarray  # (N, 4) float64 xywh
    area: np.ndarray  # (N,) float64
    iscrowd: np.ndarray  # (N,) bool
    ignore: np.ndarray
    dt_cat: np.ndarray  # (D,) int64
    dt_box: np.ndarray  # (D, 4) float64 xywh
    dt_area: np.ndarray
    score: np.ndarray
    gt_masks: list[dict[str, Any]] | None = None
    dt_masks: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class ArrayBatch:
    """A batch of per-image arrays read and checked, not built into tables yet (a streaming
    evaluator builds many batches at once): its columns and its categories."""

    columns: _Columns
    categories: Categories
    per_batch: tuple[int, ...] | None = None  # images of each batch joined into this one

    @property
    def rows(self) -> int:
        """Ground truths and detections."""
        return len(self.columns.gt_cat) + len(self.columns.dt_cat)

    @property
    def images_per_batch(self) -> tuple[int, ...]:
        return self.per_batch or (len(self.columns.image_ids),)

    @property
    def nbytes(self) -> int:
        values = (getattr(self.columns, f.name) for f in fields(_Columns))
        return sum(v.nbytes for v in values if isinstance(v, np.ndarray))


def read_arrays(
    targets: Sequence[Any],
    preds: Sequence[Any],
    *,
    box_format: str = "xyxy",
    categories: Sequence[str] | Mapping[int, str] | None = None,
    iou_type: str = "bbox",
    first_image_id: int = 0,
) -> tuple[Dataset, Detections]:
    """Dataset and Detections from per-image dicts (see the module doc); every problem of every
    image is reported together (up to 20), each as `targets[i]: field: ...`."""
    batch = check_arrays(
        targets,
        preds,
        box_format=box_format,
        categories=categories,
        iou_type=iou_type,
        first_image_id=first_image_id,
    )
    return build_arrays([batch])


def check_arrays(
    targets: Sequence[Any],
    preds: Sequence[Any],
    *,
    box_format: str = "xyxy",
    categories: Sequence[str] | Mapping[int, str] | Categories | None = None,
    iou_type: str = "bbox",
    first_image_id: int = 0,
) -> ArrayBatch:
    """`read_arrays`' reading and checks, without building the tables (nor warning);
    `categories` may also be the Categories a first batch's gave (not read again).

    Boxes without masks are checked batch-wide (`_batch_columns`: a few numpy calls for the
    whole batch, what a streaming update pays); anything that fails a check there, and masks,
    go image by image (`_image_columns`), which names each problem's image and field.
    """
    if box_format not in BOX_FORMATS:
        raise InputError(f"box_format is {box_format!r} (expected one of {', '.join(BOX_FORMATS)})")
    if not isinstance(targets, (list, tuple)) or not isinstance(preds, (list, tuple)):
        raise InputError(
            "targets and preds must both be lists with one dict per image, got "
            f"{type(targets).__name__} and {type(preds).__name__}"
        )
    if len(targets) != len(preds):
        raise InputError(
            f"{len(targets)} targets but {len(preds)} preds (expected one dict per "
            "image in each, image i of targets pairing with image i of preds)"
        )
    masks = iou_type == "segm"
    fast = None if masks else _batch_columns(targets, preds, box_format, categories, first_image_id)
    cols, cats = fast or _image_columns(targets, preds, box_format, categories, first_image_id, masks)
    return ArrayBatch(cols, cats)


def build_arrays(
    batches: Sequence[ArrayBatch], *, labels: Sequence[str] | None = None, warn: bool = True
) -> tuple[Dataset, Detections]:
    """Dataset and Detections of checked batches of other images each (same categories), after
    the suspicious-row warnings (`warn_arrays`; `warn=False`: the caller warns later)."""
    if warn:
        warn_arrays(batches, labels=labels)
    cols = _join([b.columns for b in batches])  # nothing to do for one batch (or a joined one)
    image_ids, size = cols.image_ids, cols.sizes
    order = np.argsort(image_ids, kind="stable")
    images = Images(ids=image_ids[order], width=size[order, 1], height=size[order, 0])
    gt = build_dataset(
        image_id=np.repeat(image_ids, cols.n_gt),
        category_id=cols.gt_cat,
        box=cols.gt_box,
        area=cols.area,
        images=images,
        categories=batches[0].categories,
        source="targets",
        iscrowd=cols.iscrowd,
        ignore=cols.ignore,
        masks=cols.gt_masks,
    )
    dt = build_detections(
        image_id=np.repeat(image_ids, cols.n_dt),
        category_id=cols.dt_cat,
        box=cols.dt_box,
        score=cols.score,
        area=cols.dt_area,
        source="preds",
        masks=cols.dt_masks,
    )
    return gt, dt


def warn_arrays(
    batches: Sequence[ArrayBatch], *, labels: Sequence[str] | None = None, absent_classes: bool = True
) -> None:
    """The suspicious-row warnings of checked batches, each naming its row
    `{labels[k]}preds[i] row j` (batch k); `absent_classes=False` leaves out the one of classes
    predicted without ground truth (a streaming batch lacks what the others have)."""
    cols = _join([b.columns for b in batches])
    per_batch = [n for b in batches for n in b.images_per_batch]
    names = labels or [""] * len(per_batch)

    def where(kind: str, counts: np.ndarray) -> Callable[[int], str]:
        return lambda i: row_names(kind, counts, per_batch, names)(i)  # built when a warning names a row

    sized = bool(cols.sizes.any())  # boxes without masks: no image size, nothing reaches outside
    if sized:  # the targets' one warning: boxes reaching outside their image
        gt_size = np.repeat(cols.sizes, cols.n_gt, axis=0).astype(float)
        warn_suspicious(
            "targets",
            where("targets", cols.n_gt),
            image_id=np.repeat(cols.image_ids, cols.n_gt),
            category_id=cols.gt_cat,
            box=cols.gt_box,
            width=gt_size[:, 1],
            height=gt_size[:, 0],
        )
    dt_size = np.repeat(cols.sizes, cols.n_dt, axis=0).astype(float) if sized else None
    warn_suspicious(
        "preds",
        where("preds", cols.n_dt),
        image_id=np.repeat(cols.image_ids, cols.n_dt),
        category_id=cols.dt_cat,
        box=cols.dt_box,
        width=None if dt_size is None else dt_size[:, 1],
        height=None if dt_size is None else dt_size[:, 0],
        score=cols.score,
        gt_category_ids=np.unique(cols.gt_cat) if absent_classes else None,
    )


def warn_found(
    batch: ArrayBatch, labels: Sequence[str], odd_scores: tuple[int, int], repeats: tuple[int, int]
) -> None:
    """`warn_arrays`' warnings (absent classes apart) of a batch of boxes without image sizes,
    from what a pass over its rows found: (scores outside [0, 1], the first such row) and
    (detections repeating an earlier one exactly, the first of them); counts of 0 warn of
    nothing. The same warnings, worded and ordered the same."""
    cols = batch.columns

    def where(i: int) -> str:  # made when a warning names a row
        return row_names("preds", cols.n_dt, batch.images_per_batch, labels)(i)

    warn_odd_scores("preds", where, cols.score, *odd_scores)
    warn_repeats("preds", where, *repeats)


def join_arrays(batches: Sequence[ArrayBatch]) -> ArrayBatch:
    """Checked batches of other images each (same categories) as one, which `build_arrays`
    and `warn_arrays` take as they take the batches (rows named by their own batch)."""
    if len(batches) == 1:
        return batches[0]
    per_batch = tuple(n for b in batches for n in b.images_per_batch)
    return ArrayBatch(_join([b.columns for b in batches]), batches[0].categories, per_batch)


def _join(parts: Sequence[_Columns]) -> _Columns:
    """The columns of batches one after the other."""
    if len(parts) == 1:
        return parts[0]
    joined: dict[str, Any] = {}
    for f in fields(_Columns):
        values = [getattr(c, f.name) for c in parts]
        if values[0] is None:
            joined[f.name] = None
        elif isinstance(values[0], list):
            joined[f.name] = [m for v in values for m in v]
        else:
            joined[f.name] = np.concatenate(values)
    return _Columns(**joined)


def row_names(
    kind: str, counts: np.ndarray, per_batch: Sequence[int], labels: Sequence[str]
) -> Callable[[int], str]:
    """Names row i of the rows of images with `counts` rows each, in batches of `per_batch`
    images: `{labels[k]}{kind}[image in its batch] row {row in its image}`."""
    starts = np.cumsum(counts) - counts
    image = np.repeat(np.arange(len(counts)), counts)
    batch = np.repeat(np.arange(len(per_batch)), per_batch)
    first = np.cumsum(per_batch) - np.asarray(per_batch, np.int64)

    def where(i: int) -> str:
        k = int(image[i])
        b = int(batch[k])
        return f"{labels[b]}{kind}[{k - int(first[b])}] row {i - int(starts[k])}"

    return where


_TARGET_KEYS = frozenset(TARGET_KEYS)
_PRED_KEYS = frozenset(PRED_KEYS)
_TARGET_FIELDS = ("boxes", "iscrowd", "ignore", "area")
_PRED_FIELDS = ("boxes", "scores")
_REQUIRED = frozenset(("boxes", "scores"))  # without masks, given for every non-empty image
_KINDS = {
    "labels": "iuf",
    "boxes": "iuf",
    "scores": "iuf",
    "iscrowd": "iufb",
    "ignore": "iufb",
    "area": "iuf",
}
_LABELS, _NDIM, _DTYPE = itemgetter("labels"), attrgetter("ndim"), attrgetter("dtype")
_LOWEST = np.minimum.reduce
_HIGHEST = np.maximum.reduce


def _finite(a: np.ndarray) -> bool:
    """Every value finite: a NaN or an infinity makes the smallest or the largest one not
    finite (two reductions, no temporary array)."""
    return not a.size or (math.isfinite(_LOWEST(a, axis=None)) and math.isfinite(_HIGHEST(a, axis=None)))


@dataclass(frozen=True)
class _Side:
    """One side's arrays, each field of the images that give it concatenated; each method
    checks a field in one go, None when a check fails."""

    n: np.ndarray  # (I,) rows per image
    columns: dict[str, np.ndarray]  # per field: the rows of the images that give it
    missing: dict[str, list[int]]  # per optional field, the non-empty images without it
    # per field with rows, the smallest and largest value of each column, and of the field
    # (_kernels.gather_batch's, NaN where a column holds one): the checks' reductions, made
    # while gathering; empty where not known (the numpy path's)
    bounds: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=dict)
    spans: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def span(self, name: str) -> tuple[Any, Any] | None:
        """The field's smallest and largest value (NaN for both if one is NaN), when known."""
        return self.spans.get(name)

    def floats(self, field: str, finite: bool = True) -> np.ndarray | None:
        """The field (float64), or None if not `finite`."""
        a = self.columns[field]
        if not finite:
            return a
        span = self.span(field)
        ok = _finite(a) if span is None else math.isfinite(span[0]) and math.isfinite(span[1])
        return a if ok else None

    def labels(self) -> np.ndarray | None:
        """Every label as int64, or None if one is not an integer (the images' labels share one
        dtype: `_side` checked it, so their concatenation is exact)."""
        a = self.columns["labels"]
        if a.dtype.kind == "u" and len(a) and _HIGHEST(a) > INT64_MAX:
            return None
        if a.dtype.kind == "f" and not (_finite(a) and (a == np.round(a)).all()):
            return None
        return a.astype(np.int64, copy=False)

    def flags(self, field: str) -> np.ndarray | None:
        """A 0/1 field as bool (False where an image leaves it out), or None if not 0/1."""
        a = self.columns[field]
        if not len(a) and self.missing[field]:  # no image gives it
            return np.zeros(int(self.n.sum()), bool)
        if a.dtype != np.bool_:
            flags = a.astype(bool)
            span = self.span(field) if a.dtype.kind in "iu" else None  # integers: 0/1 is 0 <= a <= 1
            if not ((a == flags).all() if span is None else 0 <= span[0] and span[1] <= 1):
                return None
            a = flags
        if not self.missing[field]:
            return a
        out = np.zeros(int(self.n.sum()), bool)
        if len(a):
            out[self.rows_with(field)] = a
        return out

    def rows_with(self, field: str) -> np.ndarray:
        """(N,) bool: the rows of the images that give `field`."""
        return np.repeat(~np.isin(np.arange(len(self.n)), self.missing[field]), self.n)


_FLOATS = frozenset(("boxes", "scores", "area"))


# the buffer formats _gathered_side takes (numpy's of these dtypes on this machine), as dtypes
_FORMATS = {np.dtype(t).char: np.dtype(t) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)}
_FORMATS.update({"l": np.dtype(np.int64), "q": np.dtype(np.int64)} if np.dtype("l").itemsize == 8 else {})
_FLOAT64 = np.dtype(np.float64)


# what gather_batch reads of a side: the keys a dict may hold, the fields gathered first
_TARGET_SPEC = (("labels", *_TARGET_FIELDS, "masks", "image_id"), (0, 4, 0, 0, 0))
_PRED_SPEC = (("labels", *_PRED_FIELDS, "masks", "image_id"), (0, 4, 0))
assert set(_TARGET_SPEC[0]) == _TARGET_KEYS and set(_PRED_SPEC[0]) == _PRED_KEYS


def _gathered_sides(
    targets: Sequence[Any], preds: Sequence[Any], first_image_id: int
) -> tuple[_Side | None, _Side | None, np.ndarray | None]:
    """Both sides' arrays and the images' ids through one _kernels.gather_batch call, each
    where the batch is plain (every dict gives every present field as a C-contiguous numpy
    array of one dtype, ids as ints: the usual training loop's batch), else None: `_side` and
    `_batch_ids` then read that part (the same result: tests/io/test_arrays_gather.py holds
    them equal)."""
    if kernels is None or type(targets) is not list or type(preds) is not list:
        return None, None, None
    gt, dt, ids = kernels.gather_batch(
        targets, preds, _TARGET_SPEC, _PRED_SPEC, "image_id", first_image_id, np.ndarray
    )
    return (
        None if gt is None else _gathered_side(gt[0], gt[1], _TARGET_FIELDS),
        None if dt is None else _gathered_side(dt[0], dt[1], _PRED_FIELDS),
        None if ids is None else np.frombuffer(ids, np.int64),
    )


def _gathered_side(counts: bytearray, gathered: tuple[Any, ...], fields: tuple[str, ...]) -> _Side | None:
    """A side from gather_batch's (counts, fields), or None if a required field is left out
    or one has a dtype `_side` would not take."""
    n = np.frombuffer(counts, np.int64)
    columns: dict[str, np.ndarray] = {}
    missing: dict[str, list[int]] = {}
    bounds: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
    spans: dict[str, tuple[Any, Any]] = {}
    for f, got in zip(("labels", *fields), gathered):
        if got is None:  # no image gives it (labels are always given)
            if f in _REQUIRED:
                return None
            missing[f] = np.flatnonzero(n).tolist()
            columns[f] = np.zeros((0, 4) if f == "boxes" else 0)
            continue
        fmt, data, lows, highs, low, high = got
        dtype = _FORMATS.get(fmt)
        if dtype is None or dtype.kind not in _KINDS[f]:
            return None
        a = np.frombuffer(data, dtype)
        if f == "boxes":
            a = a.reshape(-1, 4)
        columns[f] = a.astype(np.float64) if f in _FLOATS and dtype != _FLOAT64 else a
        missing[f] = []
        if lows is not None:
            bounds[f], spans[f] = (lows, highs), (low, high)
    return _Side(n, columns, missing, bounds, spans)


def _side(dicts: Sequence[Any], keys: frozenset[str], fields: tuple[str, ...]) -> _Side | None:
    """One side's (targets' or preds') arrays, each field concatenated over the images, with no
    check beyond their form (a dict, known keys, shape, dtype kind, rows as labels, one labels
    dtype), or None if anything is off (the image-by-image reader then names it). Empty
    images' arrays are left out. (Each pass over the images is a `map` where it can be, and
    the shapes are checked on the concatenation: this runs per batch.)"""
    if not set(map(type, dicts)) <= {dict}:
        return None
    present = set().union(*dicts)
    if not present <= keys:
        return None
    try:
        labels = list(map(np.asarray, map(_LABELS, dicts)))
    except (KeyError, TypeError, ValueError):  # None itself has no labels: named image by image
        return None
    if not set(map(_NDIM, labels)) <= {1}:
        if not all(a.ndim == 1 or not a.size for a in labels):  # empty labels of another shape
            return None
        labels = [a if a.ndim == 1 else a.reshape(0) for a in labels]
    counts = list(map(len, labels))
    full: Sequence[int] = range(len(dicts))  # the non-empty images
    if 0 in counts:
        full = [i for i, k in enumerate(counts) if k]
        for d, k in zip(dicts, counts):  # an empty image: any other field given is empty too
            if not k and any(np.asarray(v).size for v in map(d.get, fields) if v is not None):
                return None
        dicts, labels = [dicts[i] for i in full], [labels[i] for i in full]
    rows = [counts[i] for i in full]
    columns: dict[str, np.ndarray] = {}
    missing: dict[str, list[int]] = {}  # images without an optional field
    for f in ("labels", *fields):
        missing[f], n = [], rows
        if f == "labels":
            arrays = labels
        else:
            if f not in present:
                values: list[Any] = []
                missing[f], n = list(full), []
            else:
                try:
                    values = [d[f] for d in dicts]
                except KeyError:
                    has = [f in d for d in dicts]
                    values = [d[f] for d in dicts if f in d]
                    missing[f], n = (
                        [i for i, h in zip(full, has) if not h],
                        [k for k, h in zip(rows, has) if h],
                    )
            if missing[f] and f in _REQUIRED:
                return None
            try:
                arrays = list(map(np.asarray, values))
            except (TypeError, ValueError):
                return None
        dtypes = set(map(_DTYPE, arrays))
        if not all(t.kind in _KINDS[f] for t in dtypes) or (f == "labels" and len(dtypes) > 1):
            return None
        try:  # rows as labels has (None itself, 0-d, has no len); the rest of the shape below
            if list(map(len, arrays)) != n:
                return None
            dtype = np.float64 if f in _FLOATS else None
            a = np.concatenate(arrays, dtype=dtype) if arrays else np.zeros((0, 4) if f == "boxes" else 0)
        except (TypeError, ValueError):  # arrays of different numbers of dimensions
            return None
        if a.shape[1:] != ((4,) if f == "boxes" else ()):
            return None
        columns[f] = a
    return _Side(np.array(counts, np.int64), columns, missing)


def _plain_id(value: Any) -> int | None:
    """An image id given as one integer (an int, a numpy or 0-d/1-element array), else None."""
    if type(value) is int:
        return value if INT64_MIN <= value <= INT64_MAX else None
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if a.size != 1 or a.dtype.kind not in "iu":
        return None
    out = int(a.reshape(-1)[0])
    return out if INT64_MIN <= out <= INT64_MAX else None


def _batch_ids(targets: Sequence[Any], preds: Sequence[Any], first_image_id: int) -> np.ndarray | None:
    """The images' ids (a target's "image_id", else its position after `first_image_id`), or
    None if one is not an integer, a pred's disagrees or two are the same."""
    given = [t.get("image_id") for t in targets]
    ids: list[int | None] = given
    if not all(type(v) is int and INT64_MIN <= v <= INT64_MAX for v in given):
        ids = [first_image_id + i if v is None else _plain_id(v) for i, v in enumerate(given)]
    for own, theirs in zip(ids, (p.get("image_id") for p in preds)):
        if theirs is not None and not (type(theirs) is int and theirs == own) and _plain_id(theirs) != own:
            return None
    if None in ids or len(set(ids)) < len(ids):
        return None
    return np.array(ids, np.int64) if ids else np.zeros(0, np.int64)


def _batch_columns(
    targets: Sequence[Any],
    preds: Sequence[Any],
    box_format: str,
    categories: Sequence[str] | Mapping[int, str] | Categories | None,
    first_image_id: int,
) -> tuple[_Columns, Categories] | None:
    """The columns of a batch without masks, each check made once on the whole batch's
    concatenated arrays; None when any fails (or the input is unusual: then the image-by-image
    reader gives the result, or the error naming image and field)."""
    gt, dt, image_ids = _gathered_sides(targets, preds, first_image_id)
    if gt is None:
        gt = _side(targets, _TARGET_KEYS, _TARGET_FIELDS)
    if gt is not None and dt is None:
        dt = _side(preds, _PRED_KEYS, _PRED_FIELDS)
    if gt is not None and dt is not None and image_ids is None:
        image_ids = _batch_ids(targets, preds, first_image_id)
    if gt is None or dt is None or image_ids is None:
        return None
    gt_cat, dt_cat = gt.labels(), dt.labels()
    score = dt.floats("scores")
    iscrowd, ignore = gt.flags("iscrowd"), gt.flags("ignore")
    if gt_cat is None or dt_cat is None or score is None or iscrowd is None or ignore is None:
        return None
    gt_box = to_xywh(gt.columns["boxes"], box_format)
    dt_box = to_xywh(dt.columns["boxes"], box_format)
    as_given = box_format == "xywh"  # the gathered bounds are the boxes' own
    if not (_usable(gt_box, _box_bounds(gt) if as_given else None)):
        return None
    if not (_usable(dt_box, _box_bounds(dt) if as_given else None)):
        return None
    area = _put(gt, "area", gt_box)
    if area is None:
        return None
    if isinstance(categories, Categories):  # a streaming batch's: no labels to read them from
        cats = categories
    else:
        cats = _categories(categories, np.concatenate([gt_cat, dt_cat]))
    # the labels' span when every side with labels knows its own (else numpy reduces them)
    given = [side.span("labels") for side, a in ((gt, gt_cat), (dt, dt_cat)) if len(a)]
    spans = [s for s in given if s is not None]
    whole = spans and len(spans) == len(given)
    span = (min(s[0] for s in spans), max(s[1] for s in spans)) if whole else None
    if (len(gt_cat) or len(dt_cat)) and not _known((gt_cat, dt_cat), cats.ids, span):
        return None
    columns = _Columns(
        image_ids=image_ids,
        sizes=np.zeros((len(image_ids), 2), np.int64),
        n_gt=gt.n,
        n_dt=dt.n,
        gt_cat=gt_cat,
        gt_box=gt_box,
        area=area,
        iscrowd=iscrowd,
        ignore=ignore,
        dt_cat=dt_cat,
        dt_box=dt_box,
        dt_area=dt_box[:, 2] * dt_box[:, 3],
        score=score,
    )
    return columns, cats


_SAFE = 1e150  # coordinates below it in magnitude: x + w, y + h and w * h cannot overflow


def _box_bounds(side: _Side) -> tuple[Any, Any, Any, Any] | None:
    """The boxes' smallest and largest coordinate (NaN for both if one is NaN) and their
    smallest width and height, when known (gathered)."""
    span, bounds = side.span("boxes"), side.bounds.get("boxes")
    if span is None or bounds is None:
        return None
    return span[0], span[1], bounds[0][2], bounds[0][3]


def _usable(box: np.ndarray, bounds: tuple[Any, Any, Any, Any] | None = None) -> bool:
    """xywh boxes with w, h >= 0 whose coordinates, corners and area are all finite
    (`bounds`: `_box_bounds`', known already)."""
    if not len(box):
        return True
    if bounds is not None:
        lo, hi, width, height = bounds
        if lo != lo:  # a NaN: not finite
            return False
    else:
        lo, hi, width, height = _LOWEST(box, axis=None), _HIGHEST(box, axis=None), None, None
    if not (-_SAFE < lo and hi < _SAFE):  # NaN fails too
        with np.errstate(over="ignore", invalid="ignore"):  # one sum holds them all
            x, y, w, h = box.T
            if not np.isfinite((x + w) + (y + h) + w * h).all():
                return False
    if width is None:
        width, height = _LOWEST(box[:, 2]), _LOWEST(box[:, 3])
    return bool(width >= 0 and height >= 0)


def _known(labels: Sequence[np.ndarray], ids: np.ndarray, span: tuple[Any, Any] | None = None) -> bool:
    """Every label of the arrays is among the (sorted) ids (`span`: the labels' smallest and
    largest, known)."""
    if not len(ids):
        return False
    labels = [a for a in labels if len(a)]
    lo, hi = int(ids[0]), int(ids[-1])
    if span is None:
        span = min(_LOWEST(a) for a in labels), max(_HIGHEST(a) for a in labels)
    least, most = span
    if not (lo <= least and most <= hi):
        return False
    if hi - lo + 1 == len(ids):  # every label from lo to hi
        return True
    if 0 <= lo and hi < 2**16:  # a table of the labels up to the largest (no shift to subtract)
        listed = np.zeros(hi + 1, bool)
        listed[ids] = True
        return all(listed[a].all() for a in labels)
    if hi - lo < 2**16:  # a table of the labels in between
        listed = np.zeros(hi - lo + 1, bool)
        listed[ids - lo] = True
        return all(listed[a - lo].all() for a in labels)
    for a in labels:
        pos = np.minimum(np.searchsorted(ids, a), len(ids) - 1)
        if not np.array_equal(ids[pos], a):
            return False
    return True


def _put(side: _Side, field: str, box: np.ndarray) -> np.ndarray | None:
    """The field where the images give it (finite, >= 0), else the boxes' w*h."""
    values = side.floats(field)
    span = side.span(field)
    if values is None or (len(values) and (_LOWEST(values) if span is None else span[0]) < 0):
        return None
    if not side.missing[field]:
        return values
    out = box[:, 2] * box[:, 3]
    if len(values):
        out[side.rows_with(field)] = values
    return out


def _image_columns(
    targets: Sequence[Any],
    preds: Sequence[Any],
    box_format: str,
    categories: Sequence[str] | Mapping[int, str] | Categories | None,
    first_image_id: int,
    masks: bool,
) -> tuple[_Columns, Categories]:
    """The columns read image by image: every problem named by image and field (up to 20)."""
    problems = Problems("")
    gts = [
        _Image(d, "targets", i, problems, box_format=box_format, masks=masks, keys=TARGET_KEYS)
        for i, d in enumerate(targets)
    ]
    dts = [
        _Image(d, "preds", i, problems, box_format=box_format, masks=masks, keys=PRED_KEYS)
        for i, d in enumerate(preds)
    ]
    image_ids = np.array(
        [_image_id(d, first_image_id + i, g) for i, (d, g) in enumerate(zip(targets, gts))], np.int64
    )
    for i, (d, p) in enumerate(zip(preds, dts)):
        own = _image_id(d, int(image_ids[i]), p)
        if own != image_ids[i]:
            p.add("image_id", f"is {own} but targets[{i}] has image_id {int(image_ids[i])}")
    _, first, counts = np.unique(image_ids, return_index=True, return_counts=True)
    for k in np.flatnonzero(counts > 1)[:1].tolist():
        i = int(np.flatnonzero(image_ids == image_ids[first[k]])[1])
        gts[i].add("image_id", f"{int(image_ids[i])} is also the id of targets[{int(first[k])}]")
    scores = [p.array("scores", 1) if isinstance(p.d, Mapping) and p.n else np.zeros(0) for p in dts]
    for p in dts:
        if not p.n and p.d.get("scores") is not None:
            p.array("scores", 1)  # still check its shape against 0 labels
    iscrowd = [g.flags("iscrowd") for g in gts]
    ignore = [g.flags("ignore") for g in gts]
    areas = [g.array("area", 1, required=False) for g in gts]
    for g, a in zip(gts, areas):
        if a is not None and (a < 0).any():
            g.add("area", "has negative values (expected areas >= 0)")
    with_boxes = {p.has_boxes for p in dts if p.n}
    if len(with_boxes) > 1:
        i = next(k for k, p in enumerate(dts) if p.n and not p.has_boxes)
        dts[i].add(
            "boxes", "missing here but given for other images (give boxes for all predictions or for none)"
        )
    sizes: list[tuple[int, int]] = []
    for i, (g, p) in enumerate(zip(gts, dts)):
        if g.size is not None and p.size is not None and g.size != p.size:
            p.add("masks", f"are {p.size[0]}x{p.size[1]} but targets[{i}]'s are {g.size[0]}x{g.size[1]}")
        sizes.append(g.size or p.size or (0, 0))
    problems.check()

    labels = [np.zeros(0, np.int64) if g.labels is None else g.labels for g in gts]
    dt_labels = [np.zeros(0, np.int64) if p.labels is None else p.labels for p in dts]
    cats = _categories(categories, np.concatenate(labels + dt_labels))
    listed = ", ".join(map(str, cats.ids[:10].tolist())) + (", ..." if len(cats.ids) > 10 else "")
    for imgs, labs in ((gts, labels), (dts, dt_labels)):
        for i, lab in enumerate(labs):
            unknown = lab[~np.isin(lab, cats.ids)]
            if len(unknown):
                imgs[i].add("labels", f"has label {int(unknown[0])}, not in categories ({listed})")
    problems.check()

    n_gt = np.array([g.n for g in gts], np.int64)
    n_dt = np.array([p.n for p in dts], np.int64)
    gt_cat = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    dt_cat = np.concatenate(dt_labels) if dt_labels else np.zeros(0, np.int64)
    gt_box = np.concatenate([g.box for g in gts]) if gts else np.zeros((0, 4))
    gt_masks = [m for g in gts for m in (g.masks or [])] if masks else None
    area = np.concatenate(
        [np.zeros(0)] + [g.box[:, 2] * g.box[:, 3] if a is None else a for g, a in zip(gts, areas)]
    )
    given = np.concatenate([np.zeros(0, bool)] + [np.full(g.n, a is not None) for g, a in zip(gts, areas)])
    if masks and gt_masks is not None and (~given).any():
        missing = np.flatnonzero(~given)
        area[missing] = M.rle_area([gt_masks[i] for i in missing.tolist()])
    dt_masks = [m for p in dts for m in (p.masks or [])] if masks else None
    if with_boxes == {False}:
        assert dt_masks is not None
        dt_box, dt_area = M.rle_box(dt_masks), M.rle_area(dt_masks)
    else:
        dt_box = np.concatenate([p.box for p in dts]) if dts else np.zeros((0, 4))
        dt_area = dt_box[:, 2] * dt_box[:, 3]
    # a None score array was a problem, raised above
    score = np.concatenate([s for s in scores if s is not None]) if scores else np.zeros(0)
    return (
        _Columns(
            image_ids=image_ids,
            sizes=np.array(sizes, np.int64).reshape(-1, 2),
            n_gt=n_gt,
            n_dt=n_dt,
            gt_cat=gt_cat,
            gt_box=gt_box,
            area=area,
            iscrowd=np.concatenate([np.zeros(0, bool), *iscrowd]),
            ignore=np.concatenate([np.zeros(0, bool), *ignore]),
            dt_cat=dt_cat,
            dt_box=dt_box,
            dt_area=dt_area,
            score=score,
            gt_masks=gt_masks,
            dt_masks=dt_masks,
        ),
        cats,
    )
