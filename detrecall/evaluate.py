"""`evaluate`: read -> plan -> IoU -> match -> protocol -> result, and nothing else.

The steps, each of another module: the inputs are read (`io`), the protocol selects what it
evaluates (`protocols`), the matcher plans the (image, class) groups and computes one IoU per
pair (`matching`, `geometry`), the protocol matches and summarizes (`aggregate`), the
operating point is computed on the same matches (`analysis.point`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ._memory import reusing_freed_memory
from ._sort import unique_ints
from .aggregate import by_score
from .analysis.point import confusion_pass, operating_point
from .errors import DetrecallError
from .io import coco, detect_format, read_detections, read_ground_truth
from .io.arrays import is_arrays, read_arrays
from .matching import candidates, iou_floor, plan
from .options import (
    CocoParams,
    InputOptions,
    IouType,
    Keywords,
    PointOptions,
    resolve_threads,
    split_keywords,
)
from .protocols import PROTOCOL_OPTIONS, BatchMatches, Prepared, Protocol, resolve_protocol
from .result import EvaluationResult, PointResult
from .types import Categories, Dataset, Detections, EvalParams

log = logging.getLogger("detrecall")

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .analysis.bootstrap import BootstrapResult
    from .io.shapes import ShapeKind

IOU_TYPES = tuple(t.value for t in IouType)


@dataclass(frozen=True)
class Config:
    """Everything an evaluation is asked for, checked: the iou type, the protocol, its
    parameters (defaults filled in), the operating point and how inputs are read."""

    iou_type: IouType
    params: EvalParams
    protocol: Protocol
    point: PointOptions = PointOptions()
    inputs: InputOptions = InputOptions()
    threads: int = 1  # the compiled kernels' (options.resolve_threads); results do not depend on it


def make_config(
    iou_type: str | IouType = "bbox",
    *,
    protocol: str | Protocol = "coco",
    params: CocoParams | None = None,
    point: PointOptions | None = None,
    inputs: InputOptions | None = None,
    threads: int | None = None,
    **keywords: Unpack[Keywords],
) -> Config:
    """A checked Config from option groups and/or flat keywords (see `evaluate`)."""
    kind = IouType.of(iou_type)
    grouped = split_keywords(
        keywords, params=params, point=point, inputs=inputs, protocol_fields=PROTOCOL_OPTIONS
    )
    chosen = resolve_protocol(protocol, **grouped.protocol)
    if grouped.params.dilation_ratio is not None and kind is not IouType.BOUNDARY:
        raise DetrecallError(f"dilation_ratio goes with iou_type='boundary' (got iou_type={kind.value!r})")
    return Config(
        iou_type=kind,
        params=chosen.make_params(grouped.params, kind),
        protocol=chosen,
        point=grouped.point.checked(),
        inputs=grouped.inputs.checked(),
        threads=resolve_threads(threads),
    )


def read_inputs(
    gt: Any, dt: Any, config: Config, *, first_image_id: int = 0, source: str | None = None
) -> tuple[Dataset, Detections]:
    """Dataset and Detections from files of any format, parsed COCO JSON, per-image arrays
    (io/arrays.py: then `inputs.box_format` and `inputs.categories` apply), or themselves."""
    kind, inputs = config.iou_type, config.inputs
    if is_arrays(gt):  # a COCO ground truth is a dict
        gt, dt = read_arrays(
            gt,
            dt,
            box_format=inputs.box_format or "xyxy",
            categories=inputs.categories,
            iou_type=IouType.SEGM.value if kind.reads_masks else kind.value,
            first_image_id=first_image_id,
        )
    shapes: ShapeKind | None = (
        "polygon" if kind is IouType.POLYGON else "rotated" if kind.reads_shapes else None
    )
    geometry: dict[str, Any] = {"masks": kind.reads_masks, "shapes": shapes, "angle_unit": inputs.angle_unit}
    common: dict[str, Any] = {"columns": inputs.columns, "box_format": inputs.box_format}
    gt_format = inputs.gt_format
    if gt_format is None and isinstance(gt, (str, os.PathLike)):
        gt_format = detect_format(gt, "gt")
    if kind is IouType.KEYPOINTS:
        return _read_keypoints(gt, dt, source, inputs.only_gt_images)
    if not isinstance(gt, Dataset):
        if source is not None:  # parsed already (LVIS): name the file in messages
            gt = coco.read_ground_truth(gt, name=source, threads=config.threads, **geometry)
        else:
            gt = read_ground_truth(
                gt,
                gt_format,
                images=inputs.images,
                sizes=inputs.sizes,
                names=inputs.names,
                threads=config.threads,
                **geometry,
                **common,
            )
    if not isinstance(dt, Detections):
        dt = read_detections(
            dt,
            gt,
            inputs.dt_format,
            names=inputs.dt_names,
            gt_format=gt_format,
            only_gt_images=inputs.only_gt_images,
            threads=config.threads,
            **geometry,
            **common,
        )
    if kind.reads_masks and (gt.masks is None or dt.masks is None):
        raise DetrecallError(f"iou_type={kind.value!r} needs masks in both ground truth and detections")
    if kind.reads_shapes and (gt.shapes is None or dt.shapes is None):
        raise DetrecallError(f"iou_type={kind.value!r} needs shapes in both ground truth and detections")
    return gt, dt


def _read_keypoints(gt: Any, dt: Any, source: str | None, only_gt_images: bool) -> tuple[Dataset, Detections]:
    """Ground truth and results with their keypoints (COCO files or parsed JSON only)."""
    from .io.keypoints import read_keypoint_ground_truth, read_keypoint_results

    if isinstance(gt, Dataset) and gt.keypoints is None:
        raise DetrecallError("iou_type='keypoints' needs the ground truth's keypoints (a COCO file or dict)")
    if not isinstance(gt, Dataset):
        data = gt
        if isinstance(gt, (str, os.PathLike)):
            from .io._records import read_json

            data, source = read_json(gt)
        gt_set = coco.read_ground_truth(data, name=source)
        gt = read_keypoint_ground_truth(data, gt_set)
    if not isinstance(dt, Detections):
        dt = read_keypoint_results(dt, gt, only_gt_images=only_gt_images)
    if dt.keypoints is None:
        raise DetrecallError("iou_type='keypoints' needs keypoints in the detections")
    return gt, dt


def match_batch(
    gt: Dataset, dt: Detections, config: Config, labels: Any = None, *, with_score_order: bool = True
) -> BatchMatches:
    """One plan and one IoU pass, matched for the protocol and for the operating point;
    `with_score_order=False`: without the accumulation's score order (a streaming flush keeps
    the matches alone)."""
    return match_prepared(
        config.protocol.prepare(gt, dt, config.params, labels), config, with_score_order=with_score_order
    )


def match_prepared(prepared: Prepared, config: Config, *, with_score_order: bool = True) -> BatchMatches:
    """match_batch on the rows the protocol selected (`Protocol.prepare`)."""
    protocol, params = config.protocol, config.params
    gt, dt = prepared.gt, prepared.dt
    p = plan(gt, dt, params, config.threads, score_order=with_score_order)
    floor = iou_floor(params.iou_thresholds, config.point.iou_threshold)
    pairs = candidates(
        config.iou_type,
        p,
        gt,
        dt,
        floor,
        pixel_inclusive=protocol.pixel_inclusive,
        sigmas=params.kpt_oks_sigmas,
        dilation_ratio=params.dilation_ratio,
        threads=config.threads,
    )
    coco, at_point = protocol.match(p, pairs, prepared, params, config.point, config.threads)
    matrix = None
    if config.point.confusion:
        matrix = confusion_pass(
            gt, dt, at_point, config.iou_type, params, config.point, protocol.pixel_inclusive
        )
    return BatchMatches(
        coco=coco,
        point=at_point,
        confusion=matrix,
        frequency=prepared.frequency,
        score_order=protocol.score_order(p, params) if with_score_order else None,
        point_score_order=None
        if not with_score_order or at_point.det_score is coco.det_score
        else protocol.point_score_order(p, config.point),
        threads=config.threads,
    )


def check_image_ids(params: EvalParams, known: np.ndarray) -> None:
    """Refuse `image_ids` the ground truth does not have: counted as empty images they would
    change the bootstrap's population and the per-image costs (pycocotools counts them so)."""
    if params.image_ids is None:
        return
    unknown = np.setdiff1d(params.image_ids, known)
    if len(unknown):
        shown = ", ".join(map(str, unknown[:5].tolist())) + (", ..." if len(unknown) > 5 else "")
        raise DetrecallError(f"image_ids: {len(unknown)} id(s) not among the ground truth's images: {shown}")


