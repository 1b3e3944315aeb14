"""The LVIS protocol: federated evaluation on the COCO matcher and aggregator.

LVIS labels each image exhaustively only for some classes, so (as the `lvis` package does):
- detections are first cut to the 300 best per image, all classes together (ties: file order);
- ground truth and detections of area 0 are dropped (the package selects area > 0);
- in an image, a class is evaluated only if it has ground truth there or is one of the image's
  `neg_category_ids`; detections of other classes are dropped, not counted as false positives;
- an unmatched detection of a class in the image's `not_exhaustive_category_ids` is ignored;
- no crowd rule (LVIS has none); matching, AP and AR are COCO's, with no per-class cap;
- summary: AP, AP50, AP75, APs/m/l, APr/c/f (classes by their `frequency`), AR@300 and by size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._arrays import mean_of_defined, nan_if_undefined
from ..errors import DetrecallError, InputError
from ..io._records import Columns, read_json
from ..matching import Candidates, Plan
from ..options import CocoParams, IouType, PointOptions
from ..result import LVIS_MAX_DETS, LvisSummary
from ..types import Accumulated, Dataset, Detections, EvalParams, Matches, take
from .base import BatchMatches, Prepared, Reader, Summarized
from .coco import Coco, coco_params, per_class

FREQUENCIES = ("r", "c", "f")  # rare (< 10 training images), common (< 100), frequent


@dataclass(frozen=True)
class LvisMeta:
    """The federated labels of a LVIS ground truth: (image, category) pairs known absent or not
    exhaustively annotated, and each category's frequency group (index into FREQUENCIES)."""

    neg_image: np.ndarray
    neg_category: np.ndarray
    nel_image: np.ndarray
    nel_category: np.ndarray
    category_ids: np.ndarray  # sorted
    frequency: np.ndarray  # (K,) int8


def _pairs(cols: Columns, field: str, image_ids: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, ...]:
    lists = []
    for i, r in enumerate(cols.records):
        if field not in r:
            raise cols.error(i, field, "missing (LVIS ground truth lists it for every image)")
        v = r[field]
        if not isinstance(v, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in v):
            raise cols.error(i, field, f"is {v!r:.40} (expected a list of category ids)")
        lists.append(v)
    counts = np.fromiter(map(len, lists), np.int64, len(lists))
    cats = np.fromiter((c for v in lists for c in v), np.int64, int(counts.sum()))
    pos = np.searchsorted(known, cats).clip(0, max(len(known) - 1, 0))
    bad = np.flatnonzero(known[pos] != cats) if len(known) else np.arange(len(cats))
    if len(bad):
        i = int(np.searchsorted(np.cumsum(counts), bad[0], side="right"))
        raise cols.error(i, field, f"category {int(cats[bad[0]])} is not in the file's categories")
    return np.repeat(image_ids, counts), cats


def read_lvis_meta(data: Any, source: str, gt: Dataset) -> LvisMeta:
    """The LVIS fields of a parsed ground-truth dict, checked: every image needs
    `neg_category_ids` and `not_exhaustive_category_ids`, every category a `frequency`."""
    images = Columns(data["images"], source, "image")
    image_ids = images.ints("id")
    known = gt.categories.ids
    neg = _pairs(images, "neg_category_ids", image_ids, known)
    nel = _pairs(images, "not_exhaustive_category_ids", image_ids, known)
    cats = Columns(data.get("categories", []), source, "category")
    ids = cats.ints("id")
    freq = np.full(len(known), -1, np.int8)
    for i, r in enumerate(cats.records):
        f = r.get("frequency")
        if f not in FREQUENCIES:
            raise cats.error(i, "frequency", f"is {f!r} (expected one of 'r', 'c', 'f')")
        freq[np.searchsorted(known, ids[i])] = FREQUENCIES.index(f)
    if len(known) and (freq < 0).any():
        raise InputError("LVIS needs the 'categories' list with a frequency for each category", source=source)
    return LvisMeta(neg[0], neg[1], nel[0], nel[1], known, freq)


def _pair_keys(image: np.ndarray, category: np.ndarray, n_cat: int, cat_ids: np.ndarray) -> np.ndarray:
    return image.astype(np.int64) * n_cat + np.searchsorted(cat_ids, category)


def federate(
    gt: Dataset, dt: Detections, meta: LvisMeta, max_dets: int = LVIS_MAX_DETS
) -> tuple[Dataset, Detections, np.ndarray]:
    """The ground truth and detections LVIS evaluates, and (per kept detection) whether its class
    is not exhaustively annotated in its image (then it is ignored when unmatched)."""
    order = dt.file_index if dt.file_index is not None else np.arange(len(dt))
    by_image = np.lexsort((order, -dt.score, dt.image_id))
    img = dt.image_id[by_image]
    start = np.searchsorted(img, img, side="left")
    keep = np.zeros(len(dt), bool)
    keep[by_image[(np.arange(len(img)) - start) < max_dets]] = True
    keep &= (dt.area > 0) & (dt.area < np.inf)
    g_keep = (gt.area > 0) & (gt.area < np.inf)

    cat_ids = meta.category_ids
    n = max(len(cat_ids), 1)
    image_shift = int(min(gt.images.ids.min(initial=0), dt.image_id.min(initial=0)))

    def key(image: np.ndarray, category: np.ndarray) -> np.ndarray:
        return _pair_keys(image - image_shift, category, n, cat_ids)

    positive = np.unique(key(gt.image_id[g_keep], gt.category_id[g_keep]))
    evaluated = np.union1d(positive, key(meta.neg_image, meta.neg_category))
    d_key = key(dt.image_id, dt.category_id)
    keep &= np.isin(d_key, evaluated, assume_unique=False)
    not_exhaustive = np.isin(d_key, key(meta.nel_image, meta.nel_category))

    rows = np.flatnonzero(keep)
    gt = take(gt, np.flatnonzero(g_keep))
    gt = replace(gt, iscrowd=np.zeros(len(gt), bool))
    return gt, take(dt, rows), not_exhaustive[rows]


