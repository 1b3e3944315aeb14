"""A drop-in for pycocotools' COCOeval (bbox, segm, keypoints), running on detrecall's engine.

    from pycocotools.coco import COCO
    from detrecall.compat import COCOeval      # instead of pycocotools.cocoeval
    E = COCOeval(coco_gt, coco_gt.loadRes("dt.json"), "bbox")
    E.evaluate(); E.accumulate(); E.summarize(); E.stats, E.eval["precision"]

or `detrecall.compat.install()` once, and existing `from pycocotools.cocoeval import COCOeval`
lines get this class. The attributes are pycocotools': `params` (read at each evaluate() and
accumulate() call, as edited), `ious` (per (imgId, catId): the IoU matrix, [] where a side is
empty), `evalImgs` (the per (category, area range, image) dicts, None where pycocotools has
None), `_paramsEval`, `eval`, `stats`; the same printed lines.

How: the annotations pycocotools would select (its own `getAnnIds`/`loadAnns`/`annToRLE` on
the COCO objects as they are at evaluate() time) become detrecall's columnar tables; one plan,
one IoU pass and one match give every number. `ious` and `evalImgs` are built from those
matches the first time they are read. `accumulate()` takes detrecall's accumulation when the
parameters and evalImgs are those of the last evaluate(), else pycocotools' own accumulation
over `evalImgs` (e.g. torchvision's merged shards, or `accumulate(p)` with other parameters).

Keypoints: OKS by geometry.keypoints (pycocotools' computeOks to the bit) with
`params.kpt_oks_sigmas` as set at evaluate() time, ground truth with `num_keypoints == 0`
ignored, the 10-line keypoint summary.

Differences (README, "Drop-in for pycocotools' COCOeval"): the id-0 quirk is not copied (a
ground truth with id 0 counts as matched); masks of one pair whose RLE sizes differ are refused
(pycocotools scores the pair -1); class-agnostic keypoints are matched (pycocotools' computeOks
finds no annotation under useCats=0, so nothing matches there); `_gts`/`_dts` stay empty.
"""

from __future__ import annotations

import copy
import datetime
import sys
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .aggregate import accumulate as detrecall_accumulate
from .errors import DataWarning, DetrecallError, InputError
from .geometry.keypoints import COCO_SIGMAS
from .matching import Plan, match, pair_ious, plan, score_order
from .options import IouType
from .types import Categories, Dataset, Detections, EvalParams, Images, Matches, RleMasks

IOU_TYPES = ("segm", "bbox", "keypoints", "boundary")  # pycocotools' names; boundary: faster-coco-eval's


def _check_iou_type(iou_type: Any) -> None:
    if iou_type not in IOU_TYPES:
        raise DetrecallError(
            f"iouType {iou_type!r} is not supported by detrecall.compat (one of {', '.join(IOU_TYPES)})"
        )


class Params:
    """pycocotools' Params, attribute for attribute: detection defaults for bbox and segm,
    keypoint defaults (maxDets [20], three areas, COCO's 17 sigmas) for keypoints."""

    def __init__(self, iouType: str = "segm") -> None:  # noqa: N803 (pycocotools' names)
        _check_iou_type(iouType)
        if iouType == "keypoints":
            self.setKpParams()
        else:
            self.setDetParams()
        self.iouType = iouType
        self.useSegm: Any = None

    def setDetParams(self) -> None:  # noqa: N802
        self.imgIds: list[Any] = []
        self.catIds: list[Any] = []
        self.iouThrs: Any = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
        self.recThrs: Any = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
        self.maxDets: list[Any] = [1, 10, 100]
        self.areaRng: list[Any] = [[0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2]]
        self.areaRngLbl: list[Any] = ["all", "small", "medium", "large"]
        self.useCats: Any = 1

    def setKpParams(self) -> None:  # noqa: N802
        self.setDetParams()
        self.maxDets = [20]
        self.areaRng = [[0**2, 1e5**2], [32**2, 96**2], [96**2, 1e5**2]]
        self.areaRngLbl = ["all", "medium", "large"]
        self.kpt_oks_sigmas: Any = COCO_SIGMAS.copy()


# ---------------------------------------------------------------------------------------------
# inputs: what pycocotools' _prepare() selects, as detrecall tables


def _selected_anns(coco: Any, p: Params) -> list[dict[str, Any]]:
    """The annotations pycocotools' _prepare() loads, through the object's own index."""
    if p.useCats:
        anns: list[dict[str, Any]] = coco.loadAnns(coco.getAnnIds(imgIds=p.imgIds, catIds=p.catIds))
    else:
        anns = coco.loadAnns(coco.getAnnIds(imgIds=p.imgIds))
    return anns


