"""`Evaluator`: evaluation batch by batch, merged across processes, equal to one `evaluate`.

Matching is per image, so the state is the matcher's output for the images seen so far
(one row per kept detection and per match, one per ground truth), never the inputs. Images must
arrive whole (all of an image's ground truth and detections in one `update`), each once; the
summary orders them by image id, as one pass would.

An update reads and checks its batch at once (a bad batch is refused by the update that brings
it) and keeps the checked rows pending; once the pending batches hold `MERGE_ROWS` rows
(detections and ground truths), they are matched in one pass and the matches packed into one
part (`_pack`, given back exactly by `_unpack`): integers in the narrowest type that holds them,
sorted columns as runs, flags as bits, scores as float32 where that is exact, and the operating
point's per-detection columns shared with the COCO ones when they are the same. So an update
costs its batch's reading, the matcher's per-call work is paid once per some thousands of rows,
and a detection is matched and packed once; `compute`, `state_dict` and `merge` see the pending
rows too (compute matches them first).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ._flush import flush_boxes
from .errors import DetrecallError
from .evaluate import Config, check_image_ids, class_names, finish, make_config, match_batch, read_inputs
from .io._common import sort_rows
from .io._problems import warn_data
from .io.arrays import (
    ArrayBatch,
    build_arrays,
    check_arrays,
    is_arrays,
    join_arrays,
    row_names,
    warn_arrays,
    warn_found,
)
from .matching import concat_matches
from .options import CocoParams, InputOptions, IouType, Keywords, PointOptions
from .protocols import BatchMatches, Protocol
from .result import EvaluationResult
from .types import Categories, Dataset, Detections, Images, Matches, RleMasks, take

if TYPE_CHECKING:
    from typing_extensions import Unpack

STATE_FORMAT = "detrecall.Evaluator/1"
MERGE_ROWS = 2**14  # rows (detections and ground truths) read before they are matched and packed

_INTS = [
    (np.dtype(t), int(np.iinfo(t).min), int(np.iinfo(t).max))
    for t in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32)
]
Packed = tuple[Any, ...]


def _narrow(a: np.ndarray) -> np.ndarray:
    """An integer array in the narrowest type that holds its values (same values)."""
    if a.size == 0 or a.dtype.itemsize == 1:
        return a
    lo, hi = int(a.min()), int(a.max())
    for t, low, high in _INTS:
        if low <= lo and hi <= high:
            return a.astype(t) if t.itemsize < a.dtype.itemsize else a
    return a


def _pack(a: np.ndarray) -> Packed:
    """`a` stored compactly; `_unpack` gives back an equal array of the same dtype and shape."""
    if a.dtype == np.bool_:
        return ("bits", a.shape, np.packbits(a.reshape(-1)))
    if a.dtype.kind in "iu":
        # runs: sorted columns (image ids, area, threshold); a head that changes often has none
        if a.ndim == 1 and len(a) > 32 and np.count_nonzero(a[1:33] != a[:32]) < 16:
            change = a[1:] != a[:-1]
            if np.count_nonzero(change) * 4 < len(a):
                starts = np.concatenate(([0], np.flatnonzero(change) + 1))
                lengths = np.diff(np.append(starts, len(a)))
                return ("runs", a.dtype, _narrow(a[starts]), _narrow(lengths))
        return ("int", a.dtype, a.shape, _narrow(a))
    if a.dtype == np.float64 and a.size:
        head = a.reshape(-1)[:64]  # most float64 scores are not float32 values: seen at once
        if np.array_equal(head.astype(np.float32).astype(np.float64), head):
            single = a.astype(np.float32)
            if np.array_equal(single.astype(np.float64), a):  # NaN never is: kept as it was
                return ("float32", single)
    return ("raw", a)


def _unpack(p: Packed) -> np.ndarray:
    kind = p[0]
    if kind == "bits":
        n = int(np.prod(p[1]))
        return np.unpackbits(p[2], count=n).astype(bool).reshape(p[1])
    if kind == "runs":
        return np.repeat(p[2].astype(p[1]), p[3])
    if kind == "int":
        return p[3].astype(p[1], copy=False).reshape(p[2])
    if kind == "float32":
        return p[1].astype(np.float64)
    return np.asarray(p[1])


def _packed_nbytes(p: Packed) -> int:
    return sum(x.nbytes for x in p[1:] if isinstance(x, np.ndarray))


_FIELDS = tuple(f.name for f in dataclasses.fields(Matches))


def _same(a: Any, b: Any) -> bool:
    """The same array: `b` is `a`, or equal to it in dtype, shape and every value."""
    a, b = np.asarray(a), np.asarray(b)
    return a is b or (a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b)))


class _Part:
    """A BatchMatches, packed: its coco and point matches, each of the point's columns shared
    with coco's when equal (the default operating point keeps the same detections; with one
    IoU threshold, one area range and max_dets the same, it is the same matches)."""

    def __init__(self, batch: BatchMatches) -> None:
        coco, point = batch.coco, batch.point
        self.confusion = batch.confusion
        self.coco: dict[str, Packed] = {n: _pack(np.asarray(getattr(coco, n))) for n in _FIELDS}
        self.point = {
            n: ("coco",)
            if _same(getattr(coco, n), getattr(point, n))
            else _pack(np.asarray(getattr(point, n)))
            for n in _FIELDS
        }

    def unpacked(self) -> BatchMatches:
        coco = {n: _unpack(p) for n, p in self.coco.items()}
        point = {n: coco[n] if p == ("coco",) else _unpack(p) for n, p in self.point.items()}
        return BatchMatches(coco=Matches(**coco), point=Matches(**point), confusion=self.confusion)

    @property
    def nbytes(self) -> int:
        extra = 0 if self.confusion is None else self.confusion.nbytes
        return sum(_packed_nbytes(p) for p in [*self.coco.values(), *self.point.values()]) + extra


def _merged(parts: list[_Part]) -> BatchMatches:
    """The matches of `parts` (disjoint sets of images) in one, as one pass would order them."""
    if len(parts) == 1:
        return parts[0].unpacked()
    batches = [p.unpacked() for p in parts]
    confusions = [b.confusion for b in batches if b.confusion is not None]
    return BatchMatches(
        coco=concat_matches([b.coco for b in batches]),
        point=concat_matches([b.point for b in batches]),
        confusion=np.sum(confusions, axis=0) if confusions else None,
    )


def _class_index(ids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The index in `ids` (sorted) of each label (every one among them): a table lookup when
    the ids span a short range, else a binary search."""
    if not len(labels) or int(ids[-1]) - int(ids[0]) >= 2**16:
        return np.searchsorted(ids, labels)
    table = np.zeros(int(ids[-1]) - int(ids[0]) + 1, np.intp)
    table[ids - ids[0]] = np.arange(len(ids))
    return table[labels - ids[0]]


