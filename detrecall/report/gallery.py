"""Errors drawn on images: the worst images of an evaluation with their ground truth and detections.

The images are those with the most errors (false positives + false negatives) at the operating
point (`result.per_image`, computed when the result has none), images without errors left
out. Drawn at the operating point: its IoU and score threshold decide what is a true positive,
detections below the score threshold are not drawn.

- true positive: a green outline, labelled with its class and score;
- false positive: a vermillion outline, labelled with class, score and, when the result has
  TIDE's errors, the error type (cls, loc, both, dupe, bkg);
- false negative (ground truth no counted detection found): a yellow dashed outline,
  labelled with its class and "missed";
- ground truth a detection found: a thin sky-blue outline; ignored ground truth (crowd, ignore
  flag) and ignored detections (on a crowd): thin grey.

Boxes are drawn as rectangles, masks (segm) as their outline over a light fill, polygons and
rotated boxes as their outline. Colours are the Okabe-Ito palette (told apart with most colour
vision deficiencies); false-negative boxes are also dashed. Images are read from a folder by the
ground truth's `file_name`, scaled to at most `max_side` pixels, and drawn with Pillow (a
dependency of matplotlib). A missing or unreadable file is drawn on a grey canvas of the
image's size, and one warning names how many and which folder.
"""

from __future__ import annotations

import base64
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataWarning, DetrecallError
from ..matching import detection_status
from ..types import Dataset, Detections, Status

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageFont

    from ..result import EvaluationResult

DEFAULT_COUNT = 12
MAX_SIDE = 640
TP, FP, FN, FOUND, IGNORED = "tp", "fp", "fn", "found", "ignored"
COLORS = {  # Okabe-Ito
    TP: (0, 158, 115),
    FP: (213, 94, 0),
    FN: (240, 228, 66),
    FOUND: (86, 180, 233),
    IGNORED: (170, 170, 170),
}
LEGEND = (
    (TP, "true positive"),
    (FP, "false positive"),
    (FN, "false negative (missed)"),
    (FOUND, "ground truth found"),
    (IGNORED, "ignored"),
)
WIDTHS = {TP: 2, FP: 2, FN: 2, FOUND: 1, IGNORED: 1}
CANVAS = (96, 96, 96)
FONT_SIZE = 12


@dataclass(frozen=True)
class Outline:
    """One object to draw: its box (xywh, image pixels), its mask (RLE) or shape when the
    evaluation had them, its status (TP, FP, FN, FOUND, IGNORED) and its label ("" for none)."""

    box: np.ndarray
    status: str
    label: str
    mask: dict[str, Any] | None = None
    shape: Any = None


@dataclass(frozen=True)
class Picture:
    """One drawn image of the gallery: its rank (1 = most errors), counts at the operating point,
    whether its file was read, and the drawn image encoded (`data`, as `image_format`)."""

    rank: int
    image_id: int
    file_name: str
    tp: int
    fp: int
    fn: int
    found: bool
    data: bytes
    width: int
    height: int
    image_format: str = "png"  # "png" or "jpeg"

    @property
    def caption(self) -> str:
        missing = "" if self.found else ", file not found"
        return (
            f"#{self.rank} image {self.image_id} ({self.file_name or 'no file name'}): "
            f"{self.tp} TP, {self.fp} FP, {self.fn} FN{missing}"
        )

    def data_uri(self) -> str:
        return f"data:image/{self.image_format};base64," + base64.b64encode(self.data).decode("ascii")


@dataclass(frozen=True)
class Gallery:
    """The drawn images, worst first, and the operating point they were drawn at."""

    pictures: tuple[Picture, ...]
    iou_threshold: float
    score_threshold: float
    folder: str

    @property
    def point_text(self) -> str:
        return _point_text(self.iou_threshold, self.score_threshold)


def _point_text(iou_threshold: float, score_threshold: float) -> str:
    return f"IoU ≥ {iou_threshold:g}, score ≥ {score_threshold:g}"