def ignore_not_exhaustive(m: Matches, not_exhaustive: np.ndarray) -> Matches:
    """Unmatched detections of not-exhaustively-annotated classes are ignored: the same rule as
    an unmatched detection outside the area range, so it rides on `det_out_of_range`."""
    return replace(m, det_out_of_range=m.det_out_of_range | not_exhaustive[m.det_row][None, :])


def _mean(s: np.ndarray) -> float:
    return nan_if_undefined(mean_of_defined(s))


def summarize_lvis(acc: Accumulated, params: EvalParams, frequency: np.ndarray) -> LvisSummary:
    """LVIS's summary from the accumulated arrays (one max-dets column)."""
    labels = params.area_labels
    prec, rec = acc.precision[..., -1], acc.recall[..., -1]  # (T, R, K, A), (T, K, A)

    def area(name: str) -> int:
        return labels.index(name)

    def thr(value: float) -> np.ndarray:
        return np.flatnonzero(params.iou_thresholds == value)

    a = area("all")
    ap_size = [_mean(prec[:, :, :, area(n)]) for n in ("small", "medium", "large")]
    ap_freq = [_mean(prec[:, :, frequency == f, a]) for f in range(3)]
    ar_size = [_mean(rec[:, :, area(n)]) for n in ("small", "medium", "large")]
    return LvisSummary(
        AP=_mean(prec[:, :, :, a]),
        AP50=_mean(prec[thr(0.5)][:, :, :, a]),
        AP75=_mean(prec[thr(0.75)][:, :, :, a]),
        APs=ap_size[0],
        APm=ap_size[1],
        APl=ap_size[2],
        APr=ap_freq[0],
        APc=ap_freq[1],
        APf=ap_freq[2],
        AR=_mean(rec[:, :, a]),
        ARs=ar_size[0],
        ARm=ar_size[1],
        ARl=ar_size[2],
        max_dets=params.max_dets[-1],
    )


class Lvis(Coco):
    """LVIS federated evaluation (the `lvis` package): needs the LVIS ground-truth file or dict
    (its images carry neg_category_ids and not_exhaustive_category_ids, its categories a
    frequency); 300 detections per image unless `max_dets=[n]`."""

    name = "lvis"
    streaming = False

    def make_params(self, params: CocoParams, iou_type: IouType) -> EvalParams:
        if iou_type is IouType.KEYPOINTS:
            raise DetrecallError("protocol='lvis' evaluates boxes, masks or shapes, not keypoints")
        if params.area_ranges is not None or params.class_agnostic:
            raise DetrecallError("protocol='lvis' has fixed area ranges and evaluates per class")
        max_dets = (LVIS_MAX_DETS,) if params.max_dets is None else tuple(params.max_dets)
        if len(max_dets) != 1:
            raise DetrecallError(f"protocol='lvis' takes one max_dets (per image), got {list(max_dets)}")
        return coco_params(replace(params, max_dets=max_dets))

    def read(self, gt: Any, dt: Any, reader: Reader) -> tuple[Dataset, Detections, Any]:
        if isinstance(gt, Dataset):
            raise DetrecallError(
                "protocol='lvis' needs the LVIS ground-truth file or dict (its images "
                "carry neg_category_ids and not_exhaustive_category_ids)"
            )
        data, name = read_json(gt)
        gt_set, dt_set = reader(data, dt, name)
        return gt_set, dt_set, read_lvis_meta(data, name, gt_set)

    def prepare(self, gt: Dataset, dt: Detections, params: EvalParams, labels: Any) -> Prepared:
        if not isinstance(labels, LvisMeta):
            raise DetrecallError("protocol='lvis' needs the LVIS labels of the ground truth")
        gt, dt, not_exhaustive = federate(gt, dt, labels, params.max_dets[-1])
        class_ids = gt.categories.ids if params.category_ids is None else params.category_ids
        frequency = labels.frequency[np.searchsorted(labels.category_ids, class_ids)]
        return Prepared(gt, dt, not_exhaustive=not_exhaustive, frequency=frequency)

    def match(
        self,
        p: Plan,
        iou: Candidates,
        prepared: Prepared,
        params: EvalParams,
        point: PointOptions,
        threads: int = 1,
    ) -> tuple[Matches, Matches]:
        coco, at_point = super().match(p, iou, prepared, params, point, threads)
        assert prepared.not_exhaustive is not None
        return (
            ignore_not_exhaustive(coco, prepared.not_exhaustive),
            ignore_not_exhaustive(at_point, prepared.not_exhaustive),
        )

    def summarize(self, batch: BatchMatches, params: EvalParams, names: Sequence[str]) -> Summarized:
        assert batch.frequency is not None
        acc = self.accumulate(batch, params)
        classes = per_class(acc, params, batch.coco.class_ids, names)
        return Summarized(summarize_lvis(acc, params, batch.frequency), classes, acc)
