"""The frozen dataclasses passed between stages: io -> geometry -> matching -> aggregate.

Arrays are columnar (one row per annotation) and made read-only on construction, so a stage
can never change what an earlier stage handed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from enum import IntEnum
from typing import Any, TypeVar, overload

import numpy as np


def _freeze(*arrays: np.ndarray | None) -> None:
    for a in arrays:
        if a is not None:
            a.flags.writeable = False


def narrow_ints(values: np.ndarray) -> np.ndarray:
    """Integers (ids, positions) as int32 when every one fits, else as they are: kept columns
    cost 4 bytes a row instead of 8."""
    if values.dtype.itemsize > 4 and values.dtype.kind in "iu" and len(values):
        if -(2**31) <= int(values.min()) and int(values.max()) < 2**31:
            return values.astype(np.int32)
    return values


def _masks_as_columns(table: Dataset | Detections) -> None:
    """A table's masks given as RLE dicts (tuple or list) held as RleMasks."""
    if table.masks is not None and not isinstance(table.masks, RleMasks):
        object.__setattr__(table, "masks", RleMasks.from_rles(table.masks))


_Rows = TypeVar("_Rows", "Dataset", "Detections")


def take(table: _Rows, rows: np.ndarray) -> _Rows:
    """The same table with only `rows` (ascending keeps the row order): every per-row column
    (arrays and tuples of one entry per row) is cut alike; images and categories are kept."""
    n = len(table)
    rows = np.asarray(rows, np.int64)
    cut: dict[str, Any] = {}
    for f in fields(table):
        v = getattr(table, f.name)
        if isinstance(v, np.ndarray) and v.ndim and len(v) == n:
            cut[f.name] = np.take(v, rows, axis=0)  # v[rows]; ~10x faster for (N, 4) boxes
        elif isinstance(v, RleMasks) and len(v) == n:
            cut[f.name] = v.take(rows)
        elif isinstance(v, tuple) and len(v) == n:
            cut[f.name] = tuple(v[i] for i in rows.tolist())
    return replace(table, **cut)