def _numbers(values: list[Any], what: str) -> np.ndarray:
    """float64 values of numbers (numpy scalars included); a TypeError for anything else, as
    pycocotools' arithmetic on them raises."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf" or arr.ndim != 1:
        raise TypeError(f"{what}: expected numbers, got {arr.dtype} values")
    return arr.astype(np.float64)


def _boxes(anns: list[dict[str, Any]], source: str) -> np.ndarray:
    """(N, 4) float64 boxes; pycocotools' maskUtils.iou takes a list of 4-element lists or
    numpy arrays and refuses anything else (a tuple included)."""
    boxes = [a["bbox"] for a in anns]
    for i, b in enumerate(boxes):
        if type(b) not in (list, np.ndarray) or len(b) != 4:
            raise InputError(
                f"bbox is {type(b).__name__} {b!r} (expected a list or numpy array [x, y, w, h]; "
                "pycocotools refuses it too)",
                source=source,
                record=f"annotation {anns[i].get('id')}",
            )
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _rles(coco: Any, anns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Compressed RLEs as pycocotools' annToRLE makes them (polygons and uncompressed RLEs
    drawn at the image's size), `size` as a list of ints and `counts` as given (str or bytes)."""
    out = []
    for a in anns:
        rle = coco.annToRLE(a)
        size = rle["size"]
        out.append({"size": [int(size[0]), int(size[1])], "counts": rle["counts"]})
    return out


def _warn_mask_sizes(coco: Any, anns: list[dict[str, Any]], rles: list[dict[str, Any]], side: str) -> None:
    """A DataWarning when RLE sizes disagree with their image's height x width (pycocotools
    evaluates them as they are, and so does detrecall)."""
    bad = []
    for a, r in zip(anns, rles):
        img = coco.imgs.get(a["image_id"], {})
        h, w = img.get("height"), img.get("width")
        if h is not None and w is not None and r["size"] != [int(h), int(w)]:
            bad.append((a.get("id"), a["image_id"], r["size"], (h, w)))
    if bad:
        ann_id, image_id, size, (h, w) = bad[0]
        warnings.warn(
            f"{side}: {len(bad)} mask(s) have an RLE size other than their image's, e.g. "
            f"annotation {ann_id}: {size} but image {image_id} is {h}x{w} (height x width); "
            "evaluated at the RLE size, as pycocotools does",
            DataWarning,
            stacklevel=4,
        )


def _keypoint_boxes(anns: list[dict[str, Any]]) -> np.ndarray:
    """(N, 4) float64 ground-truth boxes for OKS (computeOks only does arithmetic on them, so
    any 4-sequence of numbers is taken)."""
    return np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)


def _keypoints(anns: list[dict[str, Any]], n_kpt: int, source: str) -> np.ndarray:
    """(N, K, 3) float64 x, y, v of each annotation's `keypoints` [x1, y1, v1, ...], K the
    number of sigmas (pycocotools' arithmetic fails on another length, with a ValueError)."""
    values = [a["keypoints"] for a in anns]
    for a, v in zip(anns, values):
        if len(v) != 3 * n_kpt:
            raise InputError(
                f"keypoints has {len(v)} numbers (expected {3 * n_kpt}: x, y, v for each of the "
                f"{n_kpt} kpt_oks_sigmas)",
                source=source,
                record=f"annotation {a.get('id')}",
            )
    return np.array(values, dtype=np.float64).reshape(len(values), n_kpt, 3)


def _unlabelled(anns: list[dict[str, Any]]) -> np.ndarray:
    """Ground truth pycocotools ignores for keypoints: `num_keypoints == 0` (crowds are
    ignored by the matcher already)."""
    return np.array([a["num_keypoints"] == 0 for a in anns], dtype=bool)


@dataclass(frozen=True)
class _Tables:
    """The selected annotations as detrecall tables. Image and category ids are replaced by
    their positions in the evaluated imgIds / catIds, which keeps pycocotools' orders."""

    gt: Dataset
    dt: Detections
    dt_ids: np.ndarray  # (D,) annotation id of each Detections row, float64 (pycocotools' dtm)
    gt_ids_float: np.ndarray  # (G,) annotation id of each Dataset row, float64
    dt_id_values: list[Any]  # (D,) the ids as pycocotools lists them
    gt_id_values: list[Any]
    gt_sizes: np.ndarray | None  # (G, 2) RLE sizes (segm)
    dt_sizes: np.ndarray | None


