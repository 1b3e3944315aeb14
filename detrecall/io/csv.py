"""CSV with one row per box and a header naming the columns.

Columns, by our name (any order; others are ignored): `image` (a file name, stem or id),
`class` (a name or a number), the box as `x1 y1 x2 y2` ("xyxy"), `x y w h` ("xywh") or
`cx cy w h` ("cxcywh"), and optionally `score` (required for predictions), `iscrowd` and
`ignore` (0/1), `area`, and the image's `width` and `height`. `columns={our name: their
name}` maps them; unmapped ones are also found under common aliases (xmin/ymin/xmax/ymax,
filename, label, confidence, ... see ALIASES), case-insensitively. `box_format` picks the box
columns when the header has several sets; by default the first complete one of xyxy, xywh,
cxcywh. A ground-truth row with an empty class and box lists an image without objects.

Images get ids by `_common.assign_image_ids` over the stems of the image column (`000123.jpg`
-> 123, as YOLO's `000123.txt`); a row with a box needs a class; classes that are numbers
are category ids, names get ids from `names` (else `<stem>.names.yaml` beside the file, which
`write_ground_truth` writes; else sorted, 0, 1, ...). Predictions find their
image and class in the ground truth by name.
"""

from __future__ import annotations

import csv as _csv
import io
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..types import Dataset, Detections
from ._common import (
    BOX_FORMATS,
    ClassNames,
    ImageIndex,
    assign_image_ids,
    build_dataset,
    check_box_values,
    dt_classes,
    finish_predictions,
    from_xywh,
    gt_classes,
    image_stems,
    keep_gt_images,
    make_images,
    read_names_file,
    read_text,
    to_xywh,
    write_names_file,
)
from ._images import MAX_SIDE
from ._lines import Rows
from ._problems import ONLY_GT_IMAGES, Problems, warn_suspicious

ALIASES: dict[str, tuple[str, ...]] = {
    "image": ("image", "image_id", "filename", "file_name", "file", "img", "image_name", "path"),
    "class": ("class", "label", "category", "category_id", "class_name", "class_id", "name"),
    "x1": ("x1", "xmin", "left"),
    "y1": ("y1", "ymin", "top"),
    "x2": ("x2", "xmax", "right"),
    "y2": ("y2", "ymax", "bottom"),
    "x": ("x",),
    "y": ("y",),
    "w": ("w",),
    "h": ("h",),
    "cx": ("cx", "x_center", "xc"),
    "cy": ("cy", "y_center", "yc"),
    "score": ("score", "confidence", "conf", "probability"),
    "iscrowd": ("iscrowd", "crowd"),
    "ignore": ("ignore", "difficult"),
    "area": ("area",),
    "width": ("width", "image_width"),
    "height": ("height", "image_height"),
}
BOX_COLUMNS = {
    "xyxy": ("x1", "y1", "x2", "y2"),
    "xywh": ("x", "y", "w", "h"),
    "cxcywh": ("cx", "cy", "w", "h"),
}


