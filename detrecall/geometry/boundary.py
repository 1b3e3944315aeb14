"""Boundary IoU's boundary bands (Cheng et al., CVPR 2021) on COCO run-length encodings.

The band of a mask is the mask minus its erosion by a (2d+1) x (2d+1) square, everything outside
the image counting as background: the mask's pixels within Chebyshev distance d of a pixel that
is not in it, so a mask cut by the image border has a band along the border. d is
`dilation_ratio` times the diagonal of the mask's h x w image, rounded as faster-coco-eval's
`toBoundary` rounds it (half away from zero after subtracting 1e-10: 1.5 -> 1, 2.5 -> 2,
12.5 -> 12), and at least 1. Boundary IoU of a detection and a ground truth is then
min(mask IoU, IoU of their bands); against a crowd it is the mask IoU alone (`matching`).

Computed on runs, never on pixels, for many masks at once:
1. each RLE's counts string is decoded to run lengths (`rle_runs`), its foreground runs cut at
   column ends into column segments [y0, y1) (COCO masks are column-major);
2. vertical erosion shrinks every segment by d at both ends;
3. horizontal erosion intersects each column with its 2d neighbours. The masks' columns (from
   each one's leftmost) are laid end to end, 2d+1 empty columns apart, so that a look-up of
   column c + s never reaches another mask; the intersection over a window of 2^(j+1) columns
   is that of the windows of 2^j at c and c + 2^j, and the window of 2d+1 that of two
   overlapping windows of the largest 2^J <= 2d+1: log2(2d+1) + 1 passes;
4. the band is the mask's segments minus the eroded ones.
Each pass costs about one operation per column segment, i.e. grows with the masks' widths, not
their areas. Bands are intersected pair by pair column by column (`boundary_iou_pairs`), or
encoded back as compressed RLEs (`boundary_rles`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DetrecallError
from .masks import RLE

DEFAULT_DILATION_RATIO = 0.02
_MAX_CHARS = 7  # characters of one run length below 2**32 in a compressed RLE string


def dilation_pixels(heights: np.ndarray, widths: np.ndarray, dilation_ratio: float) -> np.ndarray:
    """d of each h x w image: round(dilation_ratio * sqrt(h² + w²) - 1e-10), half away from zero,
    at least 1 (faster-coco-eval's toBoundary, operation for operation). (N,) int64."""
    h = np.asarray(heights, np.int64)
    w = np.asarray(widths, np.int64)
    x = dilation_ratio * np.sqrt((h * h + w * w).astype(np.float64)) - 1e-10
    whole = np.floor(x)
    rounded = whole + (x - whole >= 0.5)  # x - floor(x) is exact: no double rounding at halves
    return np.maximum(rounded, 1).astype(np.int64)


def mask_sizes(rles: Sequence[RLE]) -> np.ndarray:
    """(N, 2) int64 [h, w] of each RLE."""
    return np.array([r["size"] for r in rles], np.int64).reshape(-1, 2)


def _counts_bytes(rle: RLE) -> bytes:
    counts = rle["counts"]
    if isinstance(counts, str):
        return counts.encode("ascii")
    if isinstance(counts, (bytes, bytearray, memoryview)):
        return bytes(counts)
    raise DetrecallError(f"boundary bands need compressed RLEs (counts as a string), got {type(counts)}")


def _ramp(n: np.ndarray) -> np.ndarray:
    """0, 1, ..., n[0]-1, 0, 1, ..., n[1]-1, ...: each item's place in its group."""
    total = int(n.sum())
    return np.arange(total) - np.repeat(np.cumsum(n) - n, n)


def _segmented_cumsum(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Cumulative sums of x restarting at each of the consecutive segments of these lengths."""
    total = np.cumsum(x)
    before = np.r_[0, total][np.r_[0, np.cumsum(lengths)[:-1]]] if len(lengths) else total[:0]
    return total - np.repeat(before, lengths)


def rle_runs(rles: Sequence[RLE]) -> tuple[np.ndarray, np.ndarray]:
    """The run lengths of every compressed RLE, as pycocotools' rleFrString reads them: (all
    runs concatenated, int64; (N+1,) offsets of each RLE's runs). A string cut short, or whose
    runs are negative or do not add up to h*w, is a DetrecallError."""
    raw = [_counts_bytes(r) for r in rles]
    sizes = mask_sizes(rles)
    chars = np.frombuffer(b"".join(raw), np.uint8) - np.uint8(48)
    n_chars = np.fromiter(map(len, raw), np.int64, len(raw))
    last = (chars & 0x20) == 0  # the character that ends a number
    char_end = np.cumsum(n_chars)
    if len(chars) and not np.all(last[char_end[n_chars > 0] - 1]):
        raise DetrecallError("an RLE counts string is cut short (its last run length is incomplete)")
    ends = np.flatnonzero(last)
    starts = np.r_[0, ends[:-1] + 1]
    width = ends - starts + 1
    if len(width) and width.max() > _MAX_CHARS:
        raise DetrecallError("an RLE counts string has a run length of more than 7 characters")
    top = chars[ends].astype(np.int64)  # the last 5 bits, signed: bit 0x10 is the sign
    value = ((top & 0x1F) - ((top & 0x10) << 1)) << (5 * (width - 1))
    for k in range(int(width.max(initial=0)) - 1):  # the k-th 5 bits of the numbers longer than k + 1
        rows = np.flatnonzero(width > k + 1)
        value[rows] += (chars[starts[rows] + k] & 0x1F).astype(np.int64) << (5 * k)
    counted = np.r_[0, np.cumsum(last)]
    per_rle = counted[char_end] - counted[char_end - n_chars]
    offsets = np.r_[0, np.cumsum(per_rle)]
    index = _ramp(per_rle)
    for parity, first in ((1, 1), (0, 2)):  # from the fourth on, a run is a delta to the one two back
        chain = (index % 2 == parity) & (index >= first)
        value = np.where(chain, _segmented_cumsum(np.where(chain, value, 0), per_rle), value)
    summed = np.r_[0, np.cumsum(value)]
    if np.any(value < 0) or np.any(summed[offsets[1:]] - summed[offsets[:-1]] != sizes[:, 0] * sizes[:, 1]):
        raise DetrecallError("an RLE has negative runs, or runs that do not add up to h*w")
    return value, offsets


def encode_runs(runs: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    """Compressed RLE strings of run lengths (`rle_runs`' form), as pycocotools' rleToString
    writes them."""
    index = _ramp(np.diff(offsets))
    x = runs.copy()
    later = np.flatnonzero(index > 2)
    x[later] -= runs[later - 2]
    n_chars = np.ones(len(x), np.int64)
    rest = x >> 5
    for _ in range(_MAX_CHARS - 1):  # a number goes on while what is left is not its sign
        more = np.where((x >> (5 * (n_chars - 1))) & 0x10, rest != -1, rest != 0)
        if not more.any():
            break
        n_chars += more
        rest = np.where(more, rest >> 5, rest)
    value = np.repeat(x, n_chars)
    k = _ramp(n_chars)
    chars = (value >> (5 * k)) & 0x1F
    chars |= np.where(k < np.repeat(n_chars, n_chars) - 1, 0x20, 0)
    text = (chars + 48).astype(np.uint8).tobytes()
    ends = np.r_[0, np.cumsum(n_chars)][offsets]
    return [text[a:b] for a, b in zip(ends[:-1].tolist(), ends[1:].tolist())]


@dataclass(frozen=True)
class Segments:
    """Column segments [y0, y1) of many masks, sorted by (column, y0), disjoint. Mask m's image
    column x is column base[m] + x - left[m]; 2 max(d) + 1 empty columns follow each mask."""

    column: np.ndarray  # (S,) int64
    y0: np.ndarray  # (S,) int64
    y1: np.ndarray  # (S,) int64
    base: np.ndarray  # (N,) first column of each mask
    left: np.ndarray  # (N,) image column of each mask's first column (its leftmost pixels)
    width: np.ndarray  # (N,) columns from its leftmost to its rightmost pixels
    n_columns: int  # columns in all, gaps included

    def with_(self, column: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> Segments:
        return Segments(column, y0, y1, self.base, self.left, self.width, self.n_columns)

    def take(self, keep: np.ndarray) -> Segments:
        return self.with_(self.column[keep], self.y0[keep], self.y1[keep])

    def column_starts(self) -> np.ndarray:
        """(n_columns + 1,) where each column's segments begin."""
        return np.r_[0, np.cumsum(np.bincount(self.column, minlength=self.n_columns))]

    def mask_of(self) -> np.ndarray:
        """(S,) the mask of each segment."""
        return np.searchsorted(self.base, self.column, side="right") - 1


def column_segments(runs: np.ndarray, offsets: np.ndarray, heights: np.ndarray, gap: int) -> Segments:
    """Every foreground run of every mask cut at column ends, laid out as `Segments`."""
    per_rle = np.diff(offsets)
    starts = _segmented_cumsum(runs, per_rle) - runs
    fg = np.flatnonzero((_ramp(per_rle) % 2 == 1) & (runs > 0))
    mask = np.repeat(np.arange(len(per_rle)), per_rle)[fg]
    s, e, h = starts[fg], starts[fg] + runs[fg], heights[mask]
    c0, c1 = s // h, (e - 1) // h
    n = c1 - c0 + 1
    run = np.repeat(np.arange(len(fg)), n)
    x = c0[run] + _ramp(n)
    top = x * h[run]
    y0 = np.where(x == c0[run], s[run] - top, 0)
    y1 = np.where(x == c1[run], e[run] - top, h[run])
    m = mask[run]
    n_masks = len(per_rle)
    has = np.bincount(m, minlength=n_masks) > 0
    left = np.zeros(n_masks, np.int64)
    right = np.zeros(n_masks, np.int64)
    if len(m):
        first = np.r_[True, m[1:] != m[:-1]]
        final = np.r_[m[1:] != m[:-1], True]
        left[m[first]], right[m[final]] = x[first], x[final]
    width = np.where(has, right - left + 1, 0)
    base = np.r_[0, np.cumsum(width + gap)[:-1]]
    column = base[m] + x - left[m]
    return Segments(column, y0, y1, base, left, width, int((width + gap).sum()))


def _intersect_ahead(seg: Segments, shift: np.ndarray | int) -> Segments:
    """Each segment of column c intersected with the segments of column c + shift (shift >= 0,
    per segment or one for all), kept at column c; sorted as `seg`."""
    first = seg.column_starts()
    target = seg.column + shift
    lo, hi = first[target], first[target + 1]
    n = hi - lo
    i = np.repeat(np.arange(len(seg.column)), n)
    k = np.repeat(lo, n) + _ramp(n)
    y0 = np.maximum(seg.y0[i], seg.y0[k])
    y1 = np.minimum(seg.y1[i], seg.y1[k])
    keep = y0 < y1
    return seg.with_(seg.column[i][keep], y0[keep], y1[keep])


def eroded(seg: Segments, dilation: np.ndarray) -> Segments:
    """The segments eroded by each mask's (2d+1) square: vertically by shrinking, then across
    columns by doubling windows (module docstring, step 3)."""
    d = dilation[seg.mask_of()]
    level = seg.with_(seg.column, seg.y0 + d, seg.y1 - d).take(seg.y0 + d < seg.y1 - d)
    window = 2 * dilation + 1
    last = np.floor(np.log2(window)).astype(np.int64)  # 2**last <= window < 2**(last + 1)
    done: list[Segments] = []
    for j in range(int(last.max(initial=0)) + 1):
        mask = level.mask_of()
        here = last[mask] == j
        if here.any():  # E(c + d) = I_j(c) ∩ I_j(c + r), r = 2d + 1 - 2**j
            fin = level.take(here)
            m = mask[here]
            part = _intersect_ahead(fin, window[m] - (1 << j))
            done.append(part.with_(part.column + dilation[part.mask_of()], part.y0, part.y1))
            level = level.take(~here)
        if not len(level.column):
            break
        level = _intersect_ahead(level, 1 << j)  # I_(j+1)(c) = I_j(c) ∩ I_j(c + 2**j)
    if not done:
        return seg.take(np.zeros(0, np.int64))
    out = seg.with_(*(np.concatenate(parts) for parts in zip(*((s.column, s.y0, s.y1) for s in done))))
    return out.take(np.lexsort((out.y0, out.column)))


def minus(whole: Segments, inner: Segments) -> Segments:
    """whole \\ inner, where each inner segment lies inside one whole segment."""
    stride = int(max(whole.y1.max(initial=0), 0)) + 1
    home = np.searchsorted(whole.column * stride + whole.y0, inner.column * stride + inner.y0, "right") - 1
    before = np.bincount(home, minlength=len(whole.column))
    slot = np.arange(len(whole.column)) + np.r_[0, np.cumsum(before)[:-1]]
    n = len(whole.column) + len(inner.column)
    column, y0, y1 = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    column[slot], y0[slot], y1[slot + before] = whole.column, whole.y0, whole.y1
    k = np.arange(len(inner.column))
    column[home + k + 1], y0[home + k + 1], y1[home + k] = inner.column, inner.y1, inner.y0
    return whole.with_(column, y0, y1).take(y0 < y1)


def band_segments(rles: Sequence[RLE], dilation: np.ndarray) -> tuple[Segments, np.ndarray]:
    """The boundary bands of masks for a dilation d in pixels per mask, as `Segments`, and
    each mask's (N, 2) [h, w]."""
    sizes = mask_sizes(rles)
    dilation = np.broadcast_to(np.asarray(dilation, np.int64), (len(sizes),))
    runs, offsets = rle_runs(rles)
    whole = column_segments(runs, offsets, sizes[:, 0], 2 * int(dilation.max(initial=0)) + 1)
    return minus(whole, eroded(whole, dilation)), sizes


def _to_runs(seg: Segments, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run lengths (`rle_runs`' form) of the masks of `seg`, as pycocotools' rleEncode counts
    them (no trailing run of 0 pixels)."""
    heights, pixels = sizes[:, 0], sizes[:, 0] * sizes[:, 1]
    m = seg.mask_of()
    s = (seg.column - seg.base[m] + seg.left[m]) * heights[m] + seg.y0
    e = s + (seg.y1 - seg.y0)
    joins = np.r_[False, (m[1:] == m[:-1]) & (s[1:] == e[:-1])]  # runs that go on in the next column
    first = np.flatnonzero(~joins)
    e = e[np.r_[first[1:] - 1, len(e) - 1]] if len(first) else e
    s, m = s[first], m[first]
    n = len(pixels)
    per = np.bincount(m, minlength=n)
    first_of = np.r_[0, np.cumsum(per)[:-1]]
    prev_e = np.r_[0, e[:-1]]
    prev_e[first_of[per > 0]] = 0
    last_e = np.zeros(n, np.int64)
    last_e[per > 0] = e[np.cumsum(per)[per > 0] - 1]
    tail = pixels - last_e
    has_tail = (tail > 0) | (per == 0)
    offsets = np.r_[0, np.cumsum(2 * per + has_tail)]
    out = np.zeros(int(offsets[-1]), np.int64)
    at = np.repeat(offsets[:-1], per) + 2 * _ramp(per)
    out[at], out[at + 1] = s - prev_e, e - s
    out[offsets[1:][has_tail] - 1] = tail[has_tail]
    return out, offsets


def boundary_bands(rles: Sequence[RLE], dilation: np.ndarray | int) -> list[RLE]:
    """The boundary band of each mask (compressed RLE, its size kept) for a dilation d in pixels
    (one, or one per mask)."""
    seg, sizes = band_segments(rles, np.asarray(dilation, np.int64))
    strings = encode_runs(*_to_runs(seg, sizes))
    return [{"size": [h, w], "counts": c} for (h, w), c in zip(sizes.tolist(), strings)]


def boundary_rles(rles: Sequence[RLE], dilation_ratio: float = DEFAULT_DILATION_RATIO) -> list[RLE]:
    """The boundary band of each mask, d = dilation_ratio x its image's diagonal (module
    docstring), as faster-coco-eval's mask.rleToBoundary computes it."""
    sizes = mask_sizes(rles)
    return boundary_bands(rles, dilation_pixels(sizes[:, 0], sizes[:, 1], dilation_ratio))


def _pair_intersections(seg: Segments, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels in both bands of masks a[i] and b[i] of `seg` (same image size), per pair."""
    lo = np.maximum(seg.left[a], seg.left[b])
    hi = np.minimum(seg.left[a] + seg.width[a], seg.left[b] + seg.width[b])
    n = np.maximum(hi - lo, 0)
    pair = np.repeat(np.arange(len(a)), n)
    x = np.repeat(lo, n) + _ramp(n)  # every image column the two have in common
    first = seg.column_starts()
    ca = seg.base[a[pair]] + x - seg.left[a[pair]]
    cb = seg.base[b[pair]] + x - seg.left[b[pair]]
    na, nb = first[ca + 1] - first[ca], first[cb + 1] - first[cb]
    per_col = na * nb
    col = np.repeat(np.arange(len(x)), per_col)
    k = _ramp(per_col)
    i = first[ca][col] + k // nb[col]
    j = first[cb][col] + k % nb[col]
    overlap = np.maximum(np.minimum(seg.y1[i], seg.y1[j]) - np.maximum(seg.y0[i], seg.y0[j]), 0)
    return np.bincount(pair[col], weights=overlap, minlength=len(a)).astype(np.int64)


def boundary_iou_pairs(
    dt_masks: Sequence[RLE],
    gt_masks: Sequence[RLE],
    dt_rows: np.ndarray,
    gt_rows: np.ndarray,
    dilation_ratio: float = DEFAULT_DILATION_RATIO,
) -> np.ndarray:
    """IoU of the boundary bands of each (dt_masks[dt_rows[i]], gt_masks[gt_rows[i]]) pair, as
    pycocotools' mask IoU of the two bands computes it (intersection / union of pixel counts, 0
    when they do not meet; no crowd rule: boundary IoU scores crowds by the mask IoU). Each
    mask's band is computed once, whatever its number of pairs. (P,) float64."""
    if len(dt_rows) == 0:
        return np.zeros(0)
    d_unique, d_at = np.unique(dt_rows, return_inverse=True)
    g_unique, g_at = np.unique(gt_rows, return_inverse=True)
    masks = [dt_masks[i] for i in d_unique.tolist()] + [gt_masks[i] for i in g_unique.tolist()]
    sizes = mask_sizes(masks)
    seg, _ = band_segments(masks, dilation_pixels(sizes[:, 0], sizes[:, 1], dilation_ratio))
    a, b = d_at.reshape(-1), len(d_unique) + g_at.reshape(-1)
    if np.any(sizes[a] != sizes[b]):
        raise DetrecallError("boundary IoU of masks of different sizes")
    area = np.bincount(seg.mask_of(), weights=seg.y1 - seg.y0, minlength=len(masks)).astype(np.int64)
    inter = _pair_intersections(seg, a, b)
    union = area[a] + area[b] - inter
    return np.where(inter > 0, inter / np.maximum(union, 1), 0.0)