def _positions(
    anns: list[dict[str, Any]], img_pos: dict[Any, int], cat_pos: dict[Any, int] | None
) -> np.ndarray:
    """Indices of the annotations that pycocotools' loops reach (image in imgIds, category in
    the evaluated ones), and their positions as (N, 2) int64 at the end."""
    keep, img, cat = [], [], []
    for i, a in enumerate(anns):
        ip = img_pos.get(a["image_id"])
        cp = 0 if cat_pos is None else cat_pos.get(a["category_id"])
        if ip is not None and cp is not None:
            keep.append(i)
            img.append(ip)
            cat.append(cp)
    return np.array([keep, img, cat], np.int64).reshape(3, -1)


def _tables(
    ev: COCOeval, p: Params, img_ids: list[Any], cat_ids: list[Any], kind: IouType, n_kpt: int = 0
) -> _Tables:
    masks, keypoints = kind.reads_masks, kind is IouType.KEYPOINTS
    img_pos = {v: i for i, v in enumerate(img_ids)}
    # class-agnostic: pycocotools concatenates each image's annotations in p.catIds order (a
    # repeated id would repeat its annotations there; here they count once)
    cat_pos = {v: i for i, v in enumerate(dict.fromkeys(p.catIds if not p.useCats else cat_ids))}
    tables: list[Any] = []
    for coco, side in ((ev.cocoGt, "ground truth"), (ev.cocoDt, "results")):
        anns = _selected_anns(coco, p)
        sel = _positions(anns, img_pos, cat_pos)
        rows = [anns[i] for i in sel[0].tolist()]
        order = np.lexsort((np.arange(len(rows)), sel[2], sel[1]))
        rows = [rows[i] for i in order.tolist()]
        image, category = sel[1][order], sel[2][order]
        ids = [a["id"] for a in rows]
        area = _numbers([a["area"] for a in rows], f"{side}: area")
        rles = _rles(coco, rows) if masks else None
        if rles is not None:
            _warn_mask_sizes(coco, rows, rles, side)
        if masks or (keypoints and side == "results"):  # OKS reads no result box
            box = np.zeros((len(rows), 4))
        else:
            box = _keypoint_boxes(rows) if keypoints else _boxes(rows, side)
        kpts = _keypoints(rows, n_kpt, side) if keypoints else None
        tables.append((rows, image, category, ids, area, rles, box, kpts))
    (g_rows, g_img, g_cat, g_ids, g_area, g_rles, g_box, g_kpts) = tables[0]
    (d_rows, d_img, d_cat, d_ids, d_area, d_rles, d_box, d_kpts) = tables[1]
    n_cls = max(len(cat_pos), 1)
    images = Images(
        ids=np.arange(len(img_ids), dtype=np.int64),
        width=np.zeros(len(img_ids), np.int64),
        height=np.zeros(len(img_ids), np.int64),
    )
    categories = Categories(ids=np.arange(n_cls, dtype=np.int64), names=tuple(str(i) for i in range(n_cls)))
    iscrowd = np.array([bool(int(a["iscrowd"])) for a in g_rows], bool)
    g_id_float = _numbers(g_ids, "ground truth: id") if g_ids else np.zeros(0)
    gt = Dataset(
        image_id=g_img,
        category_id=g_cat,
        box=g_box,
        area=g_area,
        iscrowd=iscrowd,
        ann_id=g_id_float.astype(np.int64),
        images=images,
        categories=categories,
        masks=None if g_rles is None else RleMasks.from_rles(g_rles),
        source="<COCO ground truth>",
        ignore=_unlabelled(g_rows) if keypoints else np.zeros(len(g_rows), bool),
        keypoints=g_kpts,
    )
    dt = Detections(
        image_id=d_img,
        category_id=d_cat,
        box=d_box,
        area=d_area,
        score=_numbers([a["score"] for a in d_rows], "results: score"),
        masks=None if d_rles is None else RleMasks.from_rles(d_rles),
        source="<COCO results>",
        keypoints=d_kpts,
    )

    def sizes(rles: list[dict[str, Any]] | None) -> np.ndarray | None:
        return None if rles is None else np.array([r["size"] for r in rles], np.int64).reshape(-1, 2)

    return _Tables(
        gt=gt,
        dt=dt,
        dt_ids=_numbers(d_ids, "results: id") if d_ids else np.zeros(0),
        gt_ids_float=g_id_float,
        dt_id_values=d_ids,
        gt_id_values=g_ids,
        gt_sizes=sizes(g_rles),
        dt_sizes=sizes(d_rles),
    )