def worst_images(result: EvaluationResult, n: int = DEFAULT_COUNT) -> np.ndarray:
    """Ids of the (at most) n images with the most errors (FP + FN) at the operating point, most
    first, ties by image id; images without errors left out."""
    table = result.per_image
    if table is None:
        from ..analysis.per_image import per_image

        table = per_image(result)
    worst = table.worst(n)
    ids: np.ndarray = worst.image_id[worst.errors > 0]
    return ids


@dataclass(frozen=True)
class _Status:
    """What every evaluated detection and ground truth is at the operating point."""

    det_row: np.ndarray  # (D,) rows of the Detections drawn (score >= threshold)
    det_status: np.ndarray  # (D,) TP / FP / IGNORED
    gt_row: np.ndarray  # (G,) rows of the Dataset evaluated
    gt_status: np.ndarray  # (G,) object: FN / FOUND / IGNORED


def _statuses(result: EvaluationResult, gt: Dataset, dt: Detections) -> _Status:
    m = result.point_matches
    if m is None:
        raise DetrecallError("this result has no matches at the operating point (point_matches)")
    ok = (
        (not len(m.det_row) or int(m.det_row.max()) < len(dt))
        and (not len(m.gt_row) or int(m.gt_row.max()) < len(gt))
        and np.array_equal(dt.image_id[m.det_row], m.det_image)
        and np.array_equal(dt.score[m.det_row], m.det_score)
        and np.array_equal(gt.image_id[m.gt_row], m.gt_image)
    )
    if not ok:
        raise DetrecallError(
            "the ground truth and detections given are not the ones the result evaluated "
            "(pass the Dataset and Detections that evaluate() was given)"
        )
    shown = m.det_score >= result.point.score_threshold
    status = detection_status(m)
    hit = (m.hit_area == 0) & (m.hit_thr == 0) & ~m.hit_ignored & shown[m.hit_det]
    found = np.isin(m.gt_row, m.hit_gt[hit])
    counted = ~m.gt_ignored[0]
    gt_status = np.select([~counted, found], [IGNORED, FOUND], default=FN).astype(object)
    return _Status(m.det_row[shown], status[shown], m.gt_row, gt_status)


def _class_name(categories: Any, category_id: int) -> str:
    try:
        return str(categories.name_of(category_id))
    except (KeyError, IndexError, ValueError):
        return str(category_id)


def image_outlines(
    result: EvaluationResult, gt: Dataset, dt: Detections, image_id: int, status: _Status | None = None
) -> list[Outline]:
    """What is drawn on one image: its evaluated ground truth, then its detections at or above
    the score threshold, in drawing order (found, ignored, missed, FP, TP)."""
    status = _statuses(result, gt, dt) if status is None else status
    out: list[Outline] = []
    g = np.flatnonzero(gt.image_id[status.gt_row] == image_id)
    for row, what in zip(status.gt_row[g].tolist(), status.gt_status[g].tolist()):
        name = _class_name(gt.categories, int(gt.category_id[row]))
        label = f"{name} missed" if what == FN else ("crowd" if gt.iscrowd[row] and what == IGNORED else "")
        out.append(_outline(gt, row, what, label))
    d = np.flatnonzero(dt.image_id[status.det_row] == image_id)
    kinds = _error_kinds(result, status.det_row[d])
    for row, code in zip(status.det_row[d].tolist(), status.det_status[d].tolist()):
        what = {Status.TP: TP, Status.FP: FP}.get(Status(code), IGNORED)
        label = ""
        if what != IGNORED:
            label = f"{_class_name(gt.categories, int(dt.category_id[row]))} {float(dt.score[row]):.2f}"
            if what == FP and row in kinds:
                label += f" {kinds[row]}"
        out.append(_outline(dt, row, what, label))
    order = {FOUND: 0, IGNORED: 1, FN: 2, FP: 3, TP: 4}
    return sorted(out, key=lambda o: order[o.status])


def _outline(data: Dataset | Detections, row: int, what: str, label: str) -> Outline:
    return Outline(
        box=np.asarray(data.box[row], np.float64),
        status=what,
        label=label,
        mask=data.masks[row] if data.masks is not None else None,
        shape=data.shapes[row] if data.shapes is not None else None,
    )


