"""YOLO label folders: one `<image stem>.txt` per image, one object per line.

Ground truth rows are `class cx cy w h`, predictions `class cx cy w h score` (ultralytics'
`save_txt` + `save_conf`), box values relative to the image's width and height. So reading
needs every image's size: from the image files (`images=`: a folder, sizes read from their
headers), a sizes file (`sizes=`), or, when neither is given, `sizes.csv` in the label folder
or the `images/` folder beside a `labels/` folder (ultralytics' layout). An image with a size
but no label file has no objects. Class numbers are category ids; their names come from
`names=` (a data.yaml `names:` list/mapping, or one name per line), else `data.yaml` or
`classes.txt` in the folder (or a `data.yaml` at the Ultralytics dataset root, `ds/data.yaml`
for `ds/labels/val`), else they are named by number; a names file's `category_ids:` (which the
writers write when the ids are not 0..K-1) gives the category id of each class number. A
prediction's class number is a ground-truth category id, unless a names file (`names=`, or one
in the folder) names it: then it is the ground-truth category of that name, or, when the file
numbers the ground truth's own categories as `write_ground_truth` / `write_detections` do, that
category itself.

Boxes become COCO [x, y, w, h] in pixels: x = (cx - w/2) * width, y = (cy - h/2) * height,
w * width, h * height; area = w*h in pixels. Writing is the inverse, with every digit of the
float kept, so a round trip changes boxes by float rounding only (~1e-13 px).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..types import Dataset, Detections, Images
from ._common import (
    ClassNames,
    ImageIndex,
    assign_image_ids,
    build_dataset,
    check_box_values,
    class_numbers,
    dt_classes,
    finish_predictions,
    folder_files,
    gt_classes,
    image_stems,
    make_images,
    read_names_file,
    write_names_file,
)
from ._images import Sizes, read_sizes, sizes_from_folder
from ._lines import Rows, read_rows
from ._problems import ONLY_GT_IMAGES, Problems, warn_data, warn_left_out, warn_suspicious

NAMES_FILES = ("data.yaml", "data.yml", "classes.txt")
SIZES_FILE = "sizes.csv"
_GT_ROW = "class cx cy w h (YOLO segment rows with polygons are not read)"
_DT_ROW = "class cx cy w h score"


def _label_files(folder: Path) -> list[Path]:
    return [p for p in folder_files(folder, ".txt", "YOLO label files") if p.name not in NAMES_FILES]


def _names(folder: Path, names: str | Path | Mapping[int, str] | None) -> ClassNames | None:
    if isinstance(names, Mapping):
        return ClassNames({int(k): str(v) for k, v in names.items()})
    if names is not None:
        return read_names_file(Path(names))
    for candidate in names_candidates(folder):
        return read_names_file(candidate)
    return None


def names_candidates(folder: Path) -> list[Path]:
    """The names files found for a label folder: its own (data.yaml, data.yml, classes.txt),
    else a data.yaml at an Ultralytics dataset root, one or two folders up from a folder within
    `labels/` (`ds/data.yaml` for `ds/labels/val`, Roboflow's `ds/data.yaml` for `ds/valid/labels`)."""
    own = [folder / c for c in NAMES_FILES if (folder / c).is_file()]
    if own:
        return own[:1]
    parts = folder.resolve().parts
    if "labels" not in parts[-2:]:
        return []
    ups = [folder.resolve().parent, folder.resolve().parent.parent]
    return [up / c for up in ups for c in NAMES_FILES[:2] if (up / c).is_file()][:1]


def _sizes(folder: Path, images: str | Path | None, sizes: str | Path | None) -> Sizes:
    if images is not None:
        return sizes_from_folder(Path(images))
    if sizes is not None:
        return read_sizes(Path(sizes))
    if (folder / SIZES_FILE).is_file():
        return read_sizes(folder / SIZES_FILE)
    parts = folder.resolve().parts
    if "labels" in parts:  # ultralytics: .../images/val/x.jpg <-> .../labels/val/x.txt
        i = len(parts) - 1 - parts[::-1].index("labels")
        beside = Path(*parts[:i], "images", *parts[i + 1 :])
        if beside.is_dir():
            return sizes_from_folder(beside)
    raise InputError(
        "YOLO boxes are relative to the image size: give the images folder "
        "(--images) or a sizes file (--sizes)",
        source=str(folder),
    )


def _boxes(rows: Rows, problems: Problems, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Pixel [x, y, w, h] from the rows' relative cx cy w h (columns 1-4)."""
    rel = rows.floats(range(1, 5), ("cx", "cy", "w", "h"), problems)
    negative = (rel[:, 2] < 0) | (rel[:, 3] < 0)
    for i in np.flatnonzero(negative)[: problems.limit].tolist():
        source, record = rows.where(i)
        problems.add(
            "has a negative width or height (expected w, h >= 0)", source=source, record=record, field="w/h"
        )
    box = denormalize(rel, widths, heights)
    named = negative | ~np.isfinite(rel).all(axis=1)  # problems already
    check_box_values(
        np.where(named[:, None], 0.0, box), problems, rows.where, "cx cy w h", "a box of finite pixels"
    )
    return box


def denormalize(rel: np.ndarray, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(N, 4) relative cx cy w h -> pixel x y w h, per row image sizes."""
    cx, cy, w, h = rel.T
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is inf: the reader refuses it
        return np.stack([(cx - w / 2) * widths, (cy - h / 2) * heights, w * widths, h * heights], axis=1)


def normalize(box: np.ndarray, widths: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(N, 4) pixel x y w h -> relative cx cy w h."""
    x, y, w, h = box.T
    return np.stack([(x + w / 2) / widths, (y + h / 2) / heights, w / widths, h / heights], axis=1)


def read_ground_truth(
    path: str | os.PathLike[str],
    *,
    images: str | Path | None = None,
    sizes: str | Path | None = None,
    names: str | Path | Mapping[int, str] | None = None,
) -> Dataset:
    """Ground truth from a YOLO label folder (see the module doc for sizes and names).

    Every image with a size is an image of the dataset; a label file of an image without one is
    an error. All bad lines of all files are reported together (up to 20)."""
    folder = Path(path)
    files = _label_files(folder)
    size_of = _sizes(folder, images, sizes)
    class_names = _names(folder, names)
    problems = Problems(str(folder))
    known = [f for f in files if f.stem in size_of]
    for f in files:
        if f.stem not in size_of:
            problems.add(
                "no image of this name in the images folder or sizes file "
                "(expected one for every label file)",
                source=str(f),
            )
    rows = read_rows(known, (5,), problems, _GT_ROW)
    stems = sorted(size_of)
    ids = assign_image_ids(stems)
    id_of = dict(zip(stems, ids.tolist()))
    row_stem = [rows.files[i].stem for i in rows.file_index.tolist()]
    w = np.array([size_of[s][0] for s in row_stem], np.float64)
    h = np.array([size_of[s][1] for s in row_stem], np.float64)
    category_id, categories = gt_classes(
        rows.column(0),
        None if class_names is None else class_names.names,
        problems,
        rows.where,
        numeric=True,
        number_ids=None if class_names is None else class_names.ids,
    )
    box = _boxes(rows, problems, w, h)
    problems.check()
    image_id = np.array([id_of[s] for s in row_stem], np.int64)
    warn_suspicious(
        str(folder), rows.where_text, image_id=image_id, category_id=category_id, box=box, width=w, height=h
    )
    imgs = make_images(
        ids, [size_of[s][0] for s in stems], [size_of[s][1] for s in stems], [size_of[s][2] for s in stems]
    )
    return build_dataset(
        image_id=image_id,
        category_id=category_id,
        box=box,
        images=imgs,
        categories=categories,
        source=str(folder),
    )


def read_detections(
    path: str | os.PathLike[str],
    ground_truth: Dataset,
    *,
    names: str | Path | Mapping[int, str] | None = None,
    only_gt_images: bool = False,
) -> Detections:
    """Predictions from a YOLO label folder with a score column, on the images of `ground_truth`
    (a label file names its image by stem; the sizes are the ground truth's). A class number is
    a ground-truth category id, or with a names file (`names`: the model's names, else one in
    the folder) the name of one (see the module doc). `only_gt_images`: label files of images
    the ground truth does not have are left out (a DataWarning), not an error."""
    folder = Path(path)
    files = _label_files(folder)
    index = ImageIndex(ground_truth.images)
    problems = Problems(str(folder))
    stems = [f.stem for f in files]
    if only_gt_images and index.unknown(stems).any():
        drop = index.unknown(stems)
        warn_left_out(
            str(folder), "label file(s)", int(drop.sum()), int(drop.sum()), str(files[drop.argmax()])
        )
        files = [f for f, d in zip(files, drop.tolist()) if not d]
        stems = [f.stem for f in files]
    found = index.find_all(stems)
    for k in np.flatnonzero(found < 0).tolist():
        problems.add(index.missing(files[k].stem, "no ground-truth image of this name"), source=str(files[k]))
    hints = [ONLY_GT_IMAGES] if index.unknown(stems).any() else []
    rows = read_rows([f for f, i in zip(files, found) if i >= 0], (6,), problems, _DT_ROW)
    image_id = found[found >= 0][rows.file_index]
    images = ground_truth.images
    pos = np.searchsorted(images.ids, image_id)
    wh = np.stack([images.width[pos], images.height[pos]], axis=1).astype(np.float64)
    for i in np.flatnonzero((wh <= 0).any(axis=1))[:1].tolist():
        problems.add(
            "the ground truth has no size for this image (YOLO boxes need it)", source=rows.where(i)[0]
        )
    pred_names = _names(folder, names)
    category_id = dt_classes(
        rows.column(0),
        ground_truth.categories,
        None if pred_names is None else pred_names.names,
        problems,
        rows.where,
        numeric=True,
        numbering=_gt_numbering(pred_names, ground_truth),
    )
    box = _boxes(rows, problems, wh[:, 0], wh[:, 1])
    score = rows.floats([5], ["score"], problems)[:, 0]
    if rows.refused.get(5):
        hints.append(
            f"{rows.refused[5]} line(s) have 5 values, class cx cy w h without a score: Ultralytics writes "
            "the score only with save_conf=True (model.predict(..., save_txt=True, save_conf=True)); "
            "5 values are ground truth"
        )
    problems.check(hints)
    return finish_predictions(
        str(folder),
        rows.where_text,
        ground_truth,
        image_id=image_id,
        category_id=category_id,
        box=box,
        score=score,
        width=wh[:, 0],
        height=wh[:, 1],
    )


def _gt_numbering(names: ClassNames | None, gt: Dataset) -> dict[int, int] | None:
    """Class number -> category id where `names` says which ground-truth category a number is:
    its `category_ids:` (where the ground truth has that id under that name), or, for a names
    file without them, when it is the one the writers write for `gt` (every category, numbered by
    `class_numbers`): exact also for categories of the same name."""
    ids = gt.categories.ids
    if names is not None and names.ids is not None:
        name_of = dict(zip(ids.tolist(), gt.categories.names))
        return {k: c for k, c in names.ids.items() if name_of.get(c) == names.names[k]}
    numbers = class_numbers(ids, ids).tolist()
    if names is None or names.names != dict(zip(numbers, gt.categories.names)):
        return None
    return dict(zip(numbers, ids.tolist()))


def write_ground_truth(ds: Dataset, path: str | os.PathLike[str]) -> None:
    """Write a Dataset as a YOLO label folder: `<stem>.txt` per image (empty when it has no
    objects), `data.yaml` (`names:` by class number; categories whose ids are not 0..K-1 are
    numbered by position, their ids kept in `category_ids:`) and `sizes.csv`, so the folder
    reads back alone, with the same category ids and names. Crowd and ignored
    ground truth have no YOLO form: they are left out, with a DataWarning."""
    _write(ds, Path(path), ds)


def write_detections(dt: Detections, path: str | os.PathLike[str], ground_truth: Dataset) -> None:
    """Write Detections as a YOLO label folder with a score column, and `data.yaml`, on the
    images (their sizes) and classes of `ground_truth`, so they read back as its categories."""
    _write(dt, Path(path), ground_truth)


def _write(data: Dataset | Detections, folder: Path, ref: Dataset) -> None:
    """The label files and data.yaml of `data`, and sizes.csv for ground truth; `ref` is the
    ground truth (`data` itself, or the one predictions are on)."""
    images: Images = ref.images
    bad = np.flatnonzero((images.width <= 0) | (images.height <= 0))
    keep = np.ones(len(data), bool)
    if isinstance(data, Dataset):
        keep = ~(data.iscrowd | data.ignore)
        if not keep.all():
            warn_data(
                str(folder),
                int((~keep).sum()),
                "crowd or ignored annotation(s) have no YOLO form and were left out",
                f"annotation id {int(data.ann_id[~keep][0])}",
            )
    used = np.isin(images.ids, data.image_id[keep])
    if len(bad) and used[bad].any():
        i = bad[used[bad]][0]
        raise InputError(
            f"image {int(images.ids[i])} has no width/height: YOLO boxes are relative to it",
            source=data.source,
        )
    folder.mkdir(parents=True, exist_ok=True)
    stems = image_stems(images)
    pos = np.searchsorted(images.ids, data.image_id[keep])
    rel = normalize(
        data.box[keep], images.width[pos].astype(np.float64), images.height[pos].astype(np.float64)
    )
    cls = class_numbers(data.category_id[keep], ref.categories.ids)
    cols = [cls.tolist(), *(rel[:, k].tolist() for k in range(4))]
    if isinstance(data, Detections):
        cols.append(data.score[keep].tolist())
    lines = [" ".join(map(repr, row)) for row in zip(*cols)]
    starts = np.searchsorted(pos, np.arange(len(images.ids) + 1))
    for k, stem in enumerate(stems):
        chunk = lines[starts[k] : starts[k + 1]]
        (folder / f"{stem}.txt").write_text("".join(f"{line}\n" for line in chunk))
    write_names_file(folder / "data.yaml", ref.categories)
    if isinstance(data, Dataset):
        names = images.file_names or ("",) * len(stems)
        (folder / SIZES_FILE).write_text(
            "image,width,height\n"
            + "".join(
                f"{_csv_field(n if n and Path(n).stem == s else s)},{w},{h}\n"
                for n, s, w, h in zip(names, stems, images.width.tolist(), images.height.tolist())
            )
        )


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


# The names from before the one vocabulary (detrecall.io.read_ground_truth / read_detections /
# write), until their callers move.
read_yolo_gt = read_ground_truth
read_yolo_predictions = read_detections


def write_yolo(
    data: Dataset | Detections, folder: str | os.PathLike[str], *, gt: Dataset | None = None
) -> None:
    """`write_ground_truth`, or `write_detections` on the ground truth `gt`."""
    if isinstance(data, Dataset):
        write_ground_truth(data, folder)
    elif gt is None:
        raise InputError("writing predictions as YOLO needs the ground truth (image sizes, classes)")
    else:
        write_detections(data, folder, gt)