def _check_pair_sizes(t: _Tables, pl: Plan) -> None:
    """Refuse masks compared with masks of another RLE size (pycocotools would score -1)."""
    if t.gt_sizes is None or t.dt_sizes is None or not len(pl.pair_dt):
        return
    d = pl.dt_rows[pl.pair_dt]
    g = pl.gt_rows[pl.pair_gt]
    bad = np.flatnonzero((t.dt_sizes[d] != t.gt_sizes[g]).any(axis=1))
    if len(bad):
        i = int(bad[0])
        raise InputError(
            f"result {t.dt_id_values[int(d[i])]} has an RLE size {t.dt_sizes[d[i]].tolist()} but "
            f"ground truth {t.gt_id_values[int(g[i])]} of the same image has "
            f"{t.gt_sizes[g[i]].tolist()} (masks compared must have one size)",
            source="<COCO results>",
        )


# ---------------------------------------------------------------------------------------------
# one evaluate(): detrecall's matches, and pycocotools' layouts read from them


@dataclass(frozen=True)
class _Run:
    """What one evaluate() computed, and how pycocotools lays it out."""

    tables: _Tables
    plan: Plan
    iou: np.ndarray  # one value per plan pair
    matches: Matches  # at max(maxDets) per group
    params: EvalParams  # what detrecall matched with (the fast accumulation reads it)
    img_ids: list[Any]  # p.imgIds
    cat_ids: list[Any]  # p.catIds, or [-1]
    area_rngs: list[Any]  # p.areaRng's entries, as pycocotools stores them in evalImgs
    max_det: int
    n_thr: int  # len(p.iouThrs): 0 when empty (a placeholder threshold was matched)
    n_area: int  # len(p.areaRng): 0 when empty (a placeholder range was matched)
    snapshot: dict[str, Any]  # the params evaluated, to tell whether accumulate() may reuse


def _snapshot(p: Params) -> dict[str, Any]:
    return {
        k: copy.deepcopy(getattr(p, k, None))
        for k in ("imgIds", "catIds", "useCats", "iouThrs", "recThrs", "maxDets", "areaRng")
    }


def _same(a: Any, b: Any) -> bool:
    try:
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and bool(np.array_equal(x, y))
    except (TypeError, ValueError):
        return False


def _eval_params(p: Params, n_img: int, n_cls: int) -> tuple[EvalParams, int, int]:
    """detrecall's parameters for pycocotools' (thresholds as given: both cap at 1 - 1e-10);
    an empty iouThrs or areaRng is matched with a placeholder and dropped from the layouts."""
    thr = np.asarray(p.iouThrs, np.float64).reshape(-1)
    if np.isnan(thr).any():
        raise DetrecallError(f"iouThrs must be numbers, got {thr.tolist()}")
    ranges = np.asarray(p.areaRng, np.float64).reshape(-1, 2) if len(p.areaRng) else np.zeros((0, 2))
    max_dets = tuple(int(d) for d in p.maxDets)
    if max_dets[-1] < 1:
        raise DetrecallError(f"maxDets must hold a positive count, got {list(max_dets)}")
    rec = np.asarray(p.recThrs, np.float64).reshape(-1)
    params = EvalParams(
        iou_thresholds=thr if len(thr) else np.array([0.5]),
        recall_thresholds=rec,
        area_ranges=ranges if len(ranges) else np.array([[-np.inf, np.inf]]),
        area_labels=tuple(str(i) for i in range(max(len(ranges), 1))),
        max_dets=tuple(max(d, 1) for d in max_dets),
        class_agnostic=not p.useCats,
        image_ids=np.arange(n_img, dtype=np.int64),
        category_ids=np.arange(n_cls, dtype=np.int64),
    )
    return params, len(thr), len(ranges)


def _sigmas(p: Params) -> np.ndarray:
    """p.kpt_oks_sigmas as (K,) float64: one positive number per keypoint, any K (an
    AttributeError where Params has none, as in pycocotools)."""
    sigmas = np.asarray(p.kpt_oks_sigmas, dtype=np.float64)
    if sigmas.ndim != 1 or not len(sigmas) or not np.all(sigmas > 0):
        raise DetrecallError(
            f"kpt_oks_sigmas must be positive numbers, one per keypoint; got {sigmas.tolist()}"
        )
    return sigmas


def _group_key(image: np.ndarray, cls: np.ndarray, n_cls: int) -> np.ndarray:
    return image.astype(np.int64) * n_cls + cls  # in int64 whatever the Matches' width


def _ious(run: _Run) -> dict[tuple[Any, Any], Any]:
    """pycocotools' self.ious: for every (imgId, catId), image-major, the (D, G) IoU matrix of
    its detections (best max(maxDets) by score) and ground truth (file order); [] where either
    side is empty."""
    pl, n_cls = run.plan, len(run.cat_ids)
    blocks = pl.blocks
    offsets = np.r_[0, np.cumsum(blocks[:, 1] * blocks[:, 3])]
    keys = pl.dt_group[blocks[:, 0]] if len(blocks) else np.zeros(0, np.int64)
    at = {int(k): b for b, k in enumerate(keys.tolist())}
    out: dict[tuple[Any, Any], Any] = {}
    for i, img in enumerate(run.img_ids):
        for k, cat in enumerate(run.cat_ids):
            b = at.get(i * n_cls + k)
            if b is None:
                out[img, cat] = []
                continue
            _, nd, _, ng = blocks[b].tolist()
            block = run.iou[offsets[b] : offsets[b + 1]].reshape(nd, ng)
            out[img, cat] = np.array(block[: run.max_det])
    return out