def _error_kinds(result: EvaluationResult, rows: np.ndarray) -> dict[int, str]:
    """Detection row -> TIDE error type of those false positives among `rows`, when the result
    has errors."""
    errors = result.errors
    if errors is None:
        return {}
    from ..analysis.errors import KINDS

    keep = np.isin(errors.error_det_row, rows)
    return {int(r): KINDS[int(k)].key for r, k in zip(errors.error_det_row[keep], errors.error_kind[keep])}


def _font(size: int = FONT_SIZE) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (shipped with matplotlib, found without importing it), else Pillow's own."""
    from importlib.util import find_spec

    from PIL import ImageFont

    spec = find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        try:
            return ImageFont.truetype(
                str(Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"), size
            )
        except OSError:
            continue
    return ImageFont.load_default()


def _base_size(gt: Dataset, image_id: int, outlines: Sequence[Outline]) -> tuple[int, int]:
    """The image's (width, height) from the ground truth, else what its objects span, else 640x480."""
    images = gt.images
    at = np.flatnonzero(images.ids == image_id)
    if len(at) and images.width[at[0]] > 0 and images.height[at[0]] > 0:
        return int(images.width[at[0]]), int(images.height[at[0]])
    if outlines:
        boxes = np.stack([o.box for o in outlines])
        return max(int(math.ceil((boxes[:, 0] + boxes[:, 2]).max())), 1), max(
            int(math.ceil((boxes[:, 1] + boxes[:, 3]).max())), 1
        )
    return 640, 480


def _file_name(gt: Dataset, image_id: int) -> str:
    names = gt.images.file_names
    if names is None:
        return ""
    at = np.flatnonzero(gt.images.ids == image_id)
    return names[at[0]] if len(at) else ""


def load_image(path: Path, size: tuple[int, int]) -> PILImage.Image | None:
    """The image at `path` as RGB scaled to `size`, or None when it is missing or unreadable."""
    from PIL import Image

    if not path.is_file():
        return None
    try:
        with Image.open(path) as img:
            img.draft("RGB", size)  # JPEG: decode at a reduced scale (fast for large files)
            return img.convert("RGB").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _mask_layer(outlines: Sequence[Outline], size: tuple[int, int]) -> np.ndarray | None:
    """(H, W, 4) uint8 RGBA: each mask's outline (2 px) in its colour over a light fill."""
    masked = [o for o in outlines if o.mask is not None]
    if not masked:
        return None
    from PIL import Image
    from pycocotools import mask as mask_utils

    layer = np.zeros((size[1], size[0], 4), np.uint8)
    for o in masked:
        assert o.mask is not None
        with warnings.catch_warnings():  # pycocotools' decode under numpy 2: a copy= deprecation
            warnings.simplefilter("ignore", DeprecationWarning)
            full = mask_utils.decode(_bytes_rle(o.mask)).astype(np.uint8) * 255
        m = np.asarray(Image.fromarray(full).resize(size, Image.Resampling.NEAREST)) > 0
        edge = m & ~_erode(m)
        edge = _dilate(edge) & m if WIDTHS[o.status] > 1 else edge
        color = np.array(COLORS[o.status], np.uint8)
        fill = m & (layer[..., 3] < 60)
        layer[fill] = np.r_[color, 56]
        layer[edge] = np.r_[color, 255]
    return layer


def _bytes_rle(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    return {
        "size": list(rle["size"]),
        "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
    }


def _erode(m: np.ndarray) -> np.ndarray:
    """4-neighbour erosion; the image border counts as outside."""
    p = np.pad(m, 1)
    out: np.ndarray = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return out


def _dilate(m: np.ndarray) -> np.ndarray:
    p = np.pad(m, 1)
    out: np.ndarray = p[1:-1, 1:-1] | p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
    return out


def _dashed_polygon(
    draw: ImageDraw.ImageDraw, points: np.ndarray, color: tuple[int, ...], width: int, dash: float = 6.0
) -> None:
    """A closed polyline of dashes `dash` pixels long with gaps as long."""
    closed = np.vstack([points, points[:1]])
    for a, b in zip(closed[:-1], closed[1:]):
        length = float(np.hypot(*(b - a)))
        starts = np.arange(0.0, length, 2 * dash)
        ends = np.minimum(starts + dash, length)
        t0, t1 = starts / max(length, 1e-9), ends / max(length, 1e-9)
        for p, q in zip(a + np.outer(t0, b - a), a + np.outer(t1, b - a)):
            draw.line([tuple(p), tuple(q)], fill=color, width=width)


def _shape_points(shape: Any, scale: float) -> list[np.ndarray]:
    """Exterior rings of a shapely (Multi)Polygon, scaled."""
    geoms = getattr(shape, "geoms", [shape])
    return [np.asarray(g.exterior.coords, np.float64)[:-1] * scale for g in geoms if hasattr(g, "exterior")]


def draw_outlines(
    img: PILImage.Image, outlines: Sequence[Outline], scale: float, font: Any
) -> PILImage.Image:
    """`img` (already scaled by `scale` from image pixels) with the outlines and labels drawn."""
    from PIL import Image, ImageDraw

    layer = _mask_layer(outlines, img.size)
    out = img.convert("RGBA")
    if layer is not None:
        out = Image.alpha_composite(out, Image.fromarray(layer, "RGBA"))
    draw = ImageDraw.Draw(out)
    for o in outlines:
        color, width = COLORS[o.status], WIDTHS[o.status]
        if o.mask is not None:
            continue  # drawn in the mask layer
        rings = _shape_points(o.shape, scale) if o.shape is not None else [_box_points(o.box, scale)]
        for ring in rings:
            if o.status == FN:
                _dashed_polygon(draw, ring, color, width)
            else:
                draw.polygon([tuple(p) for p in ring], outline=color, width=width)
    on_top = {FP: 0, IGNORED: 1, FOUND: 1, FN: 2, TP: 3}  # labels: the false positives' below
    for o in sorted(outlines, key=lambda o: on_top[o.status]):
        if o.label:
            _label(draw, o, scale, font, out.size)
    return out.convert("RGB")


def _box_points(box: np.ndarray, scale: float) -> np.ndarray:
    x, y, w, h = (box * scale).tolist()
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])