class _Table:
    """A parsed CSV: header positions of our columns, the rows, and where each row is."""

    def __init__(
        self,
        path: Path,
        columns: Mapping[str, str] | None,
        box_format: str | None,
        problems: Problems,
        *,
        need_score: bool,
    ) -> None:
        self.path = path
        text = read_text(path)
        try:
            lines = list(_csv.reader(io.StringIO(text, newline="")))
        except _csv.Error as e:
            raise InputError(f"not valid CSV ({e})", source=str(path)) from None
        numbered = [(n, r) for n, r in enumerate(lines, start=1) if r and (len(r) > 1 or r[0].strip())]
        if not numbered:
            raise InputError("is empty (expected a header and one row per box)", source=str(path))
        header = [h.strip() for h in numbered[0][1]]
        self.pos = self._columns(header, columns, box_format, need_score)
        self.box_format = next(f for f in BOX_FORMATS if all(c in self.pos for c in BOX_COLUMNS[f]))
        rows: list[list[str]] = []
        line_no: list[int] = []
        for n, r in numbered[1:]:
            if len(r) != len(header):
                problems.add(
                    f"has {len(r)} values, the header {len(header)}", source=str(path), record=f"line {n}"
                )
                continue
            rows.append(r)  # cells are stripped where read: text() strips, float() ignores spaces
            line_no.append(n)
        self.rows = Rows([path], rows, np.zeros(len(rows), np.int64), np.array(line_no, np.int64))

    def _columns(
        self, header: list[str], columns: Mapping[str, str] | None, box_format: str | None, need_score: bool
    ) -> dict[str, int]:
        where = dict(source=str(self.path), record="line 1")
        seen = [h.lower() for h in header]
        dup = sorted({h for h in seen if seen.count(h) > 1})
        if dup:
            raise InputError(f"header names {dup} more than once", **where)
        columns = dict(columns or {})
        unknown = sorted(set(columns) - set(ALIASES))
        if unknown:
            raise InputError(
                f"columns= maps unknown names {unknown} (ours are {', '.join(ALIASES)})", **where
            )
        if box_format is not None and box_format not in BOX_FORMATS:
            raise InputError(
                f"box format {box_format!r} (expected one of {', '.join(BOX_FORMATS)})", source=str(self.path)
            )
        pos: dict[str, int] = {}
        for ours, theirs in columns.items():
            if theirs.lower() not in seen:
                raise InputError(
                    f"has no column {theirs!r} (mapped to {ours!r}; the header is {', '.join(header)})",
                    **where,
                )
            pos[ours] = seen.index(theirs.lower())
        taken = set(pos.values())
        for ours, names in ALIASES.items():
            if ours in pos:
                continue
            for alias in names:
                if alias in seen and seen.index(alias) not in taken:
                    pos[ours] = seen.index(alias)
                    taken.add(pos[ours])
                    break
        formats = [box_format] if box_format else list(BOX_FORMATS)
        box = next((f for f in formats if all(c in pos for c in BOX_COLUMNS[f])), None)
        missing = [c for c in ("image", "class") if c not in pos]
        if need_score and "score" not in pos:
            missing.append("score")
        if missing or box is None:
            wanted = " or ".join(" ".join(BOX_COLUMNS[f]) for f in formats)
            raise InputError(
                f"header is {', '.join(header)}: no column for {', '.join(missing) or 'the box'} "
                f"(expected image, class, {wanted}{', score' if need_score else ''}; map other names "
                "with columns={our name: your name})",
                **where,
            )
        for f in BOX_FORMATS:  # the other sets' columns are not ours to read
            if f != box:
                for c in BOX_COLUMNS[f]:
                    if c not in BOX_COLUMNS[box]:
                        pos.pop(c, None)
        return pos

    def text(self, name: str) -> list[str]:
        return [v.strip() for v in self.rows.column(self.pos[name])]

    def numbers(self, names: tuple[str, ...], problems: Problems) -> np.ndarray:
        return self.rows.floats([self.pos[n] for n in names], names, problems)

    def flags(self, name: str, problems: Problems) -> np.ndarray:
        if name not in self.pos:
            return np.zeros(len(self.rows.fields), bool)
        out = np.zeros(len(self.rows.fields), bool)
        for i, v in enumerate(self.text(name)):
            if v in ("1", "true", "True"):
                out[i] = True
            elif v not in ("", "0", "false", "False"):
                source, record = self.rows.where(i)
                problems.add(f"is {v!r} (expected 0 or 1)", source=source, record=record, field=name)
        return out

    def box(self, problems: Problems) -> np.ndarray:
        names = BOX_COLUMNS[self.box_format]
        values = self.numbers(names, problems)
        box = to_xywh(values, self.box_format)
        expected = {"xyxy": "x1 <= x2 and y1 <= y2", "xywh": "w, h >= 0", "cxcywh": "w, h >= 0"}[
            self.box_format
        ]
        ok = np.isfinite(values).all(axis=1)
        check_box_values(
            np.where(ok[:, None], box, 0.0), problems, self.rows.where, " ".join(names), expected
        )
        return box


def _check_classes(table: _Table, rows: np.ndarray, problems: Problems, hint: str) -> None:
    """A problem for each of `rows` (bool) whose class is empty: a box needs a class."""
    klass = table.text("class")
    for i in np.flatnonzero(rows & np.array([not c for c in klass], bool).reshape(-1))[: problems.limit]:
        problems.add(
            f"is empty (expected a class name or number; {hint})",
            source=str(table.path),
            record=table.rows.where(int(i))[1],
            field="class",
        )


def _names(names: str | Path | Mapping[int, str] | None) -> ClassNames | None:
    if isinstance(names, Mapping):
        return ClassNames({int(k): str(v) for k, v in names.items()})
    return None if names is None else read_names_file(Path(names))


def names_path(path: Path) -> Path:
    """The names file written beside a ground-truth CSV (`gt.csv` -> `gt.names.yaml`)."""
    return path.with_name(path.stem + NAMES_SUFFIX)


NAMES_SUFFIX = ".names.yaml"


