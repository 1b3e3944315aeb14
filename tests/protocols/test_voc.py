"""The Pascal VOC protocol: rafaelpadilla's published VOC cases (../shared/conformance) and
hand-worked examples of the rules that differ from COCO."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from detrecall import evaluate
from detrecall.aggregate import interpolated_ap
from detrecall.errors import DetrecallError
from tests.oracle import conformance_cases


def _records_txt(folder: Path, kind: str, fmt: str, sizes: Any = None) -> list[tuple]:
    """(stem, class, score, xywh) from a folder of rafaelpadilla text files."""
    out = []
    for f in sorted(folder.glob("*.txt")):
        for line in f.read_text().splitlines():
            p = line.split()
            if not p:
                continue
            score = float(p[1]) if kind == "det" else None
            a, b, c, d = map(float, p[-4:])
            if fmt == "xywh":
                box = [a, b, c, d]
            else:  # rel_cxcywh
                w_img, h_img = sizes[f.stem] if isinstance(sizes, dict) else sizes
                x1, y1 = (a - c / 2) * w_img, (b - d / 2) * h_img
                box = [x1, y1, (a + c / 2) * w_img - x1, (b + d / 2) * h_img - y1]
            out.append((f.stem, p[0], score, box))
    return out


def _records_xml(folder: Path) -> tuple[list[tuple], dict[str, tuple[float, float]]]:
    out, sizes = [], {}
    for f in sorted(folder.glob("*.xml")):
        x = f.read_text()
        sizes[f.stem] = tuple(float(re.search(rf"<{k}>(.*?)</{k}>", x).group(1)) for k in ("width", "height"))
        for o in re.findall(r"<object>(.*?)</object>", x, re.DOTALL):
            name = re.search(r"<name>(.*?)</name>", o).group(1).strip()
            v = [float(re.search(rf"<{k}>(.*?)</{k}>", o).group(1)) for k in ("xmin", "ymin", "xmax", "ymax")]
            out.append((f.stem, name, None, [v[0], v[1], v[2] - v[0], v[3] - v[1]]))
    return out, sizes


def _coco(gts: list[tuple], dets: list[tuple]) -> tuple[dict, list[dict]]:
    """COCO dicts; image ids follow the sorted file names, so ties keep the reference's order."""
    stems = sorted({r[0] for r in gts} | {r[0] for r in dets})
    names = sorted({r[1] for r in gts} | {r[1] for r in dets})
    img = {s: i + 1 for i, s in enumerate(stems)}
    cat = {n: i + 1 for i, n in enumerate(names)}
    gt = {
        "images": [{"id": img[s], "file_name": s} for s in stems],
        "categories": [{"id": cat[n], "name": n} for n in names],
        "annotations": [
            {
                "id": i + 1,
                "image_id": img[s],
                "category_id": cat[c],
                "bbox": b,
                "area": b[2] * b[3],
                "iscrowd": 0,
            }
            for i, (s, c, _, b) in enumerate(gts)
        ],
    }
    dt = [{"image_id": img[s], "category_id": cat[c], "score": sc, "bbox": b} for s, c, sc, b in dets]
    return gt, dt


def _load(folder: Path, name: str) -> tuple[dict, list[dict]]:
    if name == "test_case_1_voc":
        d = folder / "tests/test_case_1"
        return _coco(_records_txt(d / "gts", "gt", "xywh"), _records_txt(d / "dets", "det", "xywh"))
    if name == "toyexample_voc_cat":
        gts, _ = _records_xml(folder / "toyexample/gts_vocpascal_format")
        return _coco(gts, _records_txt(folder / "toyexample/dets_classname_abs_xywh", "det", "xywh"))
    if name == "toyexample_voc_cat_rel_xcycwh_dets":
        gts, sizes = _records_xml(folder / "toyexample/gts_vocpascal_format")
        dets = _records_txt(folder / "toyexample/dets_classname_rel_xcycwh", "det", "rel_cxcywh", sizes)
        return _coco(gts, dets)
    if name == "sample_person_iou0.3":
        return _coco(
            _records_txt(folder / "groundtruths", "gt", "xywh"),
            _records_txt(folder / "detections", "det", "xywh"),
        )
    assert name == "sample_person_iou0.3_relative_coords", name
    return _coco(
        _records_txt(folder / "groundtruths_rel", "gt", "rel_cxcywh", (200, 200)),
        _records_txt(folder / "detections_rel", "det", "rel_cxcywh", (200, 200)),
    )