def _label(draw: ImageDraw.ImageDraw, o: Outline, scale: float, font: Any, size: tuple[int, int]) -> None:
    """The label on its colour, above the object's top-left corner (inside when no room)."""
    left, top, right, bottom = draw.textbbox((0, 0), o.label, font=font)
    w, h = right - left + 4, bottom - top + 2
    x = min(max(float(o.box[0]) * scale, 0.0), max(size[0] - w, 0))
    y = float(o.box[1]) * scale - h
    y = y if y >= 0 else max(float(o.box[1]) * scale, 0.0)
    draw.rectangle([x, y, x + w, y + h], fill=COLORS[o.status])
    draw.text((x + 2 - left, y + 1 - top), o.label, fill=(0, 0, 0), font=font)


def _header(img: PILImage.Image, lines: Sequence[str], font: Any) -> PILImage.Image:
    """`img` below a white band with `lines` of text and the colour legend."""
    from PIL import Image, ImageDraw

    measure = ImageDraw.Draw(img)
    steps = [22 + int(measure.textlength(text, font=font)) for _, text in LEGEND]
    rows = [list(range(len(LEGEND)))]
    if 6 + sum(steps) > img.width:  # two rows of the legend
        half = (len(LEGEND) + 1) // 2
        rows = [list(range(half)), list(range(half, len(LEGEND)))]
    line_h = FONT_SIZE + 6
    texts = [12 + int(measure.textlength(text, font=font)) for text in lines]
    width = max(img.width, *texts, *(6 + sum(steps[i] for i in row) for row in rows))
    out = Image.new("RGB", (width, img.height + line_h * (len(lines) + len(rows)) + 6), (255, 255, 255))
    out.paste(img, (0, out.height - img.height))
    draw = ImageDraw.Draw(out)
    for i, text in enumerate(lines):
        draw.text((6, 4 + i * line_h), text, fill=(31, 35, 40), font=font)
    for r, row in enumerate(rows):
        x, y = 6, 4 + (len(lines) + r) * line_h
        for i in row:
            status, text = LEGEND[i]
            draw.rectangle([x, y + 2, x + 12, y + 12], outline=COLORS[status], width=3)
            draw.text((x + 16, y), text, fill=(31, 35, 40), font=font)
            x += steps[i]
    return out