def read_ground_truth(
    path: str | os.PathLike[str],
    *,
    columns: Mapping[str, str] | None = None,
    box_format: str | None = None,
    names: str | Path | Mapping[int, str] | None = None,
) -> Dataset:
    """Ground truth from a CSV file (see the module doc); all bad rows reported together."""
    path = Path(path)
    problems = Problems(str(path))
    table = _Table(path, columns, box_format, problems, need_score=False)
    rows = table.rows
    image_key = table.text("image")
    box_names = BOX_COLUMNS[table.box_format]
    cells = [table.pos["class"], *(table.pos[c] for c in box_names)]
    empty = np.array([not any(r[c].strip() for c in cells) for r in rows.fields], bool).reshape(-1)
    _check_classes(
        table,
        ~empty,
        problems,
        "a ground-truth row with an empty class and box lists an image without objects",
    )
    for i, key in enumerate(image_key):
        if not key:
            problems.add(
                "image is empty (expected a file name or id)",
                source=str(path),
                record=rows.where(i)[1],
                field="image",
            )
    sizes: dict[str, tuple[int, int]] = {}
    if "width" in table.pos and "height" in table.pos:
        wh = table.numbers(("width", "height"), problems)
        for i, (key, (w, h)) in enumerate(zip(image_key, wh.tolist())):
            if not (
                0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE and float(w).is_integer() and float(h).is_integer()
            ):
                if np.isfinite(w) and np.isfinite(h):
                    problems.add(
                        f"image size is {w:g} x {h:g} (expected positive integers, at most {MAX_SIDE})",
                        source=str(path),
                        record=rows.where(i)[1],
                        field="width/height",
                    )
                continue
            if sizes.setdefault(key, (int(w), int(h))) != (int(w), int(h)):
                problems.add(
                    f"image {key!r} is {int(w)}x{int(h)} here but {sizes[key][0]}x{sizes[key][1]} "
                    "on an earlier line",
                    source=str(path),
                    record=rows.where(i)[1],
                    field="width/height",
                )
    objects = np.flatnonzero(~empty)
    obj_rows = Rows(
        [path], [rows.fields[i] for i in objects.tolist()], rows.file_index[objects], rows.line[objects]
    )
    table.rows = obj_rows
    if names is None and names_path(path).is_file():
        names = names_path(path)
    class_names = _names(names)
    category_id, categories = gt_classes(
        table.text("class"),
        None if class_names is None else class_names.names,
        problems,
        obj_rows.where,
        numeric=None,
        number_ids=None if class_names is None else class_names.ids,
    )
    box = table.box(problems)
    iscrowd = table.flags("iscrowd", problems)
    ignore = table.flags("ignore", problems)
    area = None
    if "area" in table.pos:
        area = table.numbers(("area",), problems)[:, 0]
        for i in np.flatnonzero(area < 0)[: problems.limit].tolist():
            problems.add(
                f"is {area[i]:g} (expected an area >= 0)",
                source=str(path),
                record=obj_rows.where(i)[1],
                field="area",
            )
    problems.check()
    distinct, inverse = np.unique(np.asarray(image_key, dtype=str), return_inverse=True)
    stems = distinct.tolist()  # the names as given, sorted; ids from their stems, as YOLO's
    ids = assign_image_ids([Path(s).stem for s in stems])
    image_id = ids[inverse.reshape(-1)][objects]
    size = np.array([sizes.get(s, (0, 0)) for s in stems], np.int64).reshape(-1, 2)
    width, height = size[:, 0], size[:, 1]
    row_size = size[inverse.reshape(-1)][objects].astype(float)
    warn_suspicious(
        str(path),
        obj_rows.where_text,
        image_id=image_id,
        category_id=category_id,
        box=box,
        width=row_size[:, 0],
        height=row_size[:, 1],
    )
    return build_dataset(
        image_id=image_id,
        category_id=category_id,
        box=box,
        area=area,
        iscrowd=iscrowd,
        ignore=ignore,
        images=make_images(ids, width, height, stems),
        categories=categories,
        source=str(path),
    )


def read_detections(
    path: str | os.PathLike[str],
    ground_truth: Dataset,
    *,
    columns: Mapping[str, str] | None = None,
    box_format: str | None = None,
    names: str | Path | Mapping[int, str] | None = None,
    only_gt_images: bool = False,
) -> Detections:
    """Predictions from a CSV file with a score column, on the images and classes of
    `ground_truth` (`only_gt_images`: rows of other images left out with a DataWarning, not an
    error)."""
    path = Path(path)
    problems = Problems(str(path))
    table = _Table(path, columns, box_format, problems, need_score=True)
    index = ImageIndex(ground_truth.images)
    table.rows, image_key = keep_gt_images(table.rows, table.text("image"), index, str(path), only_gt_images)
    rows = table.rows
    image_id = index.find_all(image_key)
    for i in np.flatnonzero(image_id < 0)[: problems.limit].tolist():
        problems.add(
            f"image {image_key[i]!r}: {index.missing(image_key[i], 'not in the ground truth')}",
            source=str(path),
            record=rows.where(i)[1],
            field="image",
        )
    problems.count += max(0, int((image_id < 0).sum()) - problems.limit)
    model_names = _names(names)
    category_id = dt_classes(
        table.text("class"),
        ground_truth.categories,
        None if model_names is None else model_names.names,
        problems,
        rows.where,
        numeric=None,
    )
    box = table.box(problems)
    score = table.numbers(("score",), problems)[:, 0]
    problems.check([ONLY_GT_IMAGES] if (image_id < 0).any() and index.unknown(image_key).any() else [])
    return finish_predictions(
        str(path),
        rows.where_text,
        ground_truth,
        image_id=image_id,
        category_id=category_id,
        box=box,
        score=score,
    )


