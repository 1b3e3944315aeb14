"""What the YOLO, VOC and CSV readers share: text files, image and class naming, and building
the sorted Dataset / Detections from columns in file order.

Images in those formats are known by name (a file stem, a file name). Their ids are the names
as integers when every name is one (`000123` -> 123), else the names' positions in sorted order,
so a folder always gives the same ids. Predictions find their image in the ground truth by file
name or stem, else by id as text unless the ids are such made-up positions (`ImageIndex`), and
their class by number or by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._sort import argsort_stable, regroup
from ..errors import InputError
from ..types import Categories, Dataset, Detections, Images, RleMasks
from ._problems import Problems, warn_left_out, warn_suspicious
from ._records import INT64_MAX, OVERFLOW, box_overflows, read_file

if TYPE_CHECKING:  # _lines imports this module
    import numpy.typing as npt

    from ._lines import Rows


def read_text(path: Path) -> str:
    """A UTF-8 text file (a BOM is dropped); a located InputError when it is not UTF-8 or not
    a regular file (`_records.open_regular`)."""
    raw = read_file(path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(
            f"byte {raw[e.start : e.start + 1]!r} at offset {e.start} is not UTF-8 (expected UTF-8 text)",
            source=str(path),
            record=f"line {line}",
        ) from None


def folder_files(folder: Path, suffix: str, what: str) -> list[Path]:
    """The entries of `folder` ending in `suffix` (case-insensitive), sorted by name: also those
    that are not regular files (a dangling link, a FIFO, a folder named `b.txt`), so that
    reading them names them instead of leaving an image without its objects."""
    if not folder.exists():
        raise InputError("folder not found", source=str(folder))
    if not folder.is_dir():
        raise InputError(f"is a file, expected a folder of {what}", source=str(folder))
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == suffix)


def assign_image_ids(names: Sequence[str]) -> np.ndarray:
    """Ids for images known by name: the names as integers when every one is a decimal integer
    and no two give the same number, else their positions in sorted order (0, 1, ...)."""
    if names and all(n.isascii() and n.isdigit() and int(n) <= INT64_MAX for n in names):
        ids = np.array([int(n) for n in names], np.int64)
        if len(np.unique(ids)) == len(ids):
            return ids
    order = sorted(range(len(names)), key=names.__getitem__)
    ids = np.empty(len(names), np.int64)
    ids[order] = np.arange(len(names))
    return ids


def make_images(
    ids: np.ndarray, width: npt.ArrayLike, height: npt.ArrayLike, file_names: Sequence[str]
) -> Images:
    """Images sorted by id from columns in any order (sizes: integers, 0 where unknown)."""
    order = np.argsort(ids, kind="stable")
    return Images(
        ids=ids[order],
        width=np.asarray(width, np.int64).reshape(-1)[order],
        height=np.asarray(height, np.int64).reshape(-1)[order],
        file_names=tuple(file_names[i] for i in order.tolist()),
    )


def image_stems(images: Images) -> list[str]:
    """A unique name per image for writing files: the stem of its file name, else its id."""
    names = images.file_names or ("",) * len(images.ids)
    stems = [Path(n).stem if n else str(i) for n, i in zip(names, images.ids.tolist())]
    return stems if len(set(stems)) == len(stems) else [str(i) for i in images.ids.tolist()]


class ImageIndex:
    """Finds a ground-truth image by how another file names it: its file name or that name's
    stem (also zero-padded: `007` finds `7.jpg`), else its id as text. Names come first; an id
    is matched as text only when it is not one a reader made up from the images' positions in
    name order (it names nothing then). A name of two images finds neither (`missing` says so)."""

    def __init__(self, images: Images) -> None:
        self.images = images
        names = images.file_names or ("",) * len(images.ids)
        ids = images.ids.tolist()
        self.by_name: dict[str, set[int]] = {}
        for image_id, name in zip(ids, names):
            for key in {name, Path(name).stem if name else ""} - {""}:
                self.by_name.setdefault(key, set()).add(image_id)
        self.by_number: dict[int, set[int]] = {}
        for key, found in self.by_name.items():
            if key.isascii() and key.isdigit():
                self.by_number.setdefault(int(key), set()).update(found)
        self.ids = set(ids) if _ids_are_names(images.ids, names) else set()

    def _named(self, key: str) -> set[int] | None:
        found = self.by_name.get(key)
        if found is None and key.isascii() and key.isdigit():
            found = self.by_number.get(int(key))
        return found

    def find(self, key: str) -> int | None:
        """The id of the image `key` names, None when none or several."""
        found = self._named(key)
        if found is not None:
            return next(iter(found)) if len(found) == 1 else None
        if is_int_text(key) and int(key) in self.ids:
            return int(key)
        return None

    def find_all(self, keys: Sequence[str]) -> np.ndarray:
        """`find` of every key (-1 where it fails), each distinct key looked up once."""
        if not len(keys):
            return np.zeros(0, np.int64)
        distinct, inverse = np.unique(np.asarray(keys, dtype=str), return_inverse=True)
        found = [self.find(k) for k in distinct.tolist()]
        return np.array([-1 if f is None else f for f in found], np.int64)[inverse.reshape(-1)]

    def unknown(self, keys: Sequence[str]) -> np.ndarray:
        """(N,) bool: the key names no image (not one that names several: that is an error)."""
        found = self.find_all(keys)
        return np.fromiter(
            (f < 0 and len(self._named(k) or ()) < 2 for k, f in zip(keys, found.tolist())), bool, len(keys)
        )

    def missing(self, key: str, unknown: str) -> str:
        """Why `key` finds no image, for a message: `unknown`, or that it names several."""
        found = self._named(key)
        if found is None or len(found) < 2:
            return unknown
        ids = ", ".join(map(str, sorted(found)[:4])) + (", ..." if len(found) > 4 else "")
        return f"the name of {len(found)} ground-truth images (ids {ids}; expected one)"


def _ids_are_names(ids: np.ndarray, names: Sequence[str]) -> bool:
    """Whether image ids say something of their own: not the positions in sorted name order that
    `assign_image_ids` gives images whose names are not all numbers."""
    stems = [Path(n).stem for n in names]
    if not stems or not all(stems):
        return True
    if all(s.isascii() and s.isdigit() for s in stems) and ids.tolist() == [int(s) for s in stems]:
        return True
    return not np.array_equal(assign_image_ids(stems), ids)


def read_names(path: Path) -> dict[int, str]:
    """Class names by class number from a data.yaml-style file (`names:` a list, or a mapping
    number -> name), a JSON list or mapping, or a text file with one name per line (line i,
    from 0, names class i; blank lines are skipped)."""
    return read_names_file(path).names


@dataclass(frozen=True)
class ClassNames:
    """A names file: class names by class number and, when the file gives them
    (`category_ids: {number: id}`, as `write_names_file` writes), the category id of each
    number; else a number is its own category id."""

    names: dict[int, str]
    ids: dict[int, int] | None = None

    def id_of(self, number: int) -> int:
        return number if self.ids is None else self.ids[number]


def read_names_file(path: Path) -> ClassNames:
    """`read_names`, and the `category_ids:` mapping of a YAML or JSON names file (every named
    number with a unique integer id; a located InputError otherwise)."""
    suffix = path.suffix.lower()
    text = read_text(path)
    if suffix in (".yaml", ".yml", ".json"):
        if suffix == ".json":
            import json

            try:
                data: Any = json.loads(text)
            except ValueError as e:
                raise InputError(f"not valid JSON ({e})", source=str(path)) from None
        else:
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise InputError(f"not valid YAML ({str(e).splitlines()[0]})", source=str(path)) from None
            if not isinstance(data, dict) or "names" not in data:
                raise InputError(
                    "has no 'names' key (expected names: [a, b, ...] or {0: a, ...})", source=str(path)
                )
        names = data["names"] if isinstance(data, dict) and "names" in data else data
        if isinstance(names, list):
            names = dict(enumerate(names))
        if not isinstance(names, dict) or not names:
            raise InputError(
                f"names is {type(names).__name__}, expected a non-empty list or mapping number -> name",
                source=str(path),
                field="names",
            )
        out: dict[int, str] = {}
        for k, v in names.items():
            try:
                number = int(k)
            except (TypeError, ValueError):
                number = -1
            if number < 0 or isinstance(k, (bool, float)) or not isinstance(v, (str, int)):
                raise InputError(
                    f"entry {k!r}: {v!r} (expected a class number >= 0 and a name)",
                    source=str(path),
                    field="names",
                )
            out[number] = str(v)
        ids = data.get("category_ids") if isinstance(data, dict) and "names" in data else None
        return ClassNames(out, None if ids is None else _category_ids(ids, out, path))
    lines = [s.strip() for s in text.splitlines()]
    out = dict(enumerate(s for s in lines if s))
    if not out:
        raise InputError("is empty (expected one class name per line)", source=str(path))
    return ClassNames(out)


def _category_ids(ids: Any, names: Mapping[int, str], path: Path) -> dict[int, int]:
    """`category_ids:` of a names file: class number -> category id, for every named number."""
    where = {"source": str(path), "field": "category_ids"}
    if isinstance(ids, list):
        ids = dict(enumerate(ids))
    if not isinstance(ids, dict):
        raise InputError(f"is {type(ids).__name__}, expected a mapping class number -> category id", **where)
    out: dict[int, int] = {}
    for k, v in ids.items():
        ok_key = isinstance(k, int) and not isinstance(k, bool) or isinstance(k, str) and is_int_text(k)
        ok_value = isinstance(v, int) and not isinstance(v, bool) and abs(v) <= INT64_MAX
        if not (ok_key and ok_value):
            raise InputError(f"entry {k!r}: {v!r} (expected a class number and an integer id)", **where)
        out[int(k)] = v
    if set(out) != set(names):
        odd = sorted(set(out) ^ set(names))[:5]
        raise InputError(
            f"numbers {odd} are in one of names and category_ids only (expected the same class numbers)",
            **where,
        )
    if len(set(out.values())) != len(out):
        raise InputError("gives one category id to two class numbers (expected unique ids)", **where)
    return out


def class_numbers(category_ids: np.ndarray, all_ids: np.ndarray) -> np.ndarray:
    """Class numbers of categories (sorted `all_ids`): the ids when they are 0..K-1 (YOLO's own
    numbering), else their positions."""
    if np.array_equal(all_ids, np.arange(len(all_ids))):
        return category_ids
    return np.searchsorted(all_ids, category_ids)


def write_names_file(path: Path, categories: Categories) -> None:
    """A data.yaml of every category: `names:` by class number (`class_numbers`) and, when the
    numbers are not the ids, `category_ids:` number -> id, so ids and names read back exactly
    (Ultralytics reads `names:` and ignores the rest)."""
    import yaml

    ids = categories.ids
    numbers = class_numbers(ids, ids).tolist()
    data: dict[str, Any] = {"names": dict(zip(numbers, categories.names))}
    if numbers != ids.tolist():
        data["category_ids"] = dict(zip(numbers, ids.tolist()))
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def names_categories(names: Mapping[int, str]) -> Categories:
    ids = np.array(sorted(names), np.int64)
    return Categories(ids=ids, names=tuple(names[i] for i in ids.tolist()))


def is_int_text(s: str) -> bool:
    return s.isascii() and (s.isdigit() or (s[:1] == "-" and s[1:].isdigit()))


def _not_class_number(v: str) -> str:
    """What is wrong with `v` as a class number (ASCII digits, 0 to 2**63 - 1), "" if nothing."""
    if not is_int_text(v):
        return f"{v!r} is not a class number"
    if int(v) < 0:
        return f"class {v} is negative (expected a class number >= 0)"
    if int(v) > INT64_MAX:
        return f"class {v} is too large (expected a class number below 2**63)"
    return ""


def _map_classes(
    values: Sequence[str],
    resolve: Callable[[str], tuple[int, str]],
    problems: Problems,
    where: Callable[[int], tuple[str, str | None]],
) -> np.ndarray:
    """Category ids of rows, each distinct text resolved once: (id, "") or (-1, what is wrong)
    (a category id may itself be negative: what is wrong is told by the message)."""
    table = {v: resolve(v) for v in set(values)}
    ids = np.fromiter((table[v][0] for v in values), np.int64, len(values))
    if any(message for _, message in table.values()):
        for i, v in enumerate(values):
            if table[v][1]:
                source, record = where(i)
                problems.add(table[v][1], source=source, record=record, field="class")
    return ids


def gt_classes(
    values: Sequence[str],
    names: Mapping[int, str] | None,
    problems: Problems,
    where: Callable[[int], tuple[str, str | None]],
    *,
    numeric: bool | None,
    number_ids: Mapping[int, int] | None = None,
) -> tuple[np.ndarray, Categories]:
    """Category ids of ground-truth rows whose class is given as text, and the categories.

    Numbers (`numeric=True`, or None and every value is one) are the category ids; `names`
    then names them (a number it lacks is an error), else the numbers seen are the categories.
    Names: `names` gives their ids (a name it lacks is an error), else the names seen, sorted,
    get ids 0, 1, .... With `number_ids` (the names file's `category_ids:`), a class number of
    `names` stands for the category id it gives. `where(i)` is (source, record) of row i."""
    if number_ids is not None and names is not None:
        got, _ = gt_classes(values, names, problems, where, numeric=numeric)
        table = np.array(sorted(number_ids.items()), np.int64).reshape(-1, 2)
        known = got >= 0  # the numbers of `names`, or -1 (a problem already)
        got[known] = table[np.searchsorted(table[:, 0], got[known]), 1]
        return got, names_categories({number_ids[k]: n for k, n in names.items()})
    distinct = set(values)
    if numeric is None:
        numeric = bool(values) and all(map(is_int_text, distinct))
    if numeric:

        def number(v: str) -> tuple[int, str]:
            wrong = _not_class_number(v)
            if wrong:
                return -1, wrong
            if names is not None and int(v) not in names:
                return -1, f"class {v} is not in the names file (it has {_listed(names)})"
            return int(v), ""

        ids = _map_classes(values, number, problems, where)
        cats = (
            names_categories(names)
            if names is not None
            else names_categories({i: str(i) for i in np.unique(ids[ids >= 0]).tolist()})
        )
        return ids, cats
    if names is not None:
        by_name = {n: k for k, n in sorted(names.items(), reverse=True)}
    else:
        by_name = {n: k for k, n in enumerate(sorted(distinct))}

    def name(v: str) -> tuple[int, str]:
        found = by_name.get(v)
        return (
            (-1, f"class {v!r} is not in the names file (it has {_listed(names)})")
            if found is None
            else (found, "")
        )

    ids = _map_classes(values, name, problems, where)
    return ids, names_categories(names if names is not None else {k: n for n, k in by_name.items()})


def dt_classes(
    values: Sequence[str],
    categories: Categories,
    names: Mapping[int, str] | None,
    problems: Problems,
    where: Callable[[int], tuple[str, str | None]],
    *,
    numeric: bool | None,
    numbering: Mapping[int, int] | None = None,
) -> np.ndarray:
    """Ground-truth category ids of predictions whose class is given as text: a number is a
    category id (or, with `names`, the number of a name to look up; with `numbering`, class
    number -> category id, when `names` is known to number the ground truth's own categories,
    also those of the same name); a name is looked up among the ground truth's category names."""
    if numeric is None:
        numeric = bool(values) and all(map(is_int_text, set(values)))
    by_name: dict[str, int] = {}
    for cid, n in zip(categories.ids.tolist()[::-1], categories.names[::-1]):
        by_name[n] = cid
    known = set(categories.ids.tolist())

    def resolve(v: str) -> tuple[int, str]:
        wrong = _not_class_number(v) if numeric else ""
        if wrong:
            return -1, wrong
        if numeric and numbering is not None and int(v) in numbering:
            return numbering[int(v)], ""
        if numeric and names is not None:
            name = names.get(int(v))
            found = by_name.get(name) if name is not None else None
            if found is not None:
                return found, ""
            return -1, (
                f"class {v} is not in the predictions' names file"
                if name is None
                else f"class {v} ({name!r}) is not among the ground truth's category names"
            )
        if numeric:
            if int(v) in known:
                return int(v), ""
            return -1, (
                f"class {v} is not among the ground truth's categories "
                f"({_listed(dict(zip(categories.ids.tolist(), categories.names)))}); "
                "give the names file to map class numbers by name"
            )
        found = by_name.get(v)
        if found is not None:
            return found, ""
        return -1, f"class {v!r} is not among the ground truth's category names"

    return _map_classes(values, resolve, problems, where)


def _listed(names: Mapping[int, str] | None) -> str:
    if not names:
        return "none"
    items = [f"{k}: {v}" for k, v in sorted(names.items())[:8]]
    return ", ".join(items) + (", ..." if len(names) > 8 else "")


def sort_rows(image_id: np.ndarray, category_id: np.ndarray) -> np.ndarray:
    """Row order by (image, category, file order): every (image, class) group is a slice."""
    if len(image_id) == 0:
        return np.zeros(0, np.int64)
    if image_id.dtype.kind == "i" and category_id.dtype.kind == "i":
        img = image_id.astype(np.int64) - int(image_id.min())
        cat = category_id.astype(np.int64) - int(category_id.min())
        span = int(cat.max()) + 1
        n_keys = (int(img.max()) + 1) * span
        if n_keys <= 4 * len(img) + 4096:  # few keys: one counting sort
            img *= span
            img += cat
            return regroup(np.arange(len(img)), img, n_keys)
        if n_keys < 2**62:  # one int64 key sorts ~2x faster than a lexsort
            return argsort_stable(img * span + cat)
    return np.lexsort((np.arange(len(image_id)), category_id, image_id))


def take_masks(masks: Sequence[Any] | None, order: np.ndarray) -> RleMasks | None:
    """The masks in `order` as RleMasks (a gather of RleMasks' rows; None stays None)."""
    if masks is None:
        return None
    if not isinstance(masks, RleMasks):
        masks = RleMasks.from_rles(masks)
    return masks.take(order)


def build_dataset(
    *,
    image_id: np.ndarray,
    category_id: np.ndarray,
    box: np.ndarray,
    images: Images,
    categories: Categories,
    source: str,
    area: np.ndarray | None = None,
    iscrowd: np.ndarray | None = None,
    ignore: np.ndarray | None = None,
    masks: Sequence[Any] | None = None,
) -> Dataset:
    """A Dataset from columns in file order; area defaults to w*h, annotation ids to 1, 2, ..."""
    n = len(image_id)
    box = np.asarray(box, np.float64).reshape(n, 4)
    area = box[:, 2] * box[:, 3] if area is None else area
    iscrowd = np.zeros(n, bool) if iscrowd is None else np.asarray(iscrowd, bool)
    ignore = np.zeros(n, bool) if ignore is None else np.asarray(ignore, bool)
    order = sort_rows(image_id, category_id)
    return Dataset(
        image_id=image_id[order],
        category_id=category_id[order],
        box=np.take(box, order, axis=0),  # box[order]'s rows: numpy's take is ~10x faster on (N, 4)
        area=np.asarray(area, np.float64)[order],
        iscrowd=iscrowd[order],
        ann_id=np.arange(1, n + 1, dtype=np.int64)[order],
        images=images,
        categories=categories,
        masks=take_masks(masks, order),
        source=source,
        ignore=ignore[order],
    )


def build_detections(
    *,
    image_id: np.ndarray,
    category_id: np.ndarray,
    box: np.ndarray,
    score: np.ndarray,
    source: str,
    area: np.ndarray | None = None,
    masks: Sequence[Any] | None = None,
) -> Detections:
    """Detections from columns in file order; area defaults to w*h (COCO's results rule)."""
    n = len(image_id)
    box = np.asarray(box, np.float64).reshape(n, 4)
    area = box[:, 2] * box[:, 3] if area is None else area
    order = sort_rows(image_id, category_id)
    return Detections(
        image_id=image_id[order],
        category_id=category_id[order],
        box=np.take(box, order, axis=0),  # box[order]'s rows: numpy's take is ~10x faster on (N, 4)
        area=np.asarray(area, np.float64)[order],
        score=np.asarray(score, np.float64)[order],
        masks=take_masks(masks, order),
        source=source,
        file_index=order,
    )


def finish_predictions(
    source: str,
    where: Callable[[int], str],
    gt: Dataset,
    *,
    image_id: np.ndarray,
    category_id: np.ndarray,
    box: np.ndarray,
    score: np.ndarray,
    width: np.ndarray | None = None,
    height: np.ndarray | None = None,
) -> Detections:
    """A prediction reader's last step: warn of suspicious rows (image sizes from `gt` unless
    given), then the Detections."""
    if width is None or height is None:
        pos = np.searchsorted(gt.images.ids, image_id)
        width, height = gt.images.width[pos].astype(float), gt.images.height[pos].astype(float)
    warn_suspicious(
        source,
        where,
        image_id=image_id,
        category_id=category_id,
        box=box,
        width=width,
        height=height,
        score=score,
        gt_category_ids=np.unique(gt.category_id),
    )
    return build_detections(image_id=image_id, category_id=category_id, box=box, score=score, source=source)


def keep_gt_images(
    rows: Rows, image_key: list[str], index: ImageIndex, source: str, only_gt_images: bool
) -> tuple[Rows, list[str]]:
    """The rows (and their image names) on the ground truth's images, when `only_gt_images`:
    the others left out with a DataWarning; else all of them (the reader names the others)."""
    if not only_gt_images:
        return rows, image_key
    drop = index.unknown(image_key)
    if not drop.any():
        return rows, image_key
    first = int(drop.argmax())
    dropped = [k for k, d in zip(image_key, drop.tolist()) if d]
    warn_left_out(source, "prediction(s)", len(dropped), len(set(dropped)), rows.where_text(first))
    return rows.subset(~drop), [k for k, d in zip(image_key, drop.tolist()) if not d]


def xyxy_to_xywh(b: np.ndarray) -> np.ndarray:
    """An overflow (x2 - x1 beyond float64) gives inf, which the readers' checks refuse."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)


def cxcywh_to_xywh(b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 2], b[:, 3]], axis=1)


BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def to_xywh(b: np.ndarray, box_format: str) -> np.ndarray:
    """(N, 4) boxes in `box_format` ("xyxy", "xywh" or "cxcywh") as COCO's [x, y, w, h]."""
    b = np.asarray(b, np.float64).reshape(-1, 4)
    if box_format == "xyxy":
        return xyxy_to_xywh(b)
    if box_format == "cxcywh":
        return cxcywh_to_xywh(b)
    return b


def from_xywh(b: np.ndarray, box_format: str) -> np.ndarray:
    """COCO [x, y, w, h] boxes in `box_format`."""
    if box_format == "xyxy":
        return np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], axis=1)
    if box_format == "cxcywh":
        return np.stack([b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2, b[:, 2], b[:, 3]], axis=1)
    return b


def check_box_values(
    box: np.ndarray,
    problems: Problems,
    where: Callable[[int], tuple[str, str | None]],
    field: str,
    expected: str,
) -> np.ndarray:
    """(N,) bool of rows whose xywh box is finite with w, h >= 0 (and finite corners and area);
    a problem for each other row."""
    finite = np.isfinite(box).all(axis=1)
    negative = finite & ((box[:, 2] < 0) | (box[:, 3] < 0))
    overflow = box_overflows(box)
    bad = ~finite | negative | overflow
    for i in np.flatnonzero(bad)[: problems.limit].tolist():
        source, record = where(i)
        if overflow[i]:
            problems.add(
                f"is {box[i].tolist()} (as x, y, w, h): {OVERFLOW}", source=source, record=record, field=field
            )
            continue
        what = (  # the callers pass rows whose values were read: not finite here is an overflow
            f"is {box[i].tolist()} as x, y, w, h: not finite (float64 overflows)"
            if not finite[i]
            else "has a negative width or height"
        )
        problems.add(f"{what} (expected {expected})", source=source, record=record, field=field)
    problems.count += max(0, int(bad.sum()) - problems.limit)
    good: np.ndarray = ~bad
    return good