def _eval_imgs(run: _Run) -> list[Any]:
    """pycocotools' self.evalImgs, category-major then area range then image, from the matches."""
    m, t = run.matches, run.tables
    n_img, n_cls, n_thr = len(run.img_ids), len(run.cat_ids), run.n_thr
    n_groups = n_img * n_cls
    out: list[Any] = [None] * (n_cls * run.n_area * n_img)
    if not n_groups or not run.n_area:
        return out
    # groups with any selected annotation (before the max-dets cut): pycocotools' non-None ones
    agnostic = run.params.class_agnostic
    gt_all = _group_key(t.gt.image_id, 0 * t.gt.category_id if agnostic else t.gt.category_id, n_cls)
    dt_all = _group_key(t.dt.image_id, 0 * t.dt.category_id if agnostic else t.dt.category_id, n_cls)
    present = np.flatnonzero(np.bincount(np.r_[gt_all, dt_all], minlength=n_groups))
    det_key = _group_key(m.det_image, m.det_class, n_cls)
    gt_key = _group_key(m.gt_image, m.gt_class, n_cls)
    d_lo, d_hi = np.searchsorted(det_key, present), np.searchsorted(det_key, present, side="right")
    g_lo, g_hi = np.searchsorted(gt_key, present), np.searchsorted(gt_key, present, side="right")
    n_det, n_gt = len(m.det_row), len(m.gt_row)
    dt_ids = t.dt_ids[m.det_row]
    dt_id_values = [t.dt_id_values[r] for r in m.det_row.tolist()]
    scores = m.det_score.tolist()
    gt_index = np.searchsorted(m.gt_row, m.hit_gt)  # hit -> position among the evaluated gt
    area_bounds = np.searchsorted(m.hit_area, np.arange(run.n_area + 1))
    for a in range(run.n_area):
        h = slice(area_bounds[a], area_bounds[a + 1])
        h_thr, h_det, h_gt = m.hit_thr[h], m.hit_det[h], gt_index[h]
        keep = h_thr < n_thr
        h_thr, h_det, h_gt, h_ign = h_thr[keep], h_det[keep], h_gt[keep], m.hit_ignored[h][keep]
        dtm = np.zeros((n_thr, n_det))
        dtm[h_thr, h_det] = t.gt_ids_float[m.gt_row[h_gt]]
        matched = np.zeros((n_thr, n_det), bool)
        matched[h_thr, h_det] = True
        dt_ig = np.zeros((n_thr, n_det), bool)
        dt_ig[h_thr, h_det] = h_ign
        dt_ig |= ~matched & m.det_out_of_range[a][None, :]
        # ground truth not ignored first, stable: the order of gtIds, gtMatches, gtIgnore
        ignored = m.gt_ignored[a]
        perm = np.lexsort((ignored, gt_key))
        where = np.empty(n_gt, np.int64)
        where[perm] = np.arange(n_gt)
        gtm = np.zeros((n_thr, n_gt))
        if len(h_gt):  # a crowd matched by several detections keeps the last (lowest ranked)
            flat = h_thr * n_gt + where[h_gt]
            o = np.lexsort((h_det, flat))
            last = np.r_[flat[o][1:] != flat[o][:-1], True]
            gtm.reshape(-1)[flat[o][last]] = dt_ids[h_det[o][last]]
        gt_ignore = ignored[perm].astype(np.int64)
        gt_id_values = [t.gt_id_values[r] for r in m.gt_row[perm].tolist()]
        a_rng = run.area_rngs[a]
        for key, dl, dh, gl, gh in zip(
            present.tolist(), d_lo.tolist(), d_hi.tolist(), g_lo.tolist(), g_hi.tolist()
        ):
            i, k = divmod(key, n_cls)
            out[(k * run.n_area + a) * n_img + i] = {
                "image_id": run.img_ids[i],
                "category_id": run.cat_ids[k],
                "aRng": a_rng,
                "maxDet": run.max_det,
                "dtIds": dt_id_values[dl:dh],
                "gtIds": gt_id_values[gl:gh],
                "dtMatches": dtm[:, dl:dh].copy(),
                "gtMatches": gtm[:, gl:gh].copy(),
                "dtScores": scores[dl:dh],
                "gtIgnore": gt_ignore[gl:gh].copy() if gh > gl else np.array([]),
                "dtIgnore": dt_ig[:, dl:dh].copy(),
            }
    return out