def class_names(categories: Categories, class_ids: np.ndarray, class_agnostic: bool) -> list[str]:
    return ["all"] if class_agnostic else [categories.name_of(int(c)) for c in class_ids]


def finish(
    config: Config, batch: BatchMatches, names: Sequence[str], image_ids: np.ndarray
) -> EvaluationResult:
    """Accumulate and summarize matched images into the result."""
    shared = batch.point.det_score is batch.coco.det_score  # one score sort serves both
    if shared and batch.score_order is None:
        batch = replace(batch, score_order=by_score(batch.coco.det_score))

    def point_of() -> PointResult:
        return operating_point(
            batch.point,
            names,
            config.point,
            confusion=batch.confusion,
            image_ids=image_ids,
            score_order=batch.score_order if shared else batch.point_score_order,
        )

    if config.threads > 1:
        # both only read the matches: the summary (compiled, GIL released) beside the operating
        # point, which stays on this thread with its warnings
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(config.protocol.summarize, batch, config.params, names)
            point = point_of()
            summarized = pending.result()
    else:  # the summary first: its accumulation's buffers are gone before the curves are drawn
        summarized = config.protocol.summarize(batch, config.params, names)
        point = point_of()
    return EvaluationResult(
        iou_type=config.iou_type.value,
        params=config.params,
        protocol_summary=summarized.summary,
        per_class=summarized.per_class,
        accumulated=summarized.accumulated,
        matches=batch.coco,
        point=point,
        point_matches=batch.point,
        image_ids=None if image_ids is None else unique_ints(image_ids),
    )