def _class_rows(batch: ArrayBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ground truths, detections, first detection's row or -1) of each class of a batch (its
    labels are among its categories: checked), by index among the categories."""
    cols, ids = batch.columns, batch.categories.ids
    gt_count = np.bincount(_class_index(ids, cols.gt_cat), minlength=len(ids))
    index = _class_index(ids, cols.dt_cat)
    first = np.full(len(ids), -1, np.int64)
    first[index[::-1]] = np.arange(len(index) - 1, -1, -1)  # the last write of a class: its first row
    return gt_count, np.bincount(index, minlength=len(ids)), first


_Table = TypeVar("_Table", Dataset, Detections)
_Pending = tuple[int, "ArrayBatch | tuple[Dataset, Detections]"]  # (update number, batch)


def _concat_images(images: Sequence[Images]) -> Images:
    """The images of disjoint batches in one, by id (as a reader orders them)."""
    ids = np.concatenate([i.ids for i in images])
    order = np.argsort(ids, kind="stable")
    names = None
    if any(i.file_names is not None for i in images):
        names = tuple(n for i in images for n in (i.file_names or ("",) * len(i.ids)))
        names = tuple(names[k] for k in order.tolist())
    return Images(
        ids=ids[order],
        width=np.concatenate([i.width for i in images])[order],
        height=np.concatenate([i.height for i in images])[order],
        file_names=names,
    )


def _concat_tables(tables: Sequence[_Table]) -> _Table:
    """Tables (Dataset or Detections) of disjoint sets of whole images as one, rows again by
    (image, category, order in their batch): what one read of all their batches gives up to row
    numbering (file positions are offset batch by batch, so they stay distinct)."""
    first = tables[0]
    if len(tables) == 1:
        return first
    cut: dict[str, Any] = {}
    offsets = np.cumsum([0] + [len(t) for t in tables[:-1]])
    for f in dataclasses.fields(first):
        values = [getattr(t, f.name) for t in tables]
        if f.name == "file_index" and values[0] is not None:
            cut[f.name] = np.concatenate([v + o for v, o in zip(values, offsets)])
        elif isinstance(values[0], np.ndarray):
            cut[f.name] = np.concatenate(values)
        elif isinstance(values[0], tuple):
            cut[f.name] = tuple(x for v in values for x in v)
        elif isinstance(values[0], RleMasks):
            cut[f.name] = RleMasks.concatenate(values)
        elif isinstance(values[0], Images):
            cut[f.name] = _concat_images(values)
    joined = dataclasses.replace(first, **cut)
    return take(joined, sort_rows(joined.image_id, joined.category_id))


def _table_nbytes(table: Dataset | Detections) -> int:
    """Bytes of a table's arrays (its per-row ones and its images')."""
    arrays = [getattr(table, f.name) for f in dataclasses.fields(table)]
    if isinstance(table, Dataset):
        arrays += [table.images.ids, table.images.width, table.images.height]
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))


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
        self._parts: list[_Part] = []
        self._pending: list[_Pending] = []  # read and checked, not matched yet
        self._pending_rows = 0
        self._updates = 0
        # per-image arrays' classes, for the one warning of classes predicted without ground truth
        self._gt_classes: set[int] = set()
        self._dt_count: np.ndarray | None = None  # detections per class (by index among the categories)
        self._dt_first: dict[int, tuple[int, str]] = {}  # class: (its first detection's update, name)
        self._images: list[np.ndarray] = []  # of the parts and the pending batches
        self._seen: set[int] = set()  # the image ids of _images
        self._top: int | None = None  # the largest of them
        self._array_categories: Categories | None = None  # inputs.categories, read by the first batch

    def _check_categories(self, categories: Categories) -> None:
        if self._categories is None:
            self._categories = categories
        elif categories is not self._categories and not (
            np.array_equal(self._categories.ids, categories.ids)
            and self._categories.names == categories.names
        ):
            raise DetrecallError(
                "every batch must list the same categories (ids and names) "
                f"as the first: {self._categories.ids.tolist()}"
            )

    def _see(self, images: np.ndarray | list[int]) -> None:
        ids = images.tolist() if isinstance(images, np.ndarray) else images
        self._seen.update(ids)
        if ids:
            top = max(ids)
            self._top = top if self._top is None else max(self._top, top)

    def _check_new(self, images: np.ndarray) -> list[int]:
        """Refuse images seen before (work in the batch's size, not the state's); their ids."""
        ids = images.tolist()
        if not self._seen.isdisjoint(ids):
            again = sorted(set(ids) & self._seen)
            raise DetrecallError(
                f"image {again[0]} was already evaluated: each image must come whole, once "
                f"({len(again)} image(s) repeated)"
            )
        return ids

    def _flush(self) -> None:
        """Match the pending batches in one pass and keep their matches as one packed part."""
        if not self._pending:
            return
        batches = [b for _, b in self._pending if isinstance(b, ArrayBatch)]
        tables = [b for _, b in self._pending if not isinstance(b, ArrayBatch)]
        updates = [k for k, b in self._pending if isinstance(b, ArrayBatch)]
        labels = [f"update {k}: " for k in updates]
        joined = join_arrays(batches) if batches else None  # one concatenation of their columns
        flushed = flush_boxes(joined, self._config) if joined is not None and not tables else None
        if flushed is not None:  # the one compiled pass
            self._parts.append(_Part(flushed.matches))
        else:
            if joined is not None:
                tables.append(build_arrays([joined], warn=False))
            gt = _concat_tables([g for g, _ in tables])
            dt = _concat_tables([d for _, d in tables])
            self._parts.append(_Part(match_batch(gt, dt, self._config, with_score_order=False)))
        self._pending, self._pending_rows = [], 0
        if joined is None:
            return
        # once the state holds them (a warning may be an error); classes apart
        if flushed is not None:
            found = (flushed.gt_count, flushed.dt_count, flushed.dt_first)
            self._note_classes(joined, *found, updates, labels)
            warn_found(joined, labels, flushed.odd_scores, flushed.repeats)
        else:
            self._note_classes(joined, *_class_rows(joined), updates, labels)
            warn_arrays([joined], labels=labels, absent_classes=False)

    def _note_classes(
        self,
        batch: ArrayBatch,
        gt_count: np.ndarray,
        dt_count: np.ndarray,
        dt_first: np.ndarray,
        updates: list[int],
        labels: list[str],
    ) -> None:
        """Note the classes of the (joined) batches' ground truth and detections (rows of each
        class, by index among the categories, and each class's first detection) and which update
        brought each class's first detection."""
        cols, ids = batch.columns, batch.categories.ids
        self._gt_classes.update(ids[gt_count > 0].tolist())
        if self._dt_count is None:
            self._dt_count = np.zeros(len(ids), np.int64)
        self._dt_count += dt_count
        new = np.flatnonzero((dt_count > 0) & (self._dt_count == dt_count))  # none before this batch
        if not len(new):
            return
        per_batch = batch.images_per_batch
        where = row_names("preds", cols.n_dt, per_batch, labels)
        rows = np.concatenate(([0], np.cumsum(cols.n_dt)))[np.cumsum(per_batch)]
        for k in new.tolist():
            i = int(dt_first[k])
            self._dt_first[int(ids[k])] = (updates[int(np.searchsorted(rows, i, side="right"))], where(i))

    def _warn_absent_classes(self, merged: BatchMatches) -> None:
        """One warning for detections (of the per-image arrays read) of classes that no batch
        gave ground truth for, as `evaluate` warns of them in one read."""
        if self._config.params.class_agnostic or self._dt_count is None or self._categories is None:
            return
        gt = self._gt_classes | set(merged.coco.class_ids[np.unique(merged.coco.gt_class)].tolist())
        ids = self._categories.ids
        predicted = np.flatnonzero(self._dt_count)
        at = [k for k in predicted.tolist() if int(ids[k]) not in gt]  # by index, so by class id
        if at:
            absent = [int(ids[k]) for k in at]
            count = int(self._dt_count[at].sum())
            first = min(self._dt_first[c] for c in absent)[1]
            listed = ", ".join(map(str, absent[:5])) + (", ..." if len(absent) > 5 else "")
            warn_data(
                "preds",
                count,
                f"detection(s) of {len(absent)} class(es) without any ground truth ({listed}): AP "
                "leaves such classes out; at the operating point they are false positives",
                first,
            )

    def _take(
        self,
        batch: ArrayBatch | tuple[Dataset, Detections],
        categories: Categories,
        images: np.ndarray,
        rows: int,
    ) -> None:
        """Keep a checked batch pending (its images new), matched once enough rows are."""
        self._check_categories(categories)
        if self._config.params.image_ids is not None:
            images = np.intersect1d(images, self._config.params.image_ids)
        ids = self._check_new(images)
        self._updates += 1
        self._pending.append((self._updates, batch))
        self._pending_rows += rows
        self._images.append(images)
        self._see(ids)
        if self._pending_rows >= MERGE_ROWS:
            self._flush()

    def update(self, gt: Any, dt: Any) -> None:
        """Read and check one batch of whole images; its rows are matched with the next ones
        (once `MERGE_ROWS` are pending, or at compute), and only the matches are kept.

        `gt`, `dt` may be per-image arrays (targets, preds) as `evaluate` takes them; images
        without an "image_id" then get ids after the largest seen so far (0, 1, ... at first),
        and the Evaluator needs `categories=` (the class list must be the same in every batch).
        """
        first_id = 0
        if is_arrays(gt):
            inputs = self._config.inputs
            if inputs.categories is None:
                raise DetrecallError(
                    "Evaluator.update with per-image arrays needs Evaluator(..., "
                    "categories=[names by label] or {label: name}): every batch "
                    "must have the same class list"
                )
            first_id = self._top + 1 if self._top is not None else 0
            if self._config.iou_type is IouType.BBOX:  # built and warned of with the next batches
                batch = check_arrays(
                    gt,
                    dt,
                    box_format=inputs.box_format or "xyxy",
                    categories=self._array_categories or inputs.categories,
                    first_image_id=first_id,
                )
                self._array_categories = batch.categories  # read once: the same in every batch
                self._take(batch, batch.categories, np.sort(batch.columns.image_ids), batch.rows)
                return
        gt_set, dt_set = read_inputs(gt, dt, self._config, first_image_id=first_id)
        self._take((gt_set, dt_set), gt_set.categories, gt_set.images.ids, len(gt_set) + len(dt_set))

    def merge(self, other: Evaluator) -> None:
        """Take in another evaluator's images (same options and categories, other images)."""
        if other is self:
            raise DetrecallError("cannot merge an Evaluator into itself")
        if repr(other._options) != repr(self._options):
            raise DetrecallError("cannot merge evaluators made with different options")
        if other._categories is None:
            return
        self._check_categories(other._categories)
        theirs = np.concatenate(other._images) if other._images else np.zeros(0, np.int64)
        self._check_new(theirs)
        self._parts += other._parts  # packed parts are never changed in place: shared safely
        self._pending += other._pending  # nor the batches read (frozen)
        self._pending_rows += other._pending_rows
        self._gt_classes |= other._gt_classes
        if other._dt_count is not None:
            self._dt_count = (
                other._dt_count.copy() if self._dt_count is None else self._dt_count + other._dt_count
            )
        for c, first in other._dt_first.items():
            self._dt_first.setdefault(c, first)
        self._images += other._images
        self._see(theirs)

    def _merged(self) -> tuple[BatchMatches, np.ndarray]:
        self._flush()
        if not self._parts:
            raise DetrecallError("nothing to compute: call update() with at least one batch first")
        images = np.sort(np.concatenate(self._images)) if len(self._images) > 1 else self._images[0]
        return _merged(self._parts), images  # the parts stay as they are

    @property
    def nbytes(self) -> int:
        """Bytes of the state held between batches (its arrays, packed; the pending rows' arrays
        as read), image ids included."""
        pending = sum(
            b.nbytes if isinstance(b, ArrayBatch) else _table_nbytes(b[0]) + _table_nbytes(b[1])
            for _, b in self._pending
        )
        return sum(p.nbytes for p in self._parts) + pending + sum(i.nbytes for i in self._images)

    def compute(self) -> EvaluationResult:
        """The result of every image seen, as `evaluate` would give it."""
        merged, images = self._merged()
        check_image_ids(self._config.params, images)
        assert self._categories is not None
        names = class_names(self._categories, merged.coco.class_ids, self._config.params.class_agnostic)
        self._warn_absent_classes(merged)
        return finish(self._config, merged, names, images)

    def state_dict(self) -> dict[str, Any]:
        """The state as plain data (numpy arrays, lists): picklable, to merge elsewhere."""
        if not self._parts and not self._pending:
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
        self._categories, self._parts, self._images, self._seen, self._top = None, [], [], set(), None
        self._pending, self._pending_rows, self._gt_classes = [], 0, set()
        self._dt_count, self._dt_first = None, {}
        if state["categories"] is None:
            return
        self._categories = Categories(
            ids=np.asarray(state["categories"]["ids"], np.int64), names=tuple(state["categories"]["names"])
        )
        confusion = state["confusion"]
        part = BatchMatches(
            coco=_matches_from_dict(state["coco"]),
            point=_matches_from_dict(state["point"]),
            confusion=None if confusion is None else np.asarray(confusion),
        )
        images = np.asarray(state["images"], np.int64)
        self._parts, self._images = [_Part(part)], [images]
        self._see(images)