@dataclass(frozen=True, eq=False, repr=False)
class RleMasks(Sequence[dict[str, Any]]):
    """Compressed RLE masks (pycocotools' strings) as columns instead of a dict each: mask i is
    the characters chars[starts[i]:ends[i]] of an sizes[i] = (h, w) mask. Reads as a sequence of
    fresh {"size": [h, w], "counts": str} dicts; `take` gathers rows without copying characters
    (the rows taken share `chars`)."""

    chars: np.ndarray  # (C,) uint8: the strings' characters
    starts: np.ndarray  # (N,) int64: where each mask's string begins in chars
    ends: np.ndarray  # (N,) int64: where it ends
    sizes: np.ndarray  # (N, 2) int64: (h, w)

    def __post_init__(self) -> None:
        _freeze(self.chars, self.starts, self.ends, self.sizes)

    @classmethod
    def from_rles(cls, rles: Iterable[Any]) -> RleMasks:
        """The columns of compressed RLE dicts ({"size": [h, w], "counts": str | bytes})."""
        counts: list[bytes] = []
        sizes: list[Any] = []
        for r in rles:
            c = r["counts"]
            if isinstance(c, str):
                counts.append(c.encode("utf-8", "surrogatepass"))
            elif isinstance(c, (bytes, bytearray)):
                counts.append(bytes(c))
            else:
                raise TypeError(f"a compressed RLE's counts are a str or bytes, not {type(c).__name__}")
            sizes.append(r["size"])
        ends = np.cumsum(np.fromiter(map(len, counts), np.int64, len(counts)))
        return cls.of_strings(np.frombuffer(b"".join(counts), np.uint8), ends, np.asarray(sizes, np.int64))

    @classmethod
    def of_strings(cls, chars: np.ndarray, ends: np.ndarray, sizes: np.ndarray) -> RleMasks:
        """Masks whose strings lie one after another in chars, mask i's ending at ends[i]."""
        ends = np.asarray(ends, np.int64)
        starts = np.zeros(len(ends), np.int64)
        starts[1:] = ends[:-1]
        return cls(chars, starts, ends, np.asarray(sizes, np.int64).reshape(-1, 2))

    @classmethod
    def concatenate(cls, parts: Sequence[RleMasks]) -> RleMasks:
        """The masks of each part, one part after another, in one set (of their strings only)."""
        parts = [p.compact() for p in parts]
        shift = np.cumsum([0] + [len(p.chars) for p in parts[:-1]])
        return cls.of_strings(
            np.concatenate([np.zeros(0, np.uint8)] + [p.chars for p in parts]),
            np.concatenate([np.zeros(0, np.int64)] + [p.ends + s for p, s in zip(parts, shift)]),
            np.concatenate([np.zeros((0, 2), np.int64)] + [p.sizes for p in parts]),
        )

    def compact(self) -> RleMasks:
        """The same masks with chars holding their strings only, one after another in row
        order (itself when it does already)."""
        n = len(self)
        if (n == 0 and not len(self.chars)) or (
            n
            and self.starts[0] == 0
            and self.ends[-1] == len(self.chars)
            and np.array_equal(self.starts[1:], self.ends[:-1])
        ):
            return self
        strings = self.strings()
        ends = np.cumsum(np.fromiter(map(len, strings), np.int64, n))
        return RleMasks.of_strings(np.frombuffer(b"".join(strings), np.uint8), ends, self.sizes)

    def take(self, rows: np.ndarray) -> RleMasks:
        """The masks of `rows`, in that order (a gather of the row columns)."""
        rows = np.asarray(rows, np.int64)
        return RleMasks(self.chars, self.starts[rows], self.ends[rows], self.sizes[rows])

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> RleMasks: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | RleMasks:
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        i = range(len(self))[i]  # an int, negative counted from the end; IndexError outside
        h, w = self.sizes[i].tolist()
        counts = str(self.chars.data[self.starts[i] : self.ends[i]], "utf-8", "surrogatepass")
        return {"size": [h, w], "counts": counts}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        chars = self.chars.data
        for s, e, (h, w) in zip(self.starts.tolist(), self.ends.tolist(), self.sizes.tolist()):
            yield {"size": [h, w], "counts": str(chars[s:e], "utf-8", "surrogatepass")}

    def strings(self) -> list[bytes]:
        """Each mask's string, as bytes."""
        chars = self.chars.data
        return [chars[s:e].tobytes() for s, e in zip(self.starts.tolist(), self.ends.tolist())]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RleMasks):
            return np.array_equal(self.sizes, other.sizes) and self.strings() == other.strings()
        if isinstance(other, (tuple, list)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RleMasks({len(self)} masks, {len(self.chars)} characters)"


@dataclass(frozen=True)
class Images:
    """The images of a ground-truth set: ids and sizes (width/height 0 when not given), and
    their file names when the source has them (how other formats refer to an image)."""

    ids: np.ndarray  # (I,) int64, unique
    width: np.ndarray  # (I,) int64
    height: np.ndarray  # (I,) int64
    file_names: tuple[str, ...] | None = None  # (I,), "" where an image has none

    def __post_init__(self) -> None:
        _freeze(self.ids, self.width, self.height)


@dataclass(frozen=True)
class Categories:
    """Category ids (sorted ascending) and their names."""

    ids: np.ndarray  # (K,) int64, sorted, unique
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        _freeze(self.ids)

    def name_of(self, category_id: int) -> str:
        i = int(np.searchsorted(self.ids, category_id))
        return self.names[i] if i < len(self.ids) and self.ids[i] == category_id else str(category_id)


@dataclass(frozen=True)
class Dataset:
    """Ground truth, one row per annotation, rows sorted by (image_id, category_id, file order).

    `area` is the file's area (COCO uses it for the size ranges, also for bbox evaluation).
    `masks` holds the compressed RLEs (pycocotools strings, as RleMasks) when masks were read,
    else None (RLE dicts given are held as RleMasks);
    `shapes` an object array of valid shapely (Multi)Polygons when polygons or rotated boxes were
    read (iou_type "polygon" / "rotated"), else None.
    `ignore` marks ground truth to ignore (VOC's difficult, a COCO `ignore: 1`): a detection
    matching it is neither TP nor FP and it is not counted among the positives; unlike a crowd
    it is matched with plain IoU, by one detection. None on construction means all False.
    """

    image_id: np.ndarray  # (N,) int64
    category_id: np.ndarray  # (N,) int64
    box: np.ndarray  # (N, 4) float64, xywh
    area: np.ndarray  # (N,) float64
    iscrowd: np.ndarray  # (N,) bool
    ann_id: np.ndarray  # (N,) int64
    images: Images
    categories: Categories
    masks: RleMasks | None = None
    source: str = "<ground truth>"
    shapes: np.ndarray | None = None  # (N,) object: shapely geometries
    ignore: np.ndarray = None  # type: ignore[assignment]  # (N,) bool; None -> all False
    keypoints: np.ndarray | None = None  # (N, K, 3) float64 x, y, visibility (iou_type "keypoints")

    def __post_init__(self) -> None:
        if self.ignore is None:
            object.__setattr__(self, "ignore", np.zeros(len(self.image_id), bool))
        _masks_as_columns(self)
        _freeze(
            self.image_id,
            self.category_id,
            self.box,
            self.area,
            self.iscrowd,
            self.ann_id,
            self.shapes,
            self.ignore,
            self.keypoints,
        )

    def __len__(self) -> int:
        return len(self.image_id)


@dataclass(frozen=True)
class Detections:
    """Predictions, one row per detection, rows sorted by (image_id, category_id, file order).

    `masks` and `shapes` as in Dataset.
    """

    image_id: np.ndarray  # (D,) int64
    category_id: np.ndarray  # (D,) int64
    box: np.ndarray  # (D, 4) float64, xywh
    area: np.ndarray  # (D,) float64
    score: np.ndarray  # (D,) float64
    masks: RleMasks | None = None
    source: str = "<detections>"
    # (D,) position of each row in its source, when a protocol's rule needs it (LVIS keeps the
    # first 300 per image by score, ties in file order); None: the rows' own order. Stored as
    # int32 when the positions fit (4 bytes a detection less), else int64
    file_index: np.ndarray | None = None
    shapes: np.ndarray | None = None  # (D,) object: shapely geometries
    keypoints: np.ndarray | None = None  # (D, K, 3) float64 x, y, v (iou_type "keypoints")

    def __post_init__(self) -> None:
        if self.file_index is not None:
            object.__setattr__(self, "file_index", narrow_ints(self.file_index))
        _masks_as_columns(self)
        _freeze(
            self.image_id,
            self.category_id,
            self.box,
            self.area,
            self.score,
            self.file_index,
            self.shapes,
            self.keypoints,
        )

    def __len__(self) -> int:
        return len(self.image_id)


@dataclass(frozen=True)
class EvalParams:
    """What to evaluate: thresholds, size ranges, detection caps, class handling."""

    iou_thresholds: np.ndarray  # (T,) float64
    recall_thresholds: np.ndarray  # (R,) float64
    area_ranges: np.ndarray  # (A, 2) float64, inclusive bounds
    area_labels: tuple[str, ...]
    max_dets: tuple[int, ...]  # ascending
    class_agnostic: bool = False
    image_ids: np.ndarray | None = None  # restrict to these images (sorted), None = all GT images
    category_ids: np.ndarray | None = None  # restrict to these categories, None = all GT categories
    kpt_oks_sigmas: np.ndarray | None = None  # (K,) per-keypoint sigmas: set when OKS is evaluated
    dilation_ratio: float | None = None  # boundary IoU's band width / image diagonal: set when evaluated

    def __post_init__(self) -> None:
        _freeze(
            self.iou_thresholds,
            self.recall_thresholds,
            self.area_ranges,
            self.image_ids,
            self.category_ids,
            self.kpt_oks_sigmas,
        )


@dataclass(frozen=True)
class Matches:
    """What the matcher found, enough for every protocol downstream.

    Per kept detection (at most max_det per image and class, best first), in (group, rank)
    order: its class, image, rank, score, row and whether its area is outside each range.
    The matches themselves are sparse, one row per (area range, IoU threshold, detection) that
    took a ground truth, sorted that way; `matched_gt` and `ignored` give the dense views.
    """

    class_ids: np.ndarray  # (K,) category ids evaluated; [-1] when class-agnostic
    iou_thresholds: np.ndarray  # (T,)
    det_class: np.ndarray  # (D,) index into class_ids
    det_image: np.ndarray  # (D,) image id
    det_rank: np.ndarray  # (D,) rank by score inside its (image, class) group
    det_score: np.ndarray  # (D,) float64
    det_row: np.ndarray  # (D,) row in the Detections
    det_out_of_range: np.ndarray  # (A, D) bool: area outside each area range
    hit_area: np.ndarray  # (H,) area-range index of each match
    hit_thr: np.ndarray  # (H,) IoU-threshold index
    hit_det: np.ndarray  # (H,) detection index (into the det_* arrays)
    hit_gt: np.ndarray  # (H,) row in the Dataset
    hit_ignored: np.ndarray  # (H,) bool: the ground truth is ignored in that area range
    npos: np.ndarray  # (K, A) int64 non-ignored ground truths per class and area range
    gt_row: np.ndarray  # (G,) rows of the Dataset evaluated, ascending
    gt_class: np.ndarray  # (G,) index into class_ids
    gt_image: np.ndarray  # (G,) image id
    gt_ignored: np.ndarray  # (A, G) bool: crowd, ignore flag, or area outside the range

    def __post_init__(self) -> None:
        _freeze(
            self.class_ids,
            self.iou_thresholds,
            self.det_class,
            self.det_image,
            self.det_rank,
            self.det_score,
            self.det_row,
            self.det_out_of_range,
            self.hit_area,
            self.hit_thr,
            self.hit_det,
            self.hit_gt,
            self.hit_ignored,
            self.npos,
            self.gt_row,
            self.gt_class,
            self.gt_image,
            self.gt_ignored,
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """(A, T, D) of the dense views."""
        return (self.det_out_of_range.shape[0], len(self.iou_thresholds), len(self.det_row))

    @property
    def matched_gt(self) -> np.ndarray:
        """(A, T, D) int64: the Dataset row each detection took, -1 for none."""
        out = np.full(self.shape, -1, np.int64)
        out[self.hit_area, self.hit_thr, self.hit_det] = self.hit_gt
        return out

    @property
    def ignored(self) -> np.ndarray:
        """(A, T, D) bool: matched to an ignored ground truth, or unmatched and out of range."""
        out = np.repeat(self.det_out_of_range[:, None, :], self.shape[1], axis=1)
        out[self.hit_area, self.hit_thr, self.hit_det] = self.hit_ignored
        return out


@dataclass(frozen=True)
class Accumulated:
    """pycocotools' `eval` arrays: precision/scores (T,R,K,A,M), recall (T,K,A,M); -1 = undefined."""

    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        _freeze(self.precision, self.recall, self.scores)


class Status(IntEnum):
    """What a detection is at one IoU threshold (`matching.detection_status`)."""

    FP = 0  # matched nothing (and counted)
    TP = 1  # matched a counted ground truth
    IGNORED = 2  # matched an ignored ground truth, or unmatched outside the area range