def evaluate(
    gt: Any,
    dt: Any,
    iou_type: str | IouType = "bbox",
    *,
    protocol: str | Protocol = "coco",
    params: CocoParams | None = None,
    point: PointOptions | None = None,
    inputs: InputOptions | None = None,
    errors: bool = False,
    per_image: bool = False,
    slices: Mapping[str, Any] | None = None,
    label_errors: bool = False,
    threads: int | None = None,
    **keywords: Unpack[Keywords],
) -> EvaluationResult:
    """Evaluate detections against ground truth: the protocol's numbers and an operating point.

    gt: a COCO instances file, a YOLO label folder, a VOC XML folder or a CSV file (format from
    the path, or `gt_format=`), parsed COCO JSON, or a Dataset. dt: COCO results, YOLO labels
    with scores, VOC devkit result files or CSV (`dt_format=`), parsed results, or Detections.
    Or gt and dt as lists with one dict per image, torchmetrics' form (`targets`: boxes, labels,
    optional iscrowd, area, masks; `preds`: boxes, scores, labels, optional masks; numpy arrays
    or tensors), boxes in `box_format` ("xyxy", "xywh", "cxcywh"), classes named by
    `categories` (a list indexed by label, or {label: name}); see io/arrays.py.
    iou_type: "bbox", "segm" (masks), "polygon" (COCO polygons as exact shapes) or "rotated"
    (`rbox: [cx, cy, w, h, angle]`, angle in `angle_unit`, positive = clockwise on screen),
    "keypoints" (OKS) or "boundary" (boundary IoU of masks, bands of `dilation_ratio` x the
    image diagonal, 0.02 by default, as faster-coco-eval's iouType="boundary").

    Options, as groups or as the same names in flat keywords (`iou_threshold=0.6`):
    - `params=CocoParams(...)`: iou_thresholds, max_dets, area_ranges ({label: (low, high)}),
      recall_thresholds, image_ids, category_ids, class_agnostic (pycocotools' Params);
      kpt_oks_sigmas (keypoints), dilation_ratio (boundary).
    - `point=PointOptions(...)`: the operating point: iou_threshold, score_threshold, beta,
      zero_division, target_recall, target_precision, max_dets (flat: `point_max_dets`; None:
      every detection counts), confusion, cost.
    - `inputs=InputOptions(...)`: gt_format, dt_format, box_format, categories, angle_unit,
      images, sizes, names, dt_names, columns, only_gt_images (predictions on images the
      ground truth lacks left out with a warning, instead of an error).
    - `protocol`: "coco" (default), "voc" / `Voc(ap_method="11point", pixel_inclusive=True)`
      (Pascal VOC AP per class, IoU 0.5 unless iou_thresholds), "lvis" / `Lvis()` (federated;
      needs the LVIS ground-truth file). See protocols/.

    Where the missing AP went, from the same matching pass: `errors=True` adds TIDE's error
    analysis (`result.errors`), `per_image=True` the per-image table (`result.per_image`),
    `slices={"night": [image ids], ...}` the evaluation of each subset (`result.slices[name]`,
    equal to `evaluate(..., image_ids=ids)`), `label_errors=True` the likely missing annotations
    and wrong labels (`result.label_errors`: confident detections on no ground truth, or on
    ground truth of another class at high IoU), ranked.
    `threads`: how many threads matching and accumulation use (default: $DETRECALL_THREADS, else
    the CPUs this process may run on); the numbers are the same for any count.
    """
    config = make_config(
        iou_type, protocol=protocol, params=params, point=point, inputs=inputs, threads=threads, **keywords
    )
    with reusing_freed_memory():  # arrays of a column each, dropped and made: pages reused
        return evaluate_with(
            gt, dt, config, errors=errors, per_image=per_image, slices=slices, label_errors=label_errors
        )


