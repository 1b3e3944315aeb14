"""Image sizes for formats whose boxes need them (YOLO's are relative to the image): read from
the image files' headers, or from a sizes file.

Headers are parsed here (PNG, JPEG, GIF, BMP, WebP: a few fixed fields each) rather than with
Pillow: reading the first bytes of each file is all it takes, it is faster than opening images,
and it keeps Pillow out of the dependencies. A JPEG whose EXIF orientation turns it by 90°
(orientations 5-8) has its width and height swapped, as the image is shown and as YOLO tools
(ultralytics' exif_size) label it.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError
from ._common import folder_files, read_text
from ._problems import Problems
from ._records import open_regular

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
Sizes = dict[str, tuple[int, int, str]]  # stem -> (width, height, file name)


def _jpeg_size(f: BinaryIO) -> tuple[int, int] | None:
    f.seek(2)
    swap = False
    while True:
        byte = f.read(1)
        while byte and byte != b"\xff":  # garbage between segments
            byte = f.read(1)
        marker = f.read(1)
        while marker == b"\xff":
            marker = f.read(1)
        if not marker:
            return None
        m = marker[0]
        if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7:
            continue  # no length field
        head = f.read(2)
        if len(head) < 2:
            return None
        length = struct.unpack(">H", head)[0]
        if length < 2:  # the length counts its own two bytes: anything less is not a JPEG
            return None
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):  # start of frame
            data = f.read(5)
            if len(data) < 5:
                return None
            h, w = struct.unpack(">xHH", data)
            return (h, w) if swap else (w, h)
        segment = f.read(length - 2)
        if m == 0xE1 and segment[:6] == b"Exif\x00\x00":
            swap = _exif_orientation(segment[6:]) in (5, 6, 7, 8)


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (274) of an EXIF TIFF block, 1 (upright) when absent or unreadable."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    end = "<" if tiff[:2] == b"II" else ">"
    offset = struct.unpack(end + "I", tiff[4:8])[0]
    if offset + 2 > len(tiff):
        return 1
    count = struct.unpack(end + "H", tiff[offset : offset + 2])[0]
    for k in range(count):
        entry = tiff[offset + 2 + 12 * k : offset + 14 + 12 * k]
        if len(entry) < 12:
            break
        tag, kind = struct.unpack(end + "HH", entry[:4])
        if tag == 274:
            return struct.unpack(end + "H", entry[8:10])[0] if kind == 3 else 1
    return 1


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from an image file's header; None when the format is not recognized."""
    with open_regular(path) as f:
        head = f.read(32)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", head[6:10])
        if head[:2] == b"BM" and len(head) >= 26:
            if struct.unpack("<I", head[14:18])[0] == 12:
                return struct.unpack("<HH", head[18:22])
            w, h = struct.unpack("<ii", head[18:26])
            return w, abs(h)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            kind = head[12:16]
            if kind == b"VP8 " and len(head) >= 30:
                w, h = struct.unpack("<HH", head[26:30])
                return w & 0x3FFF, h & 0x3FFF
            if kind == b"VP8L" and len(head) >= 25:
                bits = struct.unpack("<I", head[21:25])[0]
                return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
            if kind == b"VP8X" and len(head) >= 30:
                return (1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little"))
            return None
        if head[:2] == b"\xff\xd8":
            return _jpeg_size(f)
    return None


def sizes_from_folder(folder: Path) -> Sizes:
    """Every image of `folder` (by suffix: jpg, jpeg, png, bmp, gif, webp), its size read from
    its header; an image whose header cannot be read is an error naming it."""
    files = [p for s in IMAGE_SUFFIXES for p in folder_files(folder, s, "images")]
    problems = Problems(str(folder))
    out: Sizes = {}
    for p in sorted(files):
        if p.stem in out:
            problems.add(f"two images named {p.stem!r} ({out[p.stem][2]} and {p.name})", source=str(p))
            continue
        try:
            size = image_size(p)
        except InputError as e:
            problems.add(e.message, source=str(p))
            continue
        except OSError as e:
            problems.add(f"cannot read: {e.strerror}", source=str(p))
            continue
        if size is None or min(size) <= 0:
            problems.add(
                "cannot read the image size from its header (expected a PNG, JPEG, GIF, BMP or WebP file)",
                source=str(p),
            )
            continue
        out[p.stem] = (int(size[0]), int(size[1]), p.name)
    problems.check()
    return out


MAX_SIDE = 2**31 - 1  # an image width or height: what pycocotools' int coordinates hold


def _side(v: object) -> int:
    """An image width or height from a sizes file: a JSON integer or the ASCII digits of one
    (not `1_0`, `1e3` or other scripts' digits, which Python's int() takes), at most MAX_SIDE;
    -1 when it is anything else."""
    if isinstance(v, int) and not isinstance(v, bool):
        n = v
    elif isinstance(v, str) and v.isascii() and v.isdigit():
        n = int(v)
    else:
        return -1
    return n if 0 < n <= MAX_SIDE else -1


def read_sizes(path: Path) -> Sizes:
    """Image sizes from a file: CSV with a header naming the columns `image` (or `file_name`,
    `filename`, `stem`), `width` and `height`; or JSON, either {image: [width, height]} or a
    COCO instances file (its images' file_name, width, height). Images are keyed by stem."""
    text = read_text(path)
    problems = Problems(str(path))
    out: Sizes = {}

    def add(name: object, w: object, h: object, record: str) -> None:
        if not isinstance(name, str) or not name:
            problems.add(f"image name is {name!r} (expected a file name)", record=record, field="image")
            return
        wi, hi = _side(w), _side(h)
        if wi <= 0 or hi <= 0:
            problems.add(
                f"size is {w!r} x {h!r} (expected positive integers width, height, at most {MAX_SIDE})",
                record=record,
                field="width/height",
            )
            return
        stem = Path(name).stem
        if stem in out:
            problems.add(f"image {stem!r} appears twice", record=record, field="image")
            return
        out[stem] = (wi, hi, name)

    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as e:
            raise InputError(f"not valid JSON ({e})", source=str(path)) from None
        if isinstance(data, dict) and isinstance(data.get("images"), list):
            for i, im in enumerate(data["images"]):
                if not isinstance(im, dict):
                    problems.add("is not an object", record=f"image {i}")
                    continue
                add(im.get("file_name"), im.get("width"), im.get("height"), f"image {i}")
        elif isinstance(data, dict):
            for name, wh in data.items():
                ok = isinstance(wh, list) and len(wh) == 2
                add(name, wh[0] if ok else None, wh[1] if ok else None, f"image {name!r}")
        else:
            raise InputError(
                f"is a JSON {type(data).__name__}, expected {{image: [width, height]}} "
                "or a COCO instances file",
                source=str(path),
            )
    else:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise InputError(
                "is empty (expected a header image,width,height and one row per image)", source=str(path)
            )
        header = [h.strip().lower() for h in rows[0]]
        image_col = next(
            (header.index(c) for c in ("image", "file_name", "filename", "stem") if c in header), None
        )
        if image_col is None or "width" not in header or "height" not in header:
            raise InputError(
                f"header is {rows[0]} (expected columns image, width, height)",
                source=str(path),
                record="line 1",
            )
        wc, hc = header.index("width"), header.index("height")
        for n, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            if len(row) != len(header):
                problems.add(f"has {len(row)} values, the header {len(header)}", record=f"line {n}")
                continue
            add(row[image_col].strip(), row[wc].strip(), row[hc].strip(), f"line {n}")
    problems.check()
    return out
