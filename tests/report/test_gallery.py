"""Errors on images: the worst images drawn with ground truth and predictions (report/gallery.py),
in the HTML report (self-contained, rendered in headless Chromium) and as PNG files."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detrecall import DataWarning, DetrecallError, evaluate, read_detections, read_ground_truth
from detrecall.analysis.per_image import per_image
from detrecall.cli import main
from detrecall.evaluate import make_config, read_inputs
from detrecall.report import gallery as g
from detrecall.report.html import render_html

from ..browser import chromium, visit

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def write_images(gt_path: Path, folder: Path, skip: int = 0) -> list[str]:
    """One small image per ground-truth image, named by its file_name (all but the last `skip`);
    the names written."""
    folder.mkdir(parents=True, exist_ok=True)
    images = json.loads(gt_path.read_text())["images"]
    written = []
    for k, im in enumerate(images[: len(images) - skip]):
        a = np.full((im["height"], im["width"], 3), 40 + 5 * (k % 30), np.uint8)
        a[:, :, 2] += (np.arange(im["width"]) % 50).astype(np.uint8)[None, :]
        Image.fromarray(a).save(folder / im["file_name"])
        written.append(im["file_name"])
    return written


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    write_images(FIXTURES / "gt.json", folder)
    return folder


@pytest.fixture(scope="module")
def bbox():
    gt = read_ground_truth(FIXTURES / "gt.json")
    dt = read_detections(FIXTURES / "dt_bbox.json", gt)
    return gt, dt, evaluate(gt, dt, errors=True, per_image=True)


@pytest.mark.parametrize("score_threshold", [0.0, 0.5])
def test_what_is_drawn_adds_up_to_the_per_image_counts(score_threshold):
    gt = read_ground_truth(FIXTURES / "gt.json")
    dt = read_detections(FIXTURES / "dt_bbox.json", gt)
    result = evaluate(gt, dt, score_threshold=score_threshold)
    table = per_image(result)
    for image_id, tp, fp, fn in zip(table.image_id, table.tp, table.fp, table.fn):
        drawn = [o.status for o in g.image_outlines(result, gt, dt, int(image_id))]
        assert (drawn.count(g.TP), drawn.count(g.FP), drawn.count(g.FN)) == (tp, fp, fn)


def test_worst_images_are_those_with_most_errors(bbox):
    gt, dt, result = bbox
    ids = g.worst_images(result, 5)
    errors = dict(zip(result.per_image.image_id.tolist(), result.per_image.errors.tolist()))
    assert [errors[i] for i in ids.tolist()] == sorted(errors.values(), reverse=True)[:5]
    assert all(v > 0 for v in (errors[i] for i in g.worst_images(result, 1000).tolist()))


def _drawn_case(tmp_path: Path, iou_type: str = "bbox"):
    """One 400x300 image: ground truth A (found) and B (missed), a true positive on A and a
    false positive on nothing."""
    a, b = [20, 40, 60, 60], [250, 180, 80, 80]

    def square(box):
        x, y, w, h = box
        return [[x, y, x + w, y, x + w, y + h, x, y + h]]

    gt = {
        "images": [{"id": 1, "file_name": "one.png", "width": 400, "height": 300}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": a, "area": 3600, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": b, "area": 6400, "iscrowd": 0},
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": a, "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [150, 60, 50, 50], "score": 0.8},
    ]
    if iou_type in ("segm", "polygon"):
        for ann in gt["annotations"]:
            ann["segmentation"] = square(ann["bbox"])
        for d in dt:
            d["segmentation"] = square(d["bbox"])
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    folder = tmp_path / "img"
    folder.mkdir()
    Image.new("RGB", (400, 300), (128, 128, 128)).save(folder / "one.png")
    gt_set, dt_set = read_inputs(tmp_path / "gt.json", tmp_path / "dt.json", make_config(iou_type))
    return gt_set, dt_set, evaluate(gt_set, dt_set, iou_type), folder


def _is(pixel: np.ndarray, status: str) -> bool:
    return tuple(int(v) for v in pixel) == g.COLORS[status]


@pytest.mark.parametrize("iou_type", ["bbox", "polygon"])
def test_colours_on_a_hand_drawn_case(tmp_path, iou_type):
    gt, dt, result, folder = _drawn_case(tmp_path, iou_type)
    assert (gt.shapes is not None) == (iou_type == "polygon")
    (picture,) = g.gallery(result, gt, dt, folder, 5, image_format="png").pictures
    assert (picture.tp, picture.fp, picture.fn, picture.found) == (1, 1, 1, True)
    assert (picture.width, picture.height) == (400, 300)
    px = decode(picture.data)
    assert px.shape == (300, 400, 3)
    assert _is(px[70, 20], g.TP)  # A's left edge: the true positive over the ground truth it found
    assert _is(px[110, 175], g.FP)  # the false positive's bottom edge
    left = [_is(px[y, 250], g.FN) for y in range(184, 258)]  # B's left edge, dashed
    assert any(left) and not all(left)
    assert tuple(px[150, 100]) == (128, 128, 128)  # untouched
    assert not _is(px[120, 300], g.FN)  # inside B: an outline only


def test_masks_are_outlined(tmp_path):
    gt, dt, result, folder = _drawn_case(tmp_path, "segm")
    (picture,) = g.gallery(result, gt, dt, folder, image_format="png").pictures
    assert (picture.tp, picture.fp, picture.fn) == (1, 1, 1)
    px = decode(picture.data).astype(int)
    assert _is(px[70, 20], g.TP) and _is(px[70, 21], g.TP)  # the mask's edge, 2 pixels wide
    inside = px[70, 50]  # a light fill of the TP's colour over the grey
    assert not _is(inside, g.TP) and inside[1] > inside[0] and abs(int(inside[1]) - 128) < 60
    assert _is(px[220, 250], g.FN)  # a missed mask: its outline in the FN colour
    assert tuple(px[150, 10]) == (128, 128, 128)


def test_missing_files_give_one_warning(tmp_path, bbox):
    gt, dt, result = bbox
    folder = tmp_path / "some"
    names = write_images(FIXTURES / "gt.json", folder)
    for name in names[::2]:
        (folder / name).unlink()
    with pytest.warns(DataWarning) as caught:
        drawn = g.gallery(result, gt, dt, folder, 12)
    assert len(caught) == 1
    missing = [p for p in drawn.pictures if not p.found]
    message = str(caught[0].message)
    assert f"{len(missing)} of 12 image files not found" in message and str(folder) in message
    assert missing and all(p.file_name in names[::2] for p in missing)
    assert all(decode(p.data).shape[:2] == (p.height, p.width) for p in drawn.pictures)
    with pytest.raises(DetrecallError, match="no such folder"):
        g.gallery(result, gt, dt, tmp_path / "nowhere")


def test_inputs_other_than_the_evaluated_ones_are_refused(bbox):
    gt, dt, result = bbox
    other = read_detections(json.loads((FIXTURES / "dt_bbox.json").read_text())[5:], gt)
    with pytest.raises(DetrecallError, match="not the ones the result evaluated"):
        g.image_outlines(result, gt, other, 1000)


def test_png_files_have_a_header_and_are_deterministic(tmp_path, bbox, images):
    gt, dt, result = bbox
    first = g.write_gallery(result, gt, dt, images, tmp_path / "a", 3)
    again = g.write_gallery(result, gt, dt, images, tmp_path / "b", 3)
    assert [p.name for p in first] == [
        f"worst_{k}_image_{i}.png" for k, i in enumerate(g.worst_images(result, 3), 1)
    ]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    plain = g.gallery(result, gt, dt, images, 1).pictures[0]
    with Image.open(first[0]) as img:
        assert img.height > plain.height  # the band with the caption and the legend


@pytest.fixture(scope="module")
def report_html(bbox, images) -> str:
    gt, dt, result = bbox
    return render_html(result, gallery=g.gallery(result, gt, dt, images, 4))


def test_report_embeds_the_gallery(report_html, bbox):
    result = bbox[2]
    assert report_html.count('<figure><img alt="image ') == 4
    found = re.findall(
        r'src="data:image/jpeg;base64,([^"]+)" width="(\d+)" height="(\d+)" data-image-id="(\d+)"',
        report_html,
    )
    assert [int(i) for *_, i in found] == g.worst_images(result, 4).tolist()
    for data, w, h, _ in found:
        assert base64.b64decode(data)[:3] == b"\xff\xd8\xff"  # JPEG: a photo's thumbnail in ~50 kB
        assert decode(base64.b64decode(data)).shape[:2] == (int(h), int(w))
    assert "IoU ≥ 0.5, score ≥ 0" in report_html and 'id="gallery"' in report_html
    assert not re.search(r'(src|href)="(?!data:)', report_html)  # nothing fetched


def test_dap_plot_sits_in_the_errors_section(bbox):
    from detrecall.report.plots import errors_figure, pr_figure

    result = bbox[2]
    page = render_html(result, figures={"pr_curves": pr_figure(result), "errors_dap": errors_figure(result)})
    errors, per_class, plots = (
        page.index(t) for t in ("<h2>Errors (TIDE", "<h2>Errors per class", 'id="plots"')
    )
    dap = page.index('alt="errors_dap"')
    assert errors < dap < per_class < plots and page.count('alt="errors_dap"') == 1
    assert page.index('alt="pr_curves"') > plots


def test_cli_report_and_plot_with_images(tmp_path, images, capsys):
    gt, dt = FIXTURES / "gt.json", FIXTURES / "dt_bbox.json"
    out = tmp_path / "report.html"
    assert (
        main(
            ["report", str(gt), str(dt), "--images", str(images), "--gallery", "3", "-o", str(out), "--quiet"]
        )
        == 0
    )
    page = out.read_text()
    assert page.count('data-image-id="') == 3
    assert (
        main(["plot", str(gt), str(dt), "--images", str(images), "--gallery", "2", "-o", str(tmp_path / "p")])
        == 0
    )
    written = capsys.readouterr().out.split()
    assert [Path(p).name for p in written if "/gallery/" in p] == [
        p.name for p in sorted((tmp_path / "p" / "gallery").iterdir())
    ]
    assert len(list((tmp_path / "p" / "gallery").iterdir())) == 2
    some = tmp_path / "some"
    some.mkdir()  # every file missing
    assert main(["report", str(gt), str(dt), "--images", str(some), "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and re.fullmatch(
        rf"detrecall: warning: gallery: 12 of 12 image files not found or not readable in "
        rf"{re.escape(str(some))}: .*",
        err[0],
    )
    assert main(["report", str(gt), str(dt), "--images", str(tmp_path / "none"), "-o", str(out)]) == 2
    assert "no such folder (--images)" in capsys.readouterr().err


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_gallery_renders_in_headless_chromium(tmp_path, report_html):
    page = tmp_path / "report.html"
    page.write_text(report_html, encoding="utf-8")
    probe = "document.readyState === 'complete' && document.body.dataset.sortable === 'ready' ? '1' : ''"
    shown = (
        "JSON.stringify(Array.from(document.querySelectorAll('#gallery ~ .gallery img')).map("
        "i => [i.naturalWidth, i.naturalHeight, i.complete, i.getBoundingClientRect().width]))"
    )
    seen = visit(page.as_uri(), tmp_path / "profile", probe=probe, expression=shown, full_page=True)
    assert seen.state == "ready", seen
    assert seen.errors == []
    drawn = json.loads(seen.value)
    assert len(drawn) == 4
    assert all(w > 0 and h > 0 and complete and shown_width > 100 for w, h, complete, shown_width in drawn)
    assert "Worst images (4, most errors first)" in seen.text
    assert {url.split(":", 1)[0] for url in seen.requests} <= {"file", "data"}
    assert seen.requests and seen.requests[0] == page.as_uri()
    if target := os.environ.get("DETRECALL_GALLERY_SCREENSHOT"):
        Path(target).write_bytes(seen.png)


def test_false_positives_name_their_tide_error(bbox):
    gt, dt, result = bbox
    e = result.errors
    kind_of = {
        int(r): ("cls", "loc", "both", "dupe", "bkg", "miss")[k]
        for r, k in zip(e.error_det_row, e.error_kind)
    }
    named = 0
    for image_id in g.worst_images(result, 5).tolist():
        for o in g.image_outlines(result, gt, dt, image_id):
            if o.status == g.FP:
                rows = np.flatnonzero((dt.image_id == image_id) & np.all(dt.box == o.box, axis=1))
                assert any(o.label.endswith(" " + kind_of[r]) for r in rows.tolist() if r in kind_of)
                named += 1
    assert named > 10
    plain = evaluate(gt, dt)
    labels = [o.label for o in g.image_outlines(plain, gt, dt, 1217) if o.status == g.FP]
    assert labels and all(label.rsplit(" ", 1)[-1][0].isdigit() for label in labels)  # ends with the score


def test_cli_says_lvis_evaluations_are_not_drawn(tmp_path, images, capsys):
    gt = json.loads((FIXTURES / "gt.json").read_text())
    lvis = {
        **gt,
        "images": [{**im, "neg_category_ids": [], "not_exhaustive_category_ids": []} for im in gt["images"]],
        "categories": [{**c, "frequency": "f"} for c in gt["categories"]],
        "annotations": [a for a in gt["annotations"] if not a.get("iscrowd")],
    }
    (tmp_path / "lvis.json").write_text(json.dumps(lvis))
    args = ["report", str(tmp_path / "lvis.json"), str(FIXTURES / "dt_bbox.json"), "--protocol", "lvis"]
    assert main([*args, "-o", str(tmp_path / "r.html"), "--quiet"]) == 0  # without --images: fine
    capsys.readouterr()
    assert main([*args, "--images", str(images), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("detrecall: error: --images: protocol='lvis' needs") and "Traceback" not in err