def evaluate_with(
    gt: Any,
    dt: Any,
    config: Config,
    *,
    errors: bool = False,
    per_image: bool = False,
    slices: Mapping[str, Any] | None = None,
    label_errors: bool = False,
) -> EvaluationResult:
    """`evaluate` with a Config made already."""

    def reader(g: Any, d: Any, source: str | None = None) -> tuple[Dataset, Detections]:
        return read_inputs(g, d, config, source=source)

    start = time.perf_counter()
    gt_set, dt_set, labels = config.protocol.read(gt, dt, reader)
    log.info(
        "read %s: %s ground truths on %s images, %s: %s detections in %.2f s",
        gt_set.source,
        f"{len(gt_set):,}",
        f"{len(gt_set.images.ids):,}",
        dt_set.source,
        f"{len(dt_set):,}",
        time.perf_counter() - start,
    )
    check_image_ids(config.params, gt_set.images.ids)
    start = time.perf_counter()
    prepared = config.protocol.prepare(gt_set, dt_set, config.params, labels)
    batch = match_prepared(prepared, config)
    log.info(
        "matched %s kept detections, %s matches (%s) in %.2f s",
        f"{len(batch.coco.det_row):,}",
        f"{len(batch.coco.hit_det):,}",
        config.protocol.name,
        time.perf_counter() - start,
    )
    names = class_names(gt_set.categories, batch.coco.class_ids, config.params.class_agnostic)
    image_ids = gt_set.images.ids if config.params.image_ids is None else config.params.image_ids
    start = time.perf_counter()
    result = finish(config, batch, names, image_ids)
    log.info("summarized %s classes in %.2f s", f"{len(names):,}", time.perf_counter() - start)
    if errors or per_image or label_errors or slices is not None:
        asked = {"errors": errors, "per_image": per_image, "label_errors": label_errors}
        result = _diagnosed(result, prepared, batch, config, names, asked, slices)
    return result