def _accumulate_eval_imgs(eval_imgs: Any, p: Any, pe: Any) -> dict[str, np.ndarray]:
    """pycocotools' accumulate() over evalImgs, step for step (its index arithmetic included),
    the precision envelope and recall sampling done per row in numpy (the same values)."""
    p.catIds = p.catIds if p.useCats == 1 else [-1]
    n_t, n_r = len(p.iouThrs), len(p.recThrs)
    n_k = len(p.catIds) if p.useCats else 1
    n_a, n_m = len(p.areaRng), len(p.maxDets)
    precision = -np.ones((n_t, n_r, n_k, n_a, n_m))
    recall = -np.ones((n_t, n_k, n_a, n_m))
    scores = -np.ones((n_t, n_r, n_k, n_a, n_m))
    cat_ids = pe.catIds if pe.useCats else [-1]
    set_k, set_a, set_m, set_i = set(cat_ids), set(map(tuple, pe.areaRng)), set(pe.maxDets), set(pe.imgIds)
    k_list = [n for n, k in enumerate(p.catIds) if k in set_k]
    m_list = [m for n, m in enumerate(p.maxDets) if m in set_m]
    a_list = [n for n, a in enumerate(map(lambda x: tuple(x), p.areaRng)) if a in set_a]
    i_list = [n for n, i in enumerate(p.imgIds) if i in set_i]
    i0, a0_len = len(pe.imgIds), len(pe.areaRng)
    rec_thrs = np.asarray(p.recThrs)
    for k, k0 in enumerate(k_list):
        nk = k0 * a0_len * i0
        for a, a0 in enumerate(a_list):
            na = a0 * i0
            for m, max_det in enumerate(m_list):
                entries = [eval_imgs[nk + na + i] for i in i_list]
                entries = [e for e in entries if e is not None]
                if len(entries) == 0:
                    continue
                dt_scores = np.concatenate([e["dtScores"][0:max_det] for e in entries])
                inds = np.argsort(-dt_scores, kind="mergesort")
                dt_scores_sorted = dt_scores[inds]
                dtm = np.concatenate([e["dtMatches"][:, 0:max_det] for e in entries], axis=1)[:, inds]
                dt_ig = np.concatenate([e["dtIgnore"][:, 0:max_det] for e in entries], axis=1)[:, inds]
                gt_ig = np.concatenate([e["gtIgnore"] for e in entries])
                npig = np.count_nonzero(gt_ig == 0)
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, np.logical_not(dt_ig))
                fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
                tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
                fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
                for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
                    nd = len(tp)
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    pr = np.maximum.accumulate(pr[::-1])[::-1] if nd else pr  # envelope from the right
                    q = np.zeros((n_r,))
                    ss = np.zeros((n_r,))
                    at = np.searchsorted(rc, rec_thrs, side="left")
                    # pycocotools fills until the first index past the end (its try/except)
                    past = np.flatnonzero(at >= nd)
                    stop = int(past[0]) if len(past) else len(at)
                    q[:stop] = pr[at[:stop]]
                    ss[:stop] = dt_scores_sorted[at[:stop]]
                    precision[t, :, k, a, m] = q
                    scores[t, :, k, a, m] = ss
    return {
        "counts": np.array([n_t, n_r, n_k, n_a, n_m]),
        "precision": precision,
        "recall": recall,
        "scores": scores,
    }


_UNSET: Any = object()

# pycocotools' keypoint summary, in its order: (AP 1 / AR 0, IoU threshold or None, area label)
_KEYPOINT_LINES: tuple[tuple[int, float | None, str], ...] = (
    (1, None, "all"),
    (1, 0.5, "all"),
    (1, 0.75, "all"),
    (1, None, "medium"),
    (1, None, "large"),
    (0, None, "all"),
    (0, 0.5, "all"),
    (0, 0.75, "all"),
    (0, None, "medium"),
    (0, None, "large"),
)