def write_ground_truth(ds: Dataset, path: str | os.PathLike[str], *, box_format: str = "xyxy") -> None:
    """Write a Dataset as CSV, one row per box: image, class, the box in `box_format`, then
    iscrowd, ignore and area when any row needs them and the image's width and height when
    known; images without objects get a row with an empty class and box. Classes are written by
    name when the names are unique and none is a number, else by id; `<stem>.names.yaml` beside
    it names every category with its id (`io._common.write_names_file`), and reading the file
    finds it there, so ids and names read back exactly."""
    _write(ds, path, ds, box_format)
    write_names_file(names_path(Path(path)), ds.categories)


def write_detections(
    dt: Detections, path: str | os.PathLike[str], ground_truth: Dataset, *, box_format: str = "xyxy"
) -> None:
    """Write Detections as CSV, one row per box: image, class, the box in `box_format`, score;
    images and classes named as in `ground_truth` (as `write_ground_truth` names them)."""
    _write(dt, path, ground_truth, box_format)


def _write(data: Dataset | Detections, path: str | os.PathLike[str], ref: Dataset, box_format: str) -> None:
    """The CSV of `data`; `ref` is the ground truth (`data` itself, or the one predictions are on)."""
    if box_format not in BOX_FORMATS:
        raise InputError(f"box format {box_format!r} (expected one of {', '.join(BOX_FORMATS)})")
    im = ref.images
    image_name = [n or s for n, s in zip(im.file_names or ("",) * len(im.ids), image_stems(im))]
    cat_names = list(ref.categories.names)
    by_name = len(set(cat_names)) == len(cat_names) and not any(
        n.lstrip("-").isdigit() or not n for n in cat_names
    )
    class_text = cat_names if by_name else [str(c) for c in ref.categories.ids.tolist()]
    header = ["image", "class", *BOX_COLUMNS[box_format]]
    sized = bool(len(im.ids)) and bool((im.width > 0).all() and (im.height > 0).all())
    extra: list[str] = []
    if isinstance(data, Detections):
        extra = ["score"]
    else:
        extra += [c for c, v in (("iscrowd", data.iscrowd), ("ignore", data.ignore)) if v.any()]
        read_back = to_xywh(from_xywh(data.box, box_format), box_format)
        if not np.array_equal(data.area, read_back[:, 2] * read_back[:, 3]):
            extra.append("area")
        if sized:
            extra += ["width", "height"]
    score = data.score if isinstance(data, Detections) else np.zeros(0)
    img_pos = np.searchsorted(im.ids, data.image_id)
    cls_pos = np.searchsorted(ref.categories.ids, data.category_id)
    box = from_xywh(data.box, box_format)
    out = io.StringIO()
    writer = _csv.writer(out, lineterminator="\n")
    writer.writerow(header + extra)
    for r in range(len(data)):
        row = [image_name[img_pos[r]], class_text[cls_pos[r]], *map(repr, box[r].tolist())]
        for c in extra:
            if c == "score":
                row.append(repr(float(score[r])))
            elif c in ("iscrowd", "ignore"):
                row.append(str(int(getattr(data, c)[r])))
            elif c == "area":
                row.append(repr(float(data.area[r])))
            else:
                row.append(str(int(getattr(im, c)[img_pos[r]])))
        writer.writerow(row)
    if isinstance(data, Dataset):
        for k in np.flatnonzero(~np.isin(im.ids, data.image_id)).tolist():
            row = [image_name[k], "", "", "", "", ""] + ["" for _ in extra]
            if sized:
                row[-2:] = [str(int(im.width[k])), str(int(im.height[k]))]
            writer.writerow(row)
    Path(path).write_text(out.getvalue(), encoding="utf-8")


# The names from before the one vocabulary (detrecall.io.read_ground_truth / read_detections /
# write), until their callers move.
read_csv_gt = read_ground_truth
read_csv_predictions = read_detections


def write_csv(
    data: Dataset | Detections,
    path: str | os.PathLike[str],
    *,
    gt: Dataset | None = None,
    box_format: str = "xyxy",
) -> None:
    """`write_ground_truth`, or `write_detections` on the ground truth `gt`."""
    if isinstance(data, Dataset):
        write_ground_truth(data, path, box_format=box_format)
    elif gt is None:
        raise InputError("writing predictions as CSV needs the ground truth (image and class names)")
    else:
        write_detections(data, path, gt, box_format=box_format)