@pytest.mark.parametrize(("folder", "name", "case"), conformance_cases(voc=True))
def test_conformance_voc(folder: Path, name: str, case: dict) -> None:
    gt, dt = _load(folder, name)
    thresholds = case["iou_thresholds"]
    for pixel_inclusive, key in ((True, "pixel_inclusive_iou"), (False, "continuous_iou")):
        for method, field in (("allpoint", "ap_all_point"), ("11point", "ap_11_point")):
            r = evaluate(
                gt,
                dt,
                protocol="voc",
                iou_thresholds=thresholds,
                ap_method=method,
                pixel_inclusive=pixel_inclusive,
            )
            cls = next(c for c in r.voc.classes if c.name == case["class"])
            for t, thr in enumerate(thresholds):
                want = case["computed"][str(thr)][key]
                assert_allclose(cls.ap[t], want[field], atol=1e-9, rtol=0)
                assert (cls.tp[t], cls.fp[t]) == (want["tp"], want["fp"])
                if pixel_inclusive:
                    assert cls.npos == want["n_gt"]
                    assert_allclose(cls.precision[t], want["precision"], atol=1e-12, rtol=0)
                    assert_allclose(cls.recall[t], want["recall"], atol=1e-12, rtol=0)
                    published = (case.get("source_published") or {}).get(str(thr))
                    if published:  # the source prints these rounded: within its tolerance
                        assert abs(cls.ap[t] - published[field]) <= case["check"]["tolerance"]


def _one_image(
    gts: list[list[float]], dets: list[tuple[float, list[float]]], difficult: tuple[int, ...] = ()
) -> tuple[dict, list[dict]]:
    gt = {
        "images": [{"id": 1}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {
                "id": i + 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": b,
                "area": b[2] * b[3],
                "iscrowd": int(i in difficult),
            }
            for i, b in enumerate(gts)
        ],
    }
    return gt, [{"image_id": 1, "category_id": 1, "score": s, "bbox": b} for s, b in dets]


def test_pixel_inclusive_changes_iou_by_hand() -> None:
    # gt [0,0,10,10], det [5,0,10,10]: continuous IoU 50/150 = 1/3; pixel-inclusive 66/176 = 0.375
    gt, dt = _one_image([[0, 0, 10, 10]], [(0.9, [5, 0, 10, 10])])
    for pixel_inclusive, tp in ((False, 0), (True, 1)):
        r = evaluate(gt, dt, protocol="voc", iou_thresholds=[0.35], pixel_inclusive=pixel_inclusive)
        assert r.voc.classes[0].tp == (tp,)
        assert r.voc.mAP == (float(tp),)


def test_voc_duplicate_rule_differs_from_coco() -> None:
    # two GT; det A (0.9) overlaps g0 best; det B (0.8) overlaps g0 best (0.8) and g1 (0.6).
    # VOC: B looks only at g0, already taken -> FP. COCO: B takes the free g1 -> TP.
    gt, dt = _one_image([[0, 0, 10, 10], [3, 0, 10, 10]], [(0.9, [0, 0, 10, 10]), (0.8, [1, 0, 10, 10])])
    voc = evaluate(gt, dt, protocol="voc").voc.classes[0]
    assert (voc.tp, voc.fp) == ((1,), (1,))
    assert_allclose(voc.precision[0], [1.0, 0.5])
    assert_allclose(voc.recall[0], [0.5, 0.5])
    assert voc.ap == (0.5,)  # all-point: recall 0.5 at precision 1
    coco = evaluate(gt, dt, iou_thresholds=[0.5]).point
    assert coco.per_class[0].tp == 2


