"""What COCO results look like when they are legal but probably not what was meant: boxes
written as [x1, y1, x2, y2] or normalized to [0, 1], no results at all, categories shifted by one
against the ground truth, mask results evaluated as boxes. One DataWarning per suspicion, naming it
with a count, so that a wrong export is not read as a bad model.

Each check is a few vectorized passes over columns already read (no record is looked at
again), and each needs strong evidence: legitimate results (the bundled fixtures, the test
oracle's random cases, the conformance data) give none of these warnings.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._sort import positions
from ..errors import DataWarning
from ..types import Dataset
from ._problems import warn_data

FAR = 0.1  # of the image's width or height: how far outside a box must reach to count
MIN_SHIFT_EVIDENCE = 20  # detections needed before categories are called shifted
SAMPLE = 8192  # rows a check looks at first
MIN_OUTSIDE = 5  # boxes far outside their image needed before the boxes are called wrong


def warn_suspicious_results(
    source: str,
    gt: Dataset,
    image_id: np.ndarray,
    category_id: np.ndarray,
    box: np.ndarray | None,
    *,
    empty_file: bool,
    masks_as_boxes: bool,
) -> None:
    """DataWarnings for results (rows in file order, ids already checked against `gt`):
    `box` the given [x, y, w, h] boxes (None: boxes drawn from masks, not checked),
    `empty_file` whether they are a file's empty list (an empty list passed in memory, a
    streaming batch without detections, is not suspicious), `masks_as_boxes` whether they are
    a file of mask results without any bbox, evaluated by the masks' boxes (bbox; the command
    line's default --iou-type: results with both, as detectron2 writes them for both
    evaluations, are not suspicious, nor is a choice made in code)."""
    if empty_file:
        message = f"{source}: no results (an empty list): no predictions, every AP is 0"
        warnings.warn(message, DataWarning, stacklevel=3)
    if not len(image_id):
        return
    if masks_as_boxes:
        warn_data(
            source,
            len(image_id),
            "result(s) with a 'segmentation' and no 'bbox', evaluated by their masks' boxes (bbox): "
            "for mask AP, iou_type='segm' (--iou-type segm)",
            "result 0",
        )
    if box is not None and len(box):
        _warn_boxes(source, gt, image_id, box)
    _warn_shifted_categories(source, gt, image_id, category_id)


def _sample(n: int) -> slice:
    """Every k-th row, about SAMPLE rows: a check whose sample shows nothing suspicious ends there
    (a warning needs a majority of rows; the sample's fraction is within a few percent of it)."""
    return slice(None, None, max(1, n // SAMPLE))


def _outside(gt: Dataset, image_id: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) bool of boxes reaching far outside their image (by more than FAR of its width or
    height: unclipped boxes of objects at the border reach out by a few pixels), and of boxes
    whose image has a size."""
    pos = positions(image_id, gt.images.ids)[0]
    width, height = gt.images.width[pos], gt.images.height[pos]
    sized = (width > 0) & (height > 0)
    with np.errstate(over="ignore", invalid="ignore"):
        beyond = (box[:, 0] < -FAR * width) | (box[:, 1] < -FAR * height)
        beyond |= box[:, 0] + box[:, 2] > (1 + FAR) * width
        beyond |= box[:, 1] + box[:, 3] > (1 + FAR) * height
    return sized & beyond, sized


def _warn_boxes(source: str, gt: Dataset, image_id: np.ndarray, box: np.ndarray) -> None:
    """Boxes all within [0, 1] (normalized), else all shaped like [x1, y1, x2, y2] with a quarter
    of them reaching far outside their image (xyxy), else most reaching far outside: one warning
    at most."""
    n = len(box)
    if box.max() <= 1 and box.min() >= 0 and _ground_truth_in_pixels(gt):
        warn_data(
            source,
            n,
            "box(es), all within [0, 1]: likely normalized coordinates, not pixels (COCO results are "
            "[x, y, w, h] in pixels: multiply x and w by the image's width, y and h by its height)",
            "result 0",
        )
        return
    some = _sample(n)
    outside, sized = _outside(gt, image_id[some], box[some])
    if 6 * int(outside.sum()) <= int(sized.sum()):  # far from a quarter
        return
    outside, sized = _outside(gt, image_id, box)
    n_outside, n_sized = int(outside.sum()), int(sized.sum())
    if n_outside < MIN_OUTSIDE or 4 * n_outside < n_sized:
        return
    first = f"result {int(np.flatnonzero(outside)[0])}"
    far = f"far outside their image (by more than {FAR:.0%} of its width or height)"
    if bool(((box[:, 2] >= box[:, 0]) & (box[:, 3] >= box[:, 1])).all()):
        warn_data(
            source,
            n,
            f"box(es) shaped like [x1, y1, x2, y2], not [x, y, w, h]: every 3rd value >= the 1st and "
            f"4th >= the 2nd, and {n_outside} of them reach {far} read as x, y, w, h (likely xyxy: COCO "
            "results are [x, y, x2 - x1, y2 - y1])",
            first,
        )
        return
    if 2 * n_outside <= n_sized:
        return
    warn_data(
        source,
        n_outside,
        f"of {n} boxes reach {far}: are they [x, y, w, h] in pixels of these images? (xyxy or "
        "[cx, cy, w, h] boxes, or boxes of resized images, do this)",
        first,
    )


def _ground_truth_in_pixels(gt: Dataset) -> bool:
    """Whether the ground truth's boxes (or, without any, its image sizes) go beyond 1: then
    results within [0, 1] are not in its units."""
    if len(gt.box):
        return bool((gt.box > 1).any())
    return bool(((gt.images.width > 1) & (gt.images.height > 1)).any())


def _category_hits(
    gt: Dataset, image_id: np.ndarray, category_id: np.ndarray, present: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N,) bool each: the ground truth has, on the result's image, an object of the result's
    category, of category id + 1, of category id - 1 (`present`: image x category table)."""
    cats, k = gt.categories.ids, len(gt.categories.ids)
    row = positions(image_id, gt.images.ids)[0] * k

    def hits(shift: int) -> np.ndarray:
        pos, found = positions(category_id + shift, cats)
        out: np.ndarray = found & present[row + np.where(found, pos, 0)]
        return out

    return hits(0), hits(1), hits(-1)


def _warn_shifted_categories(source: str, gt: Dataset, image_id: np.ndarray, category_id: np.ndarray) -> None:
    """Categories shifted by one: far more detections have ground truth of category id + 1 (or
    - 1) on their image than of their own category (at least MIN_SHIFT_EVIDENCE detections, and
    half of them shifted)."""
    n = len(category_id)
    if n < MIN_SHIFT_EVIDENCE or not len(gt.category_id):
        return
    cats, images = gt.categories.ids, gt.images.ids
    k = len(cats)
    if len(images) * k > 4 * (n + len(gt.category_id)) + (1 << 20):  # a table would be too large
        return
    present = np.zeros(len(images) * k, bool)
    present[positions(gt.image_id, images)[0] * k + positions(gt.category_id, cats)[0]] = True
    some = _sample(n)
    own, plus, minus = (int(h.sum()) for h in _category_hits(gt, image_id[some], category_id[some], present))
    if 3 * max(plus, minus) < len(category_id[some]) or max(plus, minus) < own:  # far from shifted
        return
    hits = _category_hits(gt, image_id, category_id, present)
    own = int(hits[0].sum())
    for shifted, word, guess in (
        (hits[1], "plus", "0-based class numbers against 1-based ids?"),
        (hits[2], "minus", "1-based ids against a 0-based ground truth?"),
    ):
        count = int(shifted.sum())
        if 2 * count >= n and count >= 2 * own:
            warn_data(
                source,
                count,
                f"of {n} results have ground truth of their category id {word} 1 on their image, {own} of "
                f"their own category: the category ids look shifted by one ({guess})",
                f"result {int(np.flatnonzero(shifted)[0])}, category_id {int(category_id[shifted][0])}",
            )
            return
