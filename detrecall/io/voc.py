"""Pascal VOC: an annotation folder of XML files (one per image) and the devkit's per-class
result files.

Ground truth: each `<stem>.xml` holds `filename`, `size` (width, height) and `object`s with
`name`, `bndbox` (xmin, ymin, xmax, ymax), `difficult` and `truncated`. `difficult=1` marks the
object ignored, as the devkit does (Dataset.ignore: a detection on it is neither TP nor FP, and
it is not a positive). Two optional elements are detrecall's own, written so that a COCO round
trip loses nothing and ignored by other tools: `iscrowd` (0/1) and `area`. The image is known by
the XML file's stem, its id per `_common.assign_image_ids`; classes by name (ids from `names`,
else `data.yaml` or `classes.txt` in the folder, else the sorted names get 0, 1, ...).

Boxes are kept as given: VOC's coordinates are 1-based and pixel-inclusive (a box from 1 to 10
covers 10 pixels), and here w = xmax - xmin, as in COCO's continuous convention; the
`pixel_inclusive` option of the VOC protocol adds the devkit's +1.

Predictions: a folder of the devkit's result files `comp4_det_test_<class>.txt` (any file whose
stem is or ends with `_<class>` of a ground-truth class), rows `image score xmin ymin xmax ymax`.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ..errors import InputError
from ..types import Dataset, Detections
from ._common import (
    ClassNames,
    ImageIndex,
    assign_image_ids,
    build_dataset,
    check_box_values,
    finish_predictions,
    folder_files,
    gt_classes,
    image_stems,
    keep_gt_images,
    make_images,
    read_names_file,
    write_names_file,
    xyxy_to_xywh,
)
from ._images import MAX_SIDE
from ._lines import read_rows, strict_float
from ._problems import ONLY_GT_IMAGES, Problems, warn_data, warn_suspicious
from ._records import read_file

_BOX = "xmin <= xmax and ymin <= ymax, finite"


def _xml_files(source: Path) -> list[Path]:
    if source.is_dir() or not (source.exists() or source.is_symlink()):
        return folder_files(source, ".xml", "VOC XML files")
    return [source]  # one file (reading it names what else it may be: a FIFO, a dangling link)


class _Object:
    __slots__ = ("name", "box", "difficult", "crowd", "area")

    def __init__(self, name: str, box: list[float], difficult: bool, crowd: bool, area: float | None) -> None:
        self.name, self.box, self.difficult, self.crowd, self.area = name, box, difficult, crowd, area


def _number(
    node: ET.Element | None, tag: str, problems: Problems, path: str, record: str, *, required: bool = True
) -> float | None:
    child = node.find(tag) if node is not None else None
    if child is None or child.text is None or not child.text.strip():
        if required:
            problems.add(f"missing <{tag}> (expected a number)", source=path, record=record, field=tag)
        return None
    try:
        value = strict_float(child.text.strip())
    except ValueError:
        problems.add(f"is {child.text.strip()!r} (expected a number)", source=path, record=record, field=tag)
        return None
    if not np.isfinite(value):
        problems.add(
            f"is {child.text.strip()} (expected a finite number)", source=path, record=record, field=tag
        )
        return None
    return value


def _flag(node: ET.Element, tag: str, problems: Problems, path: str, record: str) -> bool:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        return False
    text = child.text.strip()
    if text not in ("0", "1"):
        problems.add(f"is {text!r} (expected 0 or 1)", source=path, record=record, field=tag)
    return text == "1"


def _read_file(path: Path, problems: Problems) -> tuple[str, int, int, list[_Object]] | None:
    """(file name, width, height, objects) of one annotation file; None if unreadable."""
    where = str(path)
    try:
        raw = read_file(path)
    except InputError as e:
        problems.add(e.message, source=where)
        return None
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        line, column = e.position
        problems.add(
            f"not well-formed XML ({str(e).split(':')[0]}, column {column})",
            source=where,
            record=f"line {line}",
        )
        return None
    except OSError as e:
        problems.add(f"cannot read: {e.strerror}", source=where)
        return None
    if root.tag != "annotation":
        problems.add(f"root element is <{root.tag}> (expected <annotation>)", source=where)
        return None
    name_node = root.find("filename")
    file_name = (name_node.text or "").strip() if name_node is not None else ""
    if not file_name or Path(file_name).stem != path.stem:
        file_name = path.stem
    size = root.find("size")
    width = height = 0
    if size is not None:
        w = _number(size, "width", problems, where, "size")
        h = _number(size, "height", problems, where, "size")
        if w is not None and h is not None:
            if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE) or w != int(w) or h != int(h):
                problems.add(
                    f"is {w:g} x {h:g} (expected positive integers, at most {MAX_SIDE})",
                    source=where,
                    record="size",
                    field="width/height",
                )
            else:
                width, height = int(w), int(h)
    objects = []
    for k, obj in enumerate(root.findall("object")):
        record = f"object {k}"
        name_node = obj.find("name")
        name = (name_node.text or "").strip() if name_node is not None else ""
        if not name:
            problems.add(
                "missing or empty <name> (expected the class name)", source=where, record=record, field="name"
            )
        bnd = obj.find("bndbox")
        if bnd is None:
            problems.add(
                "missing <bndbox> (expected xmin, ymin, xmax, ymax)",
                source=where,
                record=record,
                field="bndbox",
            )
            continue
        x1, y1, x2, y2 = (_number(bnd, t, problems, where, record) for t in ("xmin", "ymin", "xmax", "ymax"))
        difficult = _flag(obj, "difficult", problems, where, record)
        _flag(obj, "truncated", problems, where, record)
        crowd = _flag(obj, "iscrowd", problems, where, record)
        area = _number(obj, "area", problems, where, record, required=False)
        if area is not None and area < 0:
            problems.add(f"is {area:g} (expected an area >= 0)", source=where, record=record, field="area")
        if x1 is None or y1 is None or x2 is None or y2 is None or not name:
            continue
        box = [x1, y1, x2, y2]
        if x2 < x1 or y2 < y1:
            problems.add(f"is {box} (expected {_BOX})", source=where, record=record, field="bndbox")
            continue
        objects.append(_Object(name, box, difficult, crowd, area))
    return file_name, width, height, objects


NAMES_FILES = ("data.yaml", "data.yml", "classes.txt")


def _names(source: Path, names: str | Path | Mapping[int, str] | None) -> ClassNames | None:
    if isinstance(names, Mapping):
        return ClassNames({int(k): str(v) for k, v in names.items()})
    if names is not None:
        return read_names_file(Path(names))
    for candidate in NAMES_FILES if source.is_dir() else ():
        if (source / candidate).is_file():
            return read_names_file(source / candidate)
    return None


def read_ground_truth(
    path: str | os.PathLike[str], *, names: str | Path | Mapping[int, str] | None = None
) -> Dataset:
    """Ground truth from a VOC annotation folder (or one .xml file); see the module doc.

    All problems of all files are reported together (up to 20)."""
    source = Path(path)
    files = _xml_files(source)
    problems = Problems(str(source))
    read = [(p, _read_file(p, problems)) for p in files]
    problems.check()
    parsed = [(p, r) for p, r in read if r is not None]  # all: an unreadable file was a problem
    stems = [p.stem for p, _ in parsed]
    ids = assign_image_ids(stems)
    rows = [(i, o) for (p, r), i in zip(parsed, ids.tolist()) for o in r[3]]
    where_rows: list[tuple[str, str]] = []
    for p, r in parsed:
        where_rows += [(str(p), f"object {k}") for k in range(len(r[3]))]
    class_names = _names(source, names)
    category_id, categories = gt_classes(
        [o.name for _, o in rows],
        None if class_names is None else class_names.names,
        problems,
        where_rows.__getitem__,
        numeric=False,
        number_ids=None if class_names is None else class_names.ids,
    )
    problems.check()
    image_id = np.array([i for i, _ in rows], np.int64)
    box = xyxy_to_xywh(np.array([o.box for _, o in rows], np.float64).reshape(-1, 4))
    check_box_values(box, problems, where_rows.__getitem__, "bndbox", _BOX)  # xmax - xmin overflows
    problems.check()
    area = np.array([o.area if o.area is not None else b[2] * b[3] for (_, o), b in zip(rows, box)])
    width = np.array([r[1] for _, r in parsed], np.int64)
    height = np.array([r[2] for _, r in parsed], np.int64)
    pos = np.searchsorted(np.sort(ids), image_id)
    order = np.argsort(ids)
    warn_suspicious(
        str(source),
        lambda i: ": ".join(where_rows[i]),
        image_id=image_id,
        category_id=category_id,
        box=box,
        width=width[order][pos].astype(float),
        height=height[order][pos].astype(float),
    )
    images = make_images(ids, width, height, [r[0] for _, r in parsed])
    return build_dataset(
        image_id=image_id,
        category_id=category_id,
        box=box,
        area=area,
        images=images,
        categories=categories,
        source=str(source),
        iscrowd=np.array([o.crowd for _, o in rows], bool),
        ignore=np.array([o.difficult for _, o in rows], bool),
    )


def _class_of_file(stem: str, by_length: list[tuple[str, int]]) -> int | None:
    for name, cid in by_length:
        if stem == name or stem.endswith("_" + name):
            return cid
    return None


def read_detections(
    path: str | os.PathLike[str], ground_truth: Dataset, *, only_gt_images: bool = False
) -> Detections:
    """Predictions from a folder of devkit result files (`comp4_det_test_<class>.txt`, rows
    `image score xmin ymin xmax ymax`), on the images and classes of `ground_truth`
    (`only_gt_images`: rows of other images left out with a DataWarning, not an error)."""
    folder = Path(path)
    files = folder_files(folder, ".txt", "VOC result files")
    by_length = sorted(
        zip(ground_truth.categories.names, ground_truth.categories.ids.tolist()), key=lambda t: -len(t[0])
    )
    problems = Problems(str(folder))
    class_of = {f: _class_of_file(f.stem, by_length) for f in files}
    for f, c in class_of.items():
        if c is None:
            problems.add(
                "file name does not end with a ground-truth class name (expected "
                f"comp4_det_test_<class>.txt, classes: {', '.join(ground_truth.categories.names[:8])})",
                source=str(f),
            )
    rows = read_rows(
        [f for f in files if class_of[f] is not None], (6,), problems, "image score xmin ymin xmax ymax"
    )
    index = ImageIndex(ground_truth.images)
    image_key = rows.column(0)
    rows, image_key = keep_gt_images(rows, image_key, index, str(folder), only_gt_images)
    image_id = index.find_all(image_key)
    for i in np.flatnonzero(image_id < 0)[: problems.limit].tolist():
        source, record = rows.where(i)
        problems.add(
            f"image {image_key[i]!r}: {index.missing(image_key[i], 'not in the ground truth')}",
            source=source,
            record=record,
            field="image",
        )
    problems.count += max(0, int((image_id < 0).sum()) - problems.limit)
    file_class = np.array([class_of[f] for f in rows.files], np.int64)
    category_id = file_class[rows.file_index]
    values = rows.floats(range(1, 6), ("score", "xmin", "ymin", "xmax", "ymax"), problems)
    box = xyxy_to_xywh(values[:, 1:])
    read = np.isfinite(values).all(axis=1)  # rows with a value that is not a number were named
    check_box_values(np.where(read[:, None], box, 0.0), problems, rows.where, "box", _BOX)
    problems.check([ONLY_GT_IMAGES] if (image_id < 0).any() and index.unknown(image_key).any() else [])
    score = values[:, 0]
    return finish_predictions(
        str(folder),
        rows.where_text,
        ground_truth,
        image_id=image_id,
        category_id=category_id,
        box=box,
        score=score,
    )


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def write_ground_truth(ds: Dataset, path: str | os.PathLike[str]) -> None:
    """Write a Dataset as a VOC annotation folder, one `<stem>.xml` per image (see the module
    doc: ignored rows are `difficult`; `iscrowd` and a non-w*h `area` are written as extra
    elements); boxes as xmin = x, xmax = x + w. `data.yaml` names every category, also those
    without objects, with its id (`io._common.write_names_file`: reading the folder back gives
    the same ids and names), and `classes.txt` lists the names in id order for other tools."""
    folder = Path(path)
    _warn_shared_names(str(folder), ds)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "classes.txt").write_text("".join(f"{n}\n" for n in ds.categories.names), encoding="utf-8")
    write_names_file(folder / "data.yaml", ds.categories)
    stems = image_stems(ds.images)
    file_names = ds.images.file_names or ("",) * len(stems)
    starts = np.searchsorted(ds.image_id, ds.images.ids)
    ends = np.searchsorted(ds.image_id, ds.images.ids, side="right")
    names = dict(zip(ds.categories.ids.tolist(), ds.categories.names))
    for k, stem in enumerate(stems):
        w, h = int(ds.images.width[k]), int(ds.images.height[k])
        out = ["<annotation>", f"\t<filename>{escape(file_names[k] or stem)}</filename>"]
        if w > 0 and h > 0:
            out.append(
                f"\t<size>\n\t\t<width>{w}</width>\n\t\t<height>{h}</height>\n\t\t<depth>3</depth>\n\t</size>"
            )
        for r in range(starts[k], ends[k]):
            x, y, bw, bh = ds.box[r].tolist()
            area = float(ds.area[r])
            extra = ""
            if ds.iscrowd[r]:
                extra += "\t\t<iscrowd>1</iscrowd>\n"
            if area != ((x + bw) - x) * ((y + bh) - y):  # not what reading back would compute
                extra += f"\t\t<area>{_num(area)}</area>\n"
            out.append(
                f"\t<object>\n\t\t<name>{escape(names[int(ds.category_id[r])])}</name>\n"
                f"\t\t<truncated>0</truncated>\n\t\t<difficult>{int(ds.ignore[r])}</difficult>\n{extra}"
                f"\t\t<bndbox>\n\t\t\t<xmin>{_num(x)}</xmin>\n\t\t\t<ymin>{_num(y)}</ymin>\n"
                f"\t\t\t<xmax>{_num(x + bw)}</xmax>\n\t\t\t<ymax>{_num(y + bh)}</ymax>\n\t\t</bndbox>\n"
                "\t</object>"
            )
        out.append("</annotation>\n")
        (folder / f"{stem}.xml").write_text("\n".join(out), encoding="utf-8")


def _warn_shared_names(source: str, ds: Dataset) -> None:
    """VOC knows an object's class by name only: categories sharing a name read back as the first
    of them (a DataWarning naming them and counting the objects that change category)."""
    ids = ds.categories.ids.tolist()
    first: dict[str, int] = {}
    moved = [(n, c) for c, n in zip(ids, ds.categories.names) if first.setdefault(n, c) != c]
    if moved:
        count = int(np.isin(ds.category_id, [c for _, c in moved]).sum())
        shared = ", ".join(f"{n!r}: ids {first[n]} and {c}" for n, c in moved[:4])
        warn_data(
            source,
            count,
            f"object(s) of categories sharing a name ({shared}) read back as the first of them: VOC "
            "knows classes by name only",
            f"category id {moved[0][1]}",
        )


def write_detections(dt: Detections, path: str | os.PathLike[str], ground_truth: Dataset) -> None:
    """Write Detections as devkit result files `comp4_det_test_<class>.txt` (one per class of
    `ground_truth`), rows `image score xmin ymin xmax ymax` with the image named by its stem."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    stems = image_stems(ground_truth.images)
    stem_of = np.searchsorted(ground_truth.images.ids, dt.image_id)
    for cid, name in zip(ground_truth.categories.ids.tolist(), ground_truth.categories.names):
        if "/" in name or "\\" in name:
            raise InputError(f"class name {name!r} cannot be part of a file name", source=ground_truth.source)
        rows = np.flatnonzero(dt.category_id == cid)
        lines = [
            f"{stems[stem_of[r]]} {float(dt.score[r])!r} {_num(b[0])} {_num(b[1])} {_num(b[0] + b[2])} "
            f"{_num(b[1] + b[3])}\n"
            for r, b in zip(rows.tolist(), dt.box[rows].tolist())
        ]
        (folder / f"comp4_det_test_{name}.txt").write_text("".join(lines), encoding="utf-8")


# The names from before the one vocabulary (detrecall.io.read_ground_truth / read_detections /
# write), the same functions, until their callers move.
read_voc_gt = read_ground_truth
read_voc_predictions = read_detections
write_voc = write_ground_truth
write_voc_predictions = write_detections