class COCOeval:
    """pycocotools.cocoeval.COCOeval's interface and attributes over detrecall (bbox, segm,
    keypoints)."""

    def __init__(
        self,
        cocoGt: Any = None,  # noqa: N803
        cocoDt: Any = None,  # noqa: N803
        iouType: str = "segm",  # noqa: N803
        boundary_dilation_ratio: float = 0.02,  # iouType="boundary", as faster-coco-eval's COCOeval
    ) -> None:
        self.boundary_dilation_ratio = boundary_dilation_ratio
        if not iouType:
            print("iouType not specified. use default iouType segm")
        self.cocoGt, self.cocoDt = cocoGt, cocoDt
        self._eval_imgs: Any = defaultdict(list)
        self._ious_value: Any = {}
        self._run: _Run | None = None
        self._run_reusable = False
        self._paramsEval: Any = {}
        self.eval: dict[str, Any] = {}
        self._gts: Any = defaultdict(list)  # not filled: detrecall keeps its own tables
        self._dts: Any = defaultdict(list)
        self.params = Params(iouType=iouType)
        self.stats: Any = []
        if cocoGt is not None:
            self.params.imgIds = sorted(cocoGt.getImgIds())
            self.params.catIds = sorted(cocoGt.getCatIds())

    # evalImgs and ious are built from the matches when first read; once read or assigned,
    # accumulate() goes through them as pycocotools does
    @property
    def evalImgs(self) -> Any:  # noqa: N802
        if self._eval_imgs is _UNSET:
            assert self._run is not None
            self._eval_imgs = _eval_imgs(self._run)
        self._run_reusable = False
        return self._eval_imgs

    @evalImgs.setter
    def evalImgs(self, value: Any) -> None:  # noqa: N802
        self._eval_imgs = value
        self._run_reusable = False

    @property
    def ious(self) -> Any:
        if self._ious_value is _UNSET:
            assert self._run is not None
            self._ious_value = _ious(self._run)
        return self._ious_value

    @ious.setter
    def ious(self, value: Any) -> None:
        self._ious_value = value

    def evaluate(self) -> None:
        """Match every (image, category) group, as pycocotools' evaluate() on self.params."""
        tic = time.time()
        print("Running per image evaluation...")
        p = self.params
        if p.useSegm is not None:
            p.iouType = "segm" if p.useSegm == 1 else "bbox"
            print(f"useSegm (deprecated) is not None. Running {p.iouType} evaluation")
        print(f"Evaluate annotation type *{p.iouType}*")
        _check_iou_type(p.iouType)
        p.imgIds = list(np.unique(p.imgIds))
        if p.useCats:
            p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self.params = p
        self.eval = {}
        cat_ids = p.catIds if p.useCats else [-1]
        max_det = p.maxDets[-1]  # an IndexError on an empty maxDets, as in pycocotools
        kind = IouType(p.iouType)
        sigmas = _sigmas(p) if kind is IouType.KEYPOINTS else None
        n_cls = len(cat_ids) if p.useCats else len(dict.fromkeys(p.catIds))
        params, n_thr, n_area = _eval_params(p, len(p.imgIds), n_cls)
        tables = _tables(self, p, p.imgIds, cat_ids, kind, 0 if sigmas is None else len(sigmas))
        pl = plan(tables.gt, tables.dt, params)
        _check_pair_sizes(tables, pl)
        ratio = float(self.boundary_dilation_ratio) if kind is IouType.BOUNDARY else None
        iou = pair_ious(kind, pl, tables.gt, tables.dt, sigmas=sigmas, dilation_ratio=ratio)
        matches = match(
            pl,
            iou,
            tables.gt,
            tables.dt,
            iou_thresholds=params.iou_thresholds,
            area_ranges=params.area_ranges,
            max_det=params.max_dets[-1],
        )
        self._run = _Run(
            tables=tables,
            plan=pl,
            iou=iou,
            matches=matches,
            params=params,
            img_ids=list(p.imgIds),
            cat_ids=list(cat_ids),
            area_rngs=list(p.areaRng),
            max_det=max_det,
            n_thr=n_thr,
            n_area=n_area,
            snapshot=_snapshot(p),
        )
        self._eval_imgs = _UNSET
        self._ious_value = _UNSET
        self._paramsEval = copy.deepcopy(self.params)
        self._run_reusable = True
        print(f"DONE (t={time.time() - tic:0.2f}s).")

    def _reusable(self, p: Any) -> bool:
        """Whether detrecall's own accumulation gives pycocotools' arrays: accumulate() is on
        the parameters just evaluated, evalImgs untouched, and the values within its domain."""
        run = self._run
        if run is None or p is not None or not getattr(self, "_run_reusable", False):
            return False
        now = _snapshot(self.params)
        if any(not _same(now[k], run.snapshot[k]) for k in now) or self.params.useCats not in (0, 1):
            return False
        rec = np.asarray(self.params.recThrs, np.float64).reshape(-1)
        rec_ok = len(rec) > 0 and bool(np.all(np.diff(rec) >= 0)) and rec[0] >= 0 and rec[-1] <= 1
        max_dets = list(self.params.maxDets)
        dets_ok = len(set(max_dets)) == len(max_dets) and min(max_dets) >= 1
        return rec_ok and dets_ok and run.n_thr > 0 and run.n_area > 0

    def _eval_imgs_empty(self) -> bool:
        """pycocotools' `not self.evalImgs`, without building them."""
        if self._eval_imgs is _UNSET:
            run = self._run
            assert run is not None
            return len(run.img_ids) * len(run.cat_ids) * run.n_area == 0
        return not self._eval_imgs

    def accumulate(self, p: Params | None = None) -> None:
        """pycocotools' accumulate(): self.eval with precision, recall, scores for `p` (or
        self.params) read from the last evaluation."""
        print("Accumulating evaluation results...")
        tic = time.time()
        reuse = self._reusable(p)
        if self._eval_imgs_empty():
            print("Please run evaluate() first")
        if reuse:
            run = self._run
            assert run is not None
            params = self.params
            params.catIds = params.catIds if params.useCats == 1 else [-1]
            acc = detrecall_accumulate(
                run.matches, run.params, score_order(run.plan, run.params.max_dets[-1])
            )
            arrays = {
                "counts": np.array(acc.precision.shape),
                "precision": np.array(acc.precision),
                "recall": np.array(acc.recall),
                "scores": np.array(acc.scores),
            }
        else:
            params = self.params if p is None else p
            arrays = _accumulate_eval_imgs(self.evalImgs, params, self._paramsEval)
        self.eval = {
            "params": params,
            "counts": [int(c) for c in arrays["counts"]],
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "precision": arrays["precision"],
            "recall": arrays["recall"],
            "scores": arrays["scores"],
        }
        print(f"DONE (t={time.time() - tic:0.2f}s).")

    def summarize(self) -> None:
        """pycocotools' summarize(): the 12 numbers and lines (10 at maxDets 20 for keypoints),
        for the params as they are now."""

        def _summarize(  # noqa: N803 (pycocotools' names)
            ap: int = 1, iouThr: float | None = None, areaRng: str = "all", maxDets: int = 100
        ) -> float:
            p = self.params
            i_str = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"
            title = "Average Precision" if ap == 1 else "Average Recall"
            kind = "(AP)" if ap == 1 else "(AR)"
            iou_str = f"{p.iouThrs[0]:0.2f}:{p.iouThrs[-1]:0.2f}" if iouThr is None else f"{iouThr:0.2f}"
            aind = [i for i, a in enumerate(p.areaRngLbl) if a == areaRng]
            mind = [i for i, m in enumerate(p.maxDets) if m == maxDets]
            if ap == 1:
                s = self.eval["precision"]
                if iouThr is not None:
                    s = s[np.where(iouThr == p.iouThrs)[0]]
                s = s[:, :, :, aind, mind]
            else:
                s = self.eval["recall"]
                if iouThr is not None:
                    s = s[np.where(iouThr == p.iouThrs)[0]]
                s = s[:, :, aind, mind]
            mean_s = -1 if len(s[s > -1]) == 0 else np.mean(s[s > -1])
            print(i_str.format(title, kind, iou_str, areaRng, maxDets, mean_s))
            return float(mean_s)

        if not self.eval:
            raise Exception("Please run accumulate() first")
        if self.params.iouType == "keypoints":
            lines = [_summarize(ap, iouThr=t, areaRng=area, maxDets=20) for ap, t, area in _KEYPOINT_LINES]
            self.stats = np.array(lines)
            return
        md = self.params.maxDets
        stats = np.zeros((12,))
        stats[0] = _summarize(1)
        stats[1] = _summarize(1, iouThr=0.5, maxDets=md[2])
        stats[2] = _summarize(1, iouThr=0.75, maxDets=md[2])
        stats[3] = _summarize(1, areaRng="small", maxDets=md[2])
        stats[4] = _summarize(1, areaRng="medium", maxDets=md[2])
        stats[5] = _summarize(1, areaRng="large", maxDets=md[2])
        stats[6] = _summarize(0, maxDets=md[0])
        stats[7] = _summarize(0, maxDets=md[1])
        stats[8] = _summarize(0, maxDets=md[2])
        stats[9] = _summarize(0, areaRng="small", maxDets=md[2])
        stats[10] = _summarize(0, areaRng="medium", maxDets=md[2])
        stats[11] = _summarize(0, areaRng="large", maxDets=md[2])
        self.stats = stats

    def __str__(self) -> str:
        self.summarize()
        return ""


def install() -> None:
    """Make `pycocotools.cocoeval.COCOeval` (and Params) resolve to detrecall's, from now on."""
    import pycocotools
    import pycocotools.cocoeval as original

    module = sys.modules[__name__]
    original.COCOeval = COCOeval  # for modules that imported it already
    original.Params = Params
    sys.modules["pycocotools.cocoeval"] = module
    pycocotools.cocoeval = module