def test_difficult_is_neither_tp_nor_fn_by_hand() -> None:
    # g0 normal, g1 difficult (crowd flag). d0 on g1 (ignored), d1 on g0 (TP), d2 nowhere (FP)
    gt, dt = _one_image(
        [[0, 0, 10, 10], [50, 50, 10, 10]],
        [(0.9, [50, 50, 10, 10]), (0.8, [0, 0, 10, 10]), (0.7, [100, 100, 5, 5])],
        difficult=(1,),
    )
    r = evaluate(gt, dt, protocol="voc", ap_method="11point")
    c = r.voc.classes[0]
    assert (c.npos, c.tp, c.fp) == (1, (1,), (1,))
    assert_allclose(c.precision[0], [1.0, 0.5])
    assert_allclose(c.recall[0], [1.0, 1.0])
    assert c.ap == (1.0,)
    assert (r.point.per_class[0].tp, r.point.per_class[0].fp, r.point.per_class[0].fn) == (1, 1, 0)
    # a difficult object is matched with plain IoU, not COCO's crowd rule (inter / det area):
    # det [50,50,20,20] covers it, IoU 100/400 = 0.25 -> FP at 0.5 (crowd rule would give 1)
    gt, dt = _one_image([[50, 50, 10, 10]], [(0.9, [50, 50, 20, 20])], difficult=(0,))
    c = evaluate(gt, dt, protocol="voc").voc.classes[0]
    assert (c.npos, c.tp, c.fp) == (0, (0,), (1,))


def test_interpolated_ap_by_hand() -> None:
    precision = np.array([1.0, 0.5, 2 / 3, 0.5])
    recall = np.array([0.25, 0.25, 0.5, 0.5])
    # envelope [1, 2/3, 2/3, 0.5]; all-point = 0.25*1 + 0.25*2/3
    assert_allclose(interpolated_ap(precision, recall, "allpoint"), 0.25 + 0.25 * 2 / 3, atol=1e-15)
    # 11-point: recall >= 0, .1, .2 -> 1; .3, .4, .5 -> 2/3; above 0.5 -> 0
    assert_allclose(interpolated_ap(precision, recall, "11point"), (3 * 1 + 3 * 2 / 3) / 11, atol=1e-15)
    with pytest.raises(DetrecallError, match="ap_method"):
        interpolated_ap(precision, recall, "101point")


def test_bad_voc_arguments() -> None:
    gt, dt = _one_image([[0, 0, 10, 10]], [(0.9, [0, 0, 10, 10])])
    with pytest.raises(DetrecallError, match="ap_method"):
        evaluate(gt, dt, protocol="voc", ap_method="11")
    with pytest.raises(DetrecallError, match="pixel_inclusive"):
        evaluate(gt, dt, pixel_inclusive=True)
    with pytest.raises(DetrecallError, match="area ranges"):
        evaluate(gt, dt, protocol="voc", area_ranges={"all": (0, 1e10)})
    with pytest.raises(DetrecallError, match="protocol"):
        evaluate(gt, dt, protocol="pascal")


def test_voc_streaming_equals_one_pass() -> None:
    from detrecall import Evaluator
    from tests.oracle import random_coco

    for seed in range(5):
        gt, dt = random_coco(seed)
        whole = evaluate(gt, dt, protocol="voc", iou_thresholds=[0.5, 0.7], ap_method="11point")
        ev = Evaluator(protocol="voc", iou_thresholds=[0.5, 0.7], ap_method="11point")
        for part in (gt["images"][::2], gt["images"][1::2]):
            ids = {im["id"] for im in part}
            anns = [a for a in gt["annotations"] if a["image_id"] in ids]
            ev.update({**gt, "images": part, "annotations": anns}, [d for d in dt if d["image_id"] in ids])
        assert ev.compute().voc.to_dict() == whole.voc.to_dict()
    with pytest.raises(DetrecallError, match="lvis"):
        Evaluator(protocol="lvis")


def test_intervals_refuse_other_protocols() -> None:
    from detrecall import bootstrap, compare

    gt, dt = _one_image([[0, 0, 10, 10]], [(0.9, [0, 0, 10, 10])])
    r = evaluate(gt, dt, protocol="voc")
    with pytest.raises(DetrecallError, match="protocol='coco'"):
        bootstrap(r, n=10)
    with pytest.raises(DetrecallError, match="protocol 'coco' only"):
        compare(r.to_dict(), r.to_dict())