IMAGE_FORMATS = ("png", "jpeg")


def encode(img: PILImage.Image, image_format: str) -> bytes:
    """PNG (lossless), or JPEG at quality 90 without chroma subsampling (thin coloured lines stay
    sharp; photographs take much less room than as PNG)."""
    buffer = io.BytesIO()
    if image_format == "jpeg":
        img.save(buffer, format="JPEG", quality=90, subsampling=0)
    else:
        img.save(buffer, format="PNG")
    return buffer.getvalue()


def gallery(
    result: EvaluationResult,
    gt: Dataset,
    dt: Detections,
    images: str | Path,
    n: int = DEFAULT_COUNT,
    *,
    max_side: int = MAX_SIDE,
    header: bool = False,
    image_format: str = "jpeg",
) -> Gallery:
    """The n worst images of `result` drawn (module docstring). `gt`, `dt`: the Dataset and
    Detections the result evaluated (COCO and VOC protocols: what `evaluate` was given or read);
    `images`: the folder holding each image as its `file_name`. `header`: a band above each
    image with its rank, counts, the operating point and the colour legend (for PNG files).
    `image_format`: "jpeg" (the default: small enough to embed a dozen photos in a report) or
    "png" (lossless)."""
    if n < 0:
        raise DetrecallError(f"the gallery's number of images must be >= 0, got {n}")
    if image_format not in IMAGE_FORMATS:
        raise DetrecallError(f"image_format must be one of {', '.join(IMAGE_FORMATS)}, got {image_format!r}")
    folder = Path(images)
    if not folder.is_dir():
        raise DetrecallError(f"{folder}: no such folder (the images of the gallery)")
    status = _statuses(result, gt, dt)
    point = result.point
    point_text = _point_text(point.iou_threshold, point.score_threshold)
    font = _font()
    pictures, missing = [], []
    for rank, image_id in enumerate(worst_images(result, n).tolist(), start=1):
        outlines = image_outlines(result, gt, dt, image_id, status)
        base = _base_size(gt, image_id, outlines)
        scale = min(1.0, max_side / max(base))
        size = (max(round(base[0] * scale), 1), max(round(base[1] * scale), 1))
        name = _file_name(gt, image_id)
        img = load_image(folder / name, size) if name else None
        found = img is not None
        if img is None:
            missing.append(name or f"(image {image_id}: no file name)")
            img = _blank(size, font)
        tp, fp, fn = (sum(o.status == s for o in outlines) for s in (TP, FP, FN))
        drawn = draw_outlines(img, outlines, scale, font)
        if header:
            caption = Picture(rank, image_id, name, tp, fp, fn, found, b"", *size).caption
            drawn = _header(drawn, [caption, f"drawn at the operating point: {point_text}"], font)
        data = encode(drawn, image_format)
        pictures.append(Picture(rank, image_id, name, tp, fp, fn, found, data, *drawn.size, image_format))
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        warnings.warn(
            f"gallery: {len(missing)} of {len(pictures)} image files not found or not readable in "
            f"{folder}: {shown}; drawn on a grey canvas",
            DataWarning,
            stacklevel=2,
        )
    return Gallery(tuple(pictures), point.iou_threshold, point.score_threshold, str(folder))


def _blank(size: tuple[int, int], font: Any) -> PILImage.Image:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, CANVAS)
    ImageDraw.Draw(img).text((8, 8), "image file not found", fill=(230, 230, 230), font=font)
    return img


def write_gallery(
    result: EvaluationResult,
    gt: Dataset,
    dt: Detections,
    images: str | Path,
    directory: str | Path,
    n: int = DEFAULT_COUNT,
    *,
    max_side: int = MAX_SIDE,
) -> list[Path]:
    """The gallery as PNG files DIR/worst_<rank>_image_<id>.png, each with its header band (the
    folder is created); the paths written."""
    drawn = gallery(result, gt, dt, images, n, max_side=max_side, header=True, image_format="png")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    width = len(str(len(drawn.pictures)))
    paths = []
    for p in drawn.pictures:
        path = directory / f"worst_{p.rank:0{width}d}_image_{p.image_id}.png"
        path.write_bytes(p.data)
        paths.append(path)
    return paths