def _diagnosed(
    result: EvaluationResult,
    prepared: Prepared,
    batch: BatchMatches,
    config: Config,
    names: Sequence[str],
    asked: Mapping[str, bool],
    slices: Mapping[str, Any] | None,
) -> EvaluationResult:
    """The result with TIDE's errors, the per-image table, the label-error candidates and the
    slices asked for."""
    start = time.perf_counter()
    extra: dict[str, Any] = {}
    pixel = config.protocol.pixel_inclusive
    if asked["label_errors"]:
        from .analysis.label_errors import label_errors as candidates_of

        extra["label_errors"] = candidates_of(
            prepared.gt, prepared.dt, result, iou_type=config.iou_type, pixel_inclusive=pixel
        )
    if asked["errors"]:
        from .analysis.errors import tide

        extra["errors"] = tide(prepared.gt, prepared.dt, result, pixel_inclusive=pixel)
    if asked["per_image"]:
        from .analysis.per_image import per_image as per_image_table

        extra["per_image"] = per_image_table(result, zero_division=config.point.zero_division)
    if slices is not None:
        from .analysis.slices import check_slices, slice_batch, slice_confusion

        assert result.image_ids is not None
        parts = {}
        for name, ids in check_slices(slices, result.image_ids).items():
            part = slice_batch(batch, ids)
            sub = replace(config, params=replace(config.params, image_ids=ids))
            if config.point.confusion:
                matrix = slice_confusion(
                    prepared.gt, prepared.dt, part.point, config.iou_type, sub.params, config.point, pixel
                )
                part = replace(part, confusion=matrix)
            parts[name] = finish(sub, part, names, ids)
        extra["slices"] = parts
    log.info("analysed (%s) in %.2f s", ", ".join(extra), time.perf_counter() - start)
    return replace(result, **extra)


def bootstrap(
    result: Any,
    dt: Any = None,
    iou_type: str | IouType = "bbox",
    *,
    n: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    protocol: str | Protocol | None = None,
    params: CocoParams | None = None,
    point: PointOptions | None = None,
    inputs: InputOptions | None = None,
    **keywords: Unpack[Keywords],
) -> BootstrapResult:
    """Image-level bootstrap intervals (`analysis.bootstrap.intervals`) of an EvaluationResult,
    or of ground truth and detections evaluated first with `evaluate`'s options."""
    from .analysis.bootstrap import check_bootstrap_args, intervals  # not needed by evaluate

    check_bootstrap_args(n, seed, confidence)
    options: dict[str, Any] = {"protocol": protocol, "params": params, "point": point, "inputs": inputs}
    options = {k: v for k, v in options.items() if v is not None}
    if not isinstance(result, EvaluationResult) and iou_type != "bbox":
        options["iou_type"] = iou_type
    given = as_result(result, dt, {**options, **keywords})
    return intervals(given, n=n, seed=seed, confidence=confidence)


def as_result(result: Any, dt: Any, options: Mapping[str, Any]) -> EvaluationResult:
    """An EvaluationResult as given, or evaluated from (ground truth, detections, options)."""
    if isinstance(result, EvaluationResult):
        if dt is not None or any(v is not None for v in options.values()):
            raise DetrecallError(
                "give an EvaluationResult alone, or ground truth, detections and evaluate()'s options"
            )
        return result
    if dt is None:
        raise DetrecallError("detections are missing: bootstrap(result) or bootstrap(gt, dt, ...)")
    return evaluate(result, dt, **options)
