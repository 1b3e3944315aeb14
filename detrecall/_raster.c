/* detrecall._raster: COCO polygons to compressed RLE strings, byte for byte what pycocotools
 * gives (mask.frPyObjects of an object's parts, then mask.merge of them), without a Python
 * object per part and without pycocotools' h*w-sized scratch buffers. The pure-Python twin is
 * the pycocotools path in detrecall/geometry/masks.py; tests/geometry/test_raster.py holds the
 * two equal.
 *
 * 1. polygon_rles(objects, h, w): one compressed RLE string (bytes) per object (a sequence of
 *    parts, each a flat sequence x1, y1, x2, y2, ...). A part is drawn as pycocotools' rleFrPoly
 *    draws it: vertices scaled by 5 and truncated to ints, every edge walked point by point in
 *    that grid (with its own double rounding, and its own direction flip), the points where
 *    the walk changes column kept when the column is a pixel centre, each then the start of a
 *    run in column-major order. Parts are merged (union) as rleMerge merges them, strings
 *    written as rleToString writes them. Anything it does not take (a vertex outside
 *    masks.polygon_bounds, a part of fewer than 3 points or of odd length, a non-number, an
 *    image of 0 or more than 2^32 - 1 pixels, an object with no part) returns None: the caller
 *    takes the twin, which raises the located error.
 * 2. uncompressed_rle(counts, h, w): the compressed string of an uncompressed RLE (a list of
 *    run lengths) as pycocotools' frPyObjects writes it, when the runs are plain ints >= 0
 *    adding up to h*w; else None, and the caller's checks name the record.
 * 3. first_odd_polygon(segmentations, heights, widths, start): the index (>= start) of the
 *    first record whose segmentation is a list of polygons that is not plainly valid (a
 *    non-empty list of lists of >= 6, an even number of, finite exact ints or floats, within
 *    masks.polygon_bounds of its image, the image 1 to 2^32 - 1 pixels), or -1. Records whose
 *    segmentation is not a list are skipped. The caller runs its Python checks on the record
 *    found (they raise, or pass it: e.g. numpy scalars), then asks again from the next one.
 * 4. flat_polygon_rles(coords, part_lengths, part_counts, heights, widths, threads=1): what
 *    polygon_rles gives, one string per object, of objects given as flat columns (the compiled
 *    ground-truth parser's: float64 coordinates, int64 coordinates per part, parts per object,
 *    and each object's own image height and width), with the same refusals (None), drawn
 *    without the GIL, the objects split over up to `threads` threads (the same strings for any
 *    count). dicts=True: each as an RLE {"size": (h, w), "counts": bytes} (as masks.py's
 *    polygons_to_rles gives it), one untracked (h, w) tuple for each run of one size.
 * 5. flat_uncompressed_rles(runs, run_counts, heights, widths): uncompressed_rle of each run
 *    list of flat int64 columns, None unless every one is plain.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COORD_CAP 4e8           /* masks.POLYGON_COORDINATE_LIMIT */
#define MAX_PIXELS 4294967295.0 /* masks.MAX_MASK_PIXELS */

/* ---------------------------------------------------------------- growable buffers */

typedef struct {
    uint32_t *v;
    size_t n, cap;
} Runs;

static int runs_reserve(Runs *r, size_t need)
{
    if (need <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 64;
    while (cap < need)
        cap *= 2;
    uint32_t *v = realloc(r->v, cap * sizeof *v);
    if (!v)
        return -1;
    r->v = v;
    r->cap = cap;
    return 0;
}

static int runs_push(Runs *r, uint32_t x)
{
    if (r->n == r->cap && runs_reserve(r, r->n + 1))
        return -1;
    r->v[r->n++] = x;
    return 0;
}

typedef struct {
    Runs cols, rows; /* a part's run starts: pixel column and row (0..h) of each */
    Runs buckets;    /* starts per column */
    Runs starts;     /* the run starts sorted (column-major pixel indices), then runs */
    Runs part;       /* the part's runs */
    Runs merged;     /* the object's runs so far */
    Runs scratch;    /* the merge's output */
    double *xy;      /* a part's coordinates */
    size_t xy_cap;
    int64_t *ix, *iy; /* its scaled vertices, closed */
    size_t iv_cap;
    char *text;      /* the encoded string */
    size_t text_cap;
} Work;

static void work_free(Work *w)
{
    free(w->cols.v);
    free(w->rows.v);
    free(w->buckets.v);
    free(w->starts.v);
    free(w->part.v);
    free(w->merged.v);
    free(w->scratch.v);
    free(w->xy);
    free(w->ix);
    free(w->iy);
    free(w->text);
}

/* ---------------------------------------------------------------- image bounds */

typedef struct {
    uint32_t h, w;
    double x0, x1, y0, y1; /* masks.polygon_bounds(h, w) */
} Image;

/* 0 when h x w is an image polygons are drawn on (1 to 2^32 - 1 pixels), with its bounds */
static int image_of(long long h, long long w, Image *im)
{
    if (h <= 0 || w <= 0 || (double)h * (double)w > MAX_PIXELS)
        return -1;
    double side = (double)(h > w ? h : w);
    im->h = (uint32_t)h;
    im->w = (uint32_t)w;
    im->x0 = fmax(-side, -COORD_CAP);
    im->x1 = fmin((double)w + side, COORD_CAP);
    im->y0 = im->x0;
    im->y1 = fmin((double)h + side, COORD_CAP);
    return 0;
}

/* ---------------------------------------------------------------- one part */

/* Ascending: insertion sort for a few, else an LSD radix sort by bytes through tmp */
static int sort_u32(Runs *a, Runs *tmp)
{
    size_t n = a->n;
    uint32_t *v = a->v;
    if (n <= 64) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1] > x; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return 0;
    }
    if (runs_reserve(tmp, n))
        return -1;
    uint32_t *src = v, *dst = tmp->v, differ = 0; /* the bits in which some values differ */
    for (size_t i = 1; i < n; i++)
        differ |= v[i] ^ v[0];
    for (int shift = 0; shift < 32; shift += 8) {
        if (!((differ >> shift) & 0xff))
            continue; /* one digit for all: the pass keeps the order */
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((src[i] >> shift) & 0xff) + 1]++;
        for (size_t d = 1; d <= 256; d++)
            count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & 0xff]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    return 0;
}

/* wk->starts := the part's run starts column * h + row, ascending, with room for one more.
 * A closed boundary crosses each pixel column it spans at least twice, so the starts are
 * bucketed by column (a counting sort over the columns spanned) and each column's few rows
 * sorted in place; a part whose columns are too sparse for that is radix-sorted. */
static int sorted_starts(Work *wk, const Image *im)
{
    size_t n = wk->cols.n;
    const uint32_t *cols = wk->cols.v, *rows = wk->rows.v;
    Runs *out = &wk->starts;
    out->n = 0;
    if (runs_reserve(out, n + 1))
        return -1;
    if (n == 0)
        return 0;
    uint32_t lo = cols[0], hi = cols[0];
    for (size_t i = 1; i < n; i++) {
        lo = cols[i] < lo ? cols[i] : lo;
        hi = cols[i] > hi ? cols[i] : hi;
    }
    size_t span = (size_t)(hi - lo) + 1;
    if (n <= 64 || span > 2 * n + 64) {
        for (size_t i = 0; i < n; i++)
            out->v[i] = (uint32_t)((uint64_t)cols[i] * im->h + rows[i]);
        out->n = n;
        return sort_u32(out, &wk->scratch);
    }
    if (runs_reserve(&wk->buckets, span + 1) || runs_reserve(&wk->scratch, n))
        return -1;
    uint32_t *end = wk->buckets.v, *by_col = wk->scratch.v;
    memset(end, 0, (span + 1) * sizeof *end);
    for (size_t i = 0; i < n; i++)
        end[cols[i] - lo + 1]++;
    for (size_t c = 1; c <= span; c++)
        end[c] += end[c - 1];
    for (size_t i = 0; i < n; i++)
        by_col[end[cols[i] - lo]++] = rows[i]; /* end[c] is now the end of column c + lo */
    size_t begin = 0;
    for (size_t c = 0; c < span; c++) {
        uint32_t *r = by_col + begin;
        size_t m = end[c] - begin;
        for (size_t i = 1; i < m; i++) {
            uint32_t x = r[i];
            size_t j = i;
            for (; j > 0 && r[j - 1] > x; j--)
                r[j] = r[j - 1];
            r[j] = x;
        }
        uint64_t base = (uint64_t)(lo + c) * im->h;
        for (size_t i = 0; i < m; i++)
            out->v[begin + i] = (uint32_t)(base + r[i]);
        begin = end[c];
    }
    out->n = n;
    return 0;
}

/* The run start of the column change from grid point (pu, pv) to (u, v), as rleFrPoly keeps
 * it: the column between them when it is a pixel centre inside the image, and the row below
 * the lower of the two points, clamped to [0, h]. rleFrPoly takes x = (column + .5) / 5 - .5
 * when whole and in [0, w - 1], and y = ceil of (row + .5) / 5 - .5 clamped: in doubles these
 * are exactly (column - 2) / 5 when column is 2 mod 5 (else n + k/5, k in 1..4, never whole)
 * and the ceiling of (row - 2) / 5 (n + k/5 lies far from a whole number at |row| < 2^33),
 * which is what is computed here, in integers. */
static inline int keep_crossing(Work *wk, const Image *im, int64_t pu, int64_t pv, int64_t u, int64_t v)
{
    int64_t column = u < pu ? u : u - 1;
    if (column < 2 || (column - 2) % 5)
        return 0;
    int64_t x = (column - 2) / 5;
    if (x > (int64_t)im->w - 1)
        return 0;
    int64_t row = (v < pv ? v : pv) - 2;
    int64_t y = row / 5 + (row % 5 > 0); /* the ceiling: / truncates toward zero */
    if (y < 0)
        y = 0;
    else if (y > (int64_t)im->h)
        y = im->h;
    return runs_push(&wk->cols, (uint32_t)x) || runs_push(&wk->rows, (uint32_t)y) ? -1 : 0;
}

/* The cross coordinate of step t on an edge from (.., base) with slope s, as rleFrPoly rounds
 * it (half up, then truncated toward zero); a zero-length edge has slope 0/0 and its only
 * point a cross coordinate of INT_MIN, what x86's conversion of NaN gives pycocotools. */
static inline int64_t cross(int64_t base, double s, int64_t t, int degenerate)
{
    if (degenerate)
        return INT_MIN;
    return (int64_t)((double)base + s * (double)t + .5);
}

/* The cross coordinate of step t along y, as rleFrPoly rounds it (cross() of a y edge) */
static inline int64_t cross_at(double base, double s, int64_t t)
{
    return (int64_t)(base + s * (double)t + .5);
}

typedef struct {
    int64_t xs, ys, steps; /* the edge after the flip: walked from t = steps down when flip */
    int along_x, flip, degenerate;
    double s;
} Edge;

static inline void edge_point(const Edge *e, int64_t t, int64_t *u, int64_t *v)
{
    if (e->along_x) {
        *u = e->xs + t;
        *v = cross(e->ys, e->s, t, e->degenerate);
    } else {
        *v = e->ys + t;
        *u = cross(e->xs, e->s, t, 0);
    }
}

/* The column changes within one edge: the pairs of consecutive points (t, t + 1), the earlier
 * in walk order first. Along x every pair changes column, and its crossing column is xs + t:
 * only those at a pixel centre (column 2 mod 5, inside the image) can be kept, so only they
 * are visited (keep_crossing still decides). Along y the column changes where the rounded
 * cross coordinate does: only the changes at a pixel-centre column are looked for (below). */
static int edge_crossings(Work *wk, const Image *im, const Edge *e)
{
    if (e->along_x) {
        int64_t lo = 2 - e->xs, hi = 5 * (int64_t)im->w - 3 - e->xs; /* xs + t in [2, 5w - 3] */
        if (lo < 0)
            lo = 0;
        if (hi > e->steps - 1)
            hi = e->steps - 1;
        int64_t r = ((e->xs + lo - 2) % 5 + 5) % 5;
        for (int64_t t = r ? lo + 5 - r : lo; t <= hi; t += 5) {
            int64_t u0 = e->xs + t, u1 = u0 + 1;
            int64_t v0 = cross(e->ys, e->s, t, 0), v1 = cross(e->ys, e->s, t + 1, 0);
            int got = e->flip ? keep_crossing(wk, im, u1, v1, u0, v0) : keep_crossing(wk, im, u0, v0, u1, v1);
            if (got)
                return -1;
        }
        return 0;
    }
    /* Along y the cross coordinate u(t) = (int64)(xs + s * t + .5) is monotone in t (each
     * operation rounds monotonically), and a change is kept only where its column is a pixel
     * centre: so only those columns c are visited, each at the first step t past it (u(t) >= c + 1
     * rising, u(t) <= c falling: found from the slope's estimate, then stepped to exactly), and
     * kept when that change has column c in keep_crossing's terms (walk order: its first point
     * is u(t - 1) when not flipped). Its row is the lower point's, v - 1, either way. */
    const double base = (double)e->xs, s = e->s;
    const int64_t steps = e->steps, u0 = (int64_t)(base + .5), u1 = cross_at(base, s, steps);
    if (u0 == u1)
        return 0;
    const int rising = u1 > u0;
    int64_t lo = rising ? u0 : u1, hi = (rising ? u1 : u0) - 1; /* the columns c changed across */
    if (lo < 2)
        lo = 2;
    if (hi > 5 * (int64_t)im->w - 3)
        hi = 5 * (int64_t)im->w - 3;
    int64_t r = ((lo - 2) % 5 + 5) % 5;
    lo += r ? 5 - r : 0;
    if (lo > hi)
        return 0;
    hi -= (hi - lo) % 5; /* lo and hi both pixel centres */
    int64_t t_min = 1;   /* steps before the last one found are past */
    for (int64_t c = rising ? lo : hi; c >= lo && c <= hi; c += rising ? 5 : -5) {
        /* the first t in [t_min, steps] with u(t) past c: rising, u(t) >= c + 1, falling,
         * u(t) <= c; either is where xs + s * t + .5 crosses c + 1, about */
        double guess = ((double)c + 0.5 - base) / s;
        int64_t t = guess < (double)t_min ? t_min : guess > (double)steps ? steps : (int64_t)guess;
        if (rising) {
            while (t > t_min && cross_at(base, s, t - 1) >= c + 1)
                t--;
            while (cross_at(base, s, t) < c + 1)
                t++;
        } else {
            while (t > t_min && cross_at(base, s, t - 1) <= c)
                t--;
            while (cross_at(base, s, t) > c)
                t++;
        }
        t_min = t;
        int64_t u = cross_at(base, s, t), prev = t > 1 ? cross_at(base, s, t - 1) : u0;
        int64_t column = e->flip ? (prev < u ? prev : prev - 1) : (u < prev ? u : u - 1);
        if (column != c)
            continue;
        int64_t row = e->ys + t - 3;
        int64_t y = row / 5 + (row % 5 > 0);
        y = y < 0 ? 0 : y > (int64_t)im->h ? (int64_t)im->h : y;
        if (runs_push(&wk->cols, (uint32_t)((c - 2) / 5)) || runs_push(&wk->rows, (uint32_t)y))
            return -1;
    }
    return 0;
}

/* Room for the scaled vertices of a part of k vertices (closed: k + 1) in wk->ix, wk->iy. */
static int vertices_reserve(Work *wk, size_t k)
{
    if (k + 1 <= wk->iv_cap)
        return 0;
    int64_t *ix = realloc(wk->ix, (k + 1) * sizeof *ix);
    if (ix)
        wk->ix = ix;
    int64_t *iy = realloc(wk->iy, (k + 1) * sizeof *iy);
    if (iy)
        wk->iy = iy;
    if (!ix || !iy)
        return -1;
    wk->iv_cap = k + 1;
    return 0;
}

/* The runs of one part of k >= 3 vertices (coordinates xy, within the image's bounds; room
 * for k + 1 in wk->ix, wk->iy) into wk->part. */
static int rasterize_part(Work *wk, const Image *im, const double *xy, size_t k)
{
    int64_t *x = wk->ix, *y = wk->iy;
    for (size_t j = 0; j < k; j++) {
        x[j] = (int)(5.0 * xy[2 * j] + .5);
        y[j] = (int)(5.0 * xy[2 * j + 1] + .5);
    }
    x[k] = x[0];
    y[k] = y[0];
    wk->cols.n = wk->rows.n = 0;
    int64_t pu = 0, pv = 0; /* the last point of the edge before */
    for (size_t j = 0; j < k; j++) {
        int64_t xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
        int64_t dx = llabs(xe - xs), dy = llabs(ys - ye);
        Edge e = {.along_x = dx >= dy};
        e.flip = (e.along_x && xs > xe) || (!e.along_x && ys > ye);
        if (e.flip) {
            int64_t t = xs;
            xs = xe;
            xe = t;
            t = ys;
            ys = ye;
            ye = t;
        }
        e.xs = xs;
        e.ys = ys;
        e.steps = e.along_x ? dx : dy;
        e.degenerate = e.steps == 0;
        e.s = e.degenerate ? 0.0 : e.along_x ? (double)(ye - ys) / (double)dx : (double)(xe - xs) / (double)dy;
        int64_t u, v;
        edge_point(&e, e.flip ? e.steps : 0, &u, &v); /* its first point in walk order */
        if (j > 0 && u != pu && keep_crossing(wk, im, pu, pv, u, v))
            return -1;
        if (edge_crossings(wk, im, &e))
            return -1;
        edge_point(&e, e.flip ? 0 : e.steps, &pu, &pv);
    }
    /* run starts sorted, the end of the image last; runs are their differences, a run of 0
     * (two boundaries at one pixel) folding the next run into the one before */
    if (sorted_starts(wk, im))
        return -1;
    Runs *a = &wk->starts;
    a->v[a->n++] = (uint32_t)((uint64_t)im->h * im->w);
    uint32_t prev = 0;
    for (size_t j = 0; j < a->n; j++) {
        uint32_t t = a->v[j];
        a->v[j] -= prev;
        prev = t;
    }
    Runs *b = &wk->part;
    b->n = 0;
    if (runs_reserve(b, a->n))
        return -1;
    size_t j = 0;
    b->v[b->n++] = a->v[j++];
    while (j < a->n) {
        if (a->v[j] > 0) {
            b->v[b->n++] = a->v[j++];
        } else {
            j++;
            if (j < a->n)
                b->v[b->n - 1] += a->v[j++];
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- merge and encode */

/* wk->merged := union of wk->merged and wk->part, as rleMerge forms it: both walked run by
 * run together, a run written whenever the union's value changes or both are done. */
static int merge_part(Work *wk)
{
    const Runs *A = &wk->merged, *B = &wk->part;
    Runs *out = &wk->scratch;
    out->n = 0;
    if (runs_reserve(out, A->n + B->n + 1))
        return -1;
    uint32_t ca = A->v[0], cb = B->v[0], acc = 0, left = 1;
    size_t ia = 1, ib = 1;
    int va = 0, vb = 0, v = 0;
    while (left > 0) {
        uint32_t c = ca < cb ? ca : cb;
        acc += c;
        ca -= c;
        if (!ca && ia < A->n) {
            ca = A->v[ia++];
            va = !va;
        }
        cb -= c;
        if (!cb && ib < B->n) {
            cb = B->v[ib++];
            vb = !vb;
        }
        left = ca + cb;
        int was = v;
        v = va || vb;
        if (v != was || left == 0) {
            out->v[out->n++] = acc;
            acc = 0;
        }
    }
    Runs t = wk->merged;
    wk->merged = wk->scratch;
    wk->scratch = t;
    return 0;
}

/* The runs as rleToString writes them, into s (room for 7 characters a run): each run (less
 * the one two before it, from the fourth on) in 5-bit groups, low first, '0' + group, 0x20
 * while more follow. Returns the length written. */
static size_t encode_into(const Runs *r, char *s)
{
    size_t p = 0;
    for (size_t i = 0; i < r->n; i++) {
        int64_t x = (int64_t)r->v[i];
        if (i > 2)
            x -= (int64_t)r->v[i - 2];
        int more = 1;
        while (more) {
            char c = (char)(x & 0x1f);
            x >>= 5;
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more)
                c |= 0x20;
            s[p++] = (char)(c + 48);
        }
    }
    return p;
}

/* encode_into's string as bytes */
static PyObject *encode(Work *wk, const Runs *r)
{
    size_t need = r->n * 7 + 1;
    if (need > wk->text_cap) {
        char *t = realloc(wk->text, need);
        if (!t)
            return PyErr_NoMemory();
        wk->text = t;
        wk->text_cap = need;
    }
    return PyBytes_FromStringAndSize(wk->text, (Py_ssize_t)encode_into(r, wk->text));
}

/* ---------------------------------------------------------------- reading parts */

/* A part's coordinates into wk->xy: 1 taken, 0 not (not a sequence of numbers, odd length or
 * fewer than 6, a vertex outside the bounds), -1 on a Python error other than a type error */
static int read_part(Work *wk, const Image *im, PyObject *part, size_t *k_out)
{
    PyObject *seq = PySequence_Fast(part, "");
    if (!seq) {
        PyErr_Clear();
        return 0;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int ok = 0;
    if (n < 6 || n % 2)
        goto done;
    size_t k = (size_t)n / 2;
    if ((size_t)n > wk->xy_cap) {
        double *xy = realloc(wk->xy, (size_t)n * sizeof *xy);
        if (xy)
            wk->xy = xy;
        if (!xy || vertices_reserve(wk, k)) {
            PyErr_NoMemory();
            ok = -1;
            goto done;
        }
        wk->xy_cap = (size_t)n;
    }
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = items[i];
        double c = PyFloat_CheckExact(o) ? PyFloat_AS_DOUBLE(o) : PyFloat_AsDouble(o);
        if (c == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            goto done;
        }
        /* within the bounds (NaN fails both) */
        if (i % 2 ? !(c >= im->y0 && c <= im->y1) : !(c >= im->x0 && c <= im->x1))
            goto done;
        wk->xy[i] = c;
    }
    *k_out = k;
    ok = 1;
done:
    Py_DECREF(seq);
    return ok;
}

/* One object's string into *out: 1 done, 0 not taken, -1 on a Python error */
static int object_rle(Work *wk, const Image *im, PyObject *object, PyObject **out)
{
    PyObject *parts = PySequence_Fast(object, "");
    if (!parts) {
        PyErr_Clear();
        return 0;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(parts);
    int got = 0;
    if (n == 0)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t k = 0;
        got = read_part(wk, im, PySequence_Fast_GET_ITEM(parts, i), &k);
        if (got != 1)
            goto done;
        got = -1;
        if (rasterize_part(wk, im, wk->xy, k)) {
            PyErr_NoMemory();
            goto done;
        }
        if (i == 0) {
            Runs t = wk->merged;
            wk->merged = wk->part;
            wk->part = t;
        } else if (merge_part(wk)) {
            PyErr_NoMemory();
            goto done;
        }
    }
    *out = encode(wk, &wk->merged);
    got = *out ? 1 : -1;
done:
    Py_DECREF(parts);
    return got;
}

static PyObject *polygon_rles(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objects;
    long long h, w;
    if (!PyArg_ParseTuple(args, "OLL", &objects, &h, &w))
        return NULL;
    Image im;
    if (image_of(h, w, &im))
        Py_RETURN_NONE;
    PyObject *seq = PySequence_Fast(objects, "polygon_rles: objects must be a sequence");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = PyList_New(n);
    Work wk = {0};
    if (!result)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *rle = NULL;
        int got = object_rle(&wk, &im, PySequence_Fast_GET_ITEM(seq, i), &rle);
        if (got < 0)
            goto fail;
        if (got == 0) {
            Py_DECREF(result);
            result = Py_NewRef(Py_None);
            break;
        }
        PyList_SET_ITEM(result, i, rle);
    }
    work_free(&wk);
    Py_DECREF(seq);
    return result;
fail:
    work_free(&wk);
    Py_DECREF(seq);
    Py_XDECREF(result);
    return NULL;
}

/* ---------------------------------------------------------------- uncompressed RLEs */

static PyObject *uncompressed_rle(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *counts;
    long long h, w;
    if (!PyArg_ParseTuple(args, "O!LL", &PyList_Type, &counts, &h, &w))
        return NULL;
    Image im;
    Py_ssize_t n = PyList_GET_SIZE(counts);
    if (image_of(h, w, &im) || n == 0)
        Py_RETURN_NONE;
    Work wk = {0};
    PyObject *result = NULL;
    if (runs_reserve(&wk.part, (size_t)n)) {
        PyErr_NoMemory();
        goto done;
    }
    uint64_t total = 0, expected = (uint64_t)im.h * im.w;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyList_GET_ITEM(counts, i);
        int overflow = 0;
        long long v = PyLong_CheckExact(o) ? PyLong_AsLongLongAndOverflow(o, &overflow) : -1;
        if (v == -1 && PyErr_Occurred())
            PyErr_Clear();
        if (overflow || v < 0 || (uint64_t)v > expected - total) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        total += (uint64_t)v;
        wk.part.v[i] = (uint32_t)v;
    }
    wk.part.n = (size_t)n;
    result = total == expected ? encode(&wk, &wk.part) : Py_NewRef(Py_None);
done:
    work_free(&wk);
    return result;
}

/* ---------------------------------------------------------------- plain validity */

/* 1 when a polygon list is plainly valid on its image (see the header) */
static int plain_polygons(PyObject *seg, const Image *im)
{
    Py_ssize_t n = PyList_GET_SIZE(seg);
    if (n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *part = PyList_GET_ITEM(seg, i);
        if (!PyList_CheckExact(part))
            return 0;
        Py_ssize_t m = PyList_GET_SIZE(part);
        if (m < 6 || m % 2)
            return 0;
        for (Py_ssize_t j = 0; j < m; j++) {
            PyObject *o = PyList_GET_ITEM(part, j);
            double c;
            if (PyFloat_CheckExact(o)) {
                c = PyFloat_AS_DOUBLE(o);
            } else if (PyLong_CheckExact(o)) {
                int overflow = 0;
                long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
                if (overflow || (v == -1 && PyErr_Occurred())) {
                    PyErr_Clear();
                    return 0;
                }
                if (v < -(1LL << 40) || v > (1LL << 40))
                    return 0;
                c = (double)v;
            } else {
                return 0;
            }
            if (j % 2 ? !(c >= im->y0 && c <= im->y1) : !(c >= im->x0 && c <= im->x1))
                return 0;
        }
    }
    return 1;
}

static int is_int64(const Py_buffer *b, Py_ssize_t n)
{
    const char *f = b->format ? b->format : "B";
    return b->itemsize == 8 && b->len == n * 8 && (!strcmp(f, "q") || !strcmp(f, "l"));
}

static PyObject *first_odd_polygon(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *segs, *heights, *widths;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "O!OOn", &PyList_Type, &segs, &heights, &widths, &start))
        return NULL;
    Py_buffer hb, wb;
    if (PyObject_GetBuffer(heights, &hb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT))
        return NULL;
    if (PyObject_GetBuffer(widths, &wb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)) {
        PyBuffer_Release(&hb);
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(segs);
    PyObject *result = NULL;
    if (!is_int64(&hb, n) || !is_int64(&wb, n)) {
        PyErr_SetString(PyExc_ValueError, "first_odd_polygon: heights and widths must be int64, one per record");
        goto done;
    }
    const int64_t *hs = hb.buf, *ws = wb.buf;
    Py_ssize_t found = -1;
    for (Py_ssize_t i = start < 0 ? 0 : start; i < n && found < 0; i++) {
        PyObject *seg = PyList_GET_ITEM(segs, i);
        if (!PyList_Check(seg))
            continue;
        Image im;
        if (!PyList_CheckExact(seg) || image_of(hs[i], ws[i], &im) || !plain_polygons(seg, &im))
            found = i;
    }
    result = PyLong_FromSsize_t(found);
done:
    PyBuffer_Release(&hb);
    PyBuffer_Release(&wb);
    return result;
}

/* ---------------------------------------------------------------- flat columns */

#define MAX_THREADS 64

typedef struct {
    /* shared, read-only */
    const double *coords;
    const int64_t *part_len, *hs, *ws;
    const size_t *part_at, *coord_at; /* each object's first part, each part's first coordinate */
    size_t *text_end;                 /* each object's string's end in its job's text */
    /* this job's objects [first, end), and their strings one after another */
    size_t first, end;
    char *text;
    size_t used, cap;
    int refused, failed;
} FlatJob;

/* Object i's string appended to the job's text: 1 done, 0 not taken (see polygon_rles), -1
 * out of memory. As object_rle, from the columns. */
static int flat_object(Work *wk, FlatJob *j, size_t i)
{
    Image im;
    size_t p0 = j->part_at[i], p1 = j->part_at[i + 1];
    if (p0 == p1 || image_of(j->hs[i], j->ws[i], &im))
        return 0;
    for (size_t p = p0; p < p1; p++) {
        int64_t n = j->part_len[p];
        const double *xy = j->coords + j->coord_at[p];
        if (n < 6 || n % 2)
            return 0;
        for (int64_t q = 0; q < n; q += 2) /* within the bounds (NaN fails both) */
            if (!(xy[q] >= im.x0 && xy[q] <= im.x1 && xy[q + 1] >= im.y0 && xy[q + 1] <= im.y1))
                return 0;
        size_t k = (size_t)n / 2;
        if (vertices_reserve(wk, k) || rasterize_part(wk, &im, xy, k))
            return -1;
        if (p == p0) {
            Runs t = wk->merged;
            wk->merged = wk->part;
            wk->part = t;
        } else if (merge_part(wk)) {
            return -1;
        }
    }
    size_t need = j->used + wk->merged.n * 7;
    if (need > j->cap) {
        size_t cap = j->cap ? j->cap : 4096;
        while (cap < need)
            cap *= 2;
        char *t = realloc(j->text, cap);
        if (!t)
            return -1;
        j->text = t;
        j->cap = cap;
    }
    j->used += encode_into(&wk->merged, j->text + j->used);
    return 1;
}

static void *flat_range(void *arg)
{
    FlatJob *j = arg;
    Work wk = {0};
    for (size_t i = j->first; i < j->end; i++) {
        int got = flat_object(&wk, j, i);
        if (got <= 0) {
            j->refused = got == 0;
            j->failed = got < 0;
            break;
        }
        j->text_end[i] = j->used;
    }
    work_free(&wk);
    return NULL;
}

/* Runs fn(jobs + i) for i < n on n threads (the calling one included). */
static void run_jobs(void *(*fn)(void *), FlatJob *jobs, int n)
{
    pthread_t ids[MAX_THREADS];
    int started = 1;
    for (; started < n; started++)
        if (pthread_create(&ids[started], NULL, fn, jobs + started) != 0)
            break;
    for (int i = started; i < n; i++) /* the ones that did not start run here, in turn */
        fn(jobs + i);
    fn(jobs);
    for (int i = 1; i < started; i++)
        pthread_join(ids[i], NULL);
}

/* A C-contiguous buffer of n 8-byte items of type code `type` ('d': float64, 'q': int64; n < 0:
 * any n, told in *n_out); 0 and a ValueError when it is not. */
static int view8(PyObject *obj, Py_buffer *b, char type, Py_ssize_t n, const char *what)
{
    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT))
        return 0;
    const char *f = b->format ? b->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    int ok = b->itemsize == 8 && (type == 'd' ? !strcmp(f, "d") : !strcmp(f, "q") || !strcmp(f, "l")) &&
             (n < 0 || b->len == n * 8);
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "%s must be %s, %s", what, type == 'd' ? "float64" : "int64",
                     n < 0 ? "C-contiguous" : "one per object");
        PyBuffer_Release(b);
        b->obj = NULL;
    }
    return ok;
}

/* n counts (>= 0) into offsets at[0..n] (at[0] = 0), their sum to be `total`: 0 when not */
static int offsets(const int64_t *counts, size_t n, size_t *at, size_t total)
{
    size_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        at[i] = sum;
        if (counts[i] < 0 || (uint64_t)counts[i] > total - sum)
            return 0;
        sum += (size_t)counts[i];
    }
    at[n] = sum;
    return sum == total;
}

static PyObject *flat_polygon_rles(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[5];
    int threads = 1, dicts = 0;
    if (!PyArg_ParseTuple(args, "OOOOO|ip", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &threads, &dicts))
        return NULL;
    Py_buffer v[5] = {{0}};
    size_t *part_at = NULL, *coord_at = NULL, *text_end = NULL;
    FlatJob *jobs = NULL;
    PyObject *result = NULL, *key_size = NULL, *key_counts = NULL, *size = NULL;
    if (!view8(objs[0], &v[0], 'd', -1, "coords") || !view8(objs[1], &v[1], 'q', -1, "part_lengths") ||
        !view8(objs[2], &v[2], 'q', -1, "part_counts"))
        goto done;
    size_t n = (size_t)v[2].len / 8, n_parts = (size_t)v[1].len / 8;
    if (!view8(objs[3], &v[3], 'q', (Py_ssize_t)n, "heights") ||
        !view8(objs[4], &v[4], 'q', (Py_ssize_t)n, "widths"))
        goto done;
    part_at = malloc((n + 1) * sizeof *part_at);
    coord_at = malloc((n_parts + 1) * sizeof *coord_at);
    text_end = malloc((n ? n : 1) * sizeof *text_end);
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if ((size_t)threads > n / 256 + 1) /* a few hundred objects a thread at least */
        threads = (int)(n / 256 + 1);
    jobs = calloc((size_t)threads, sizeof *jobs);
    if (!part_at || !coord_at || !text_end || !jobs) {
        PyErr_NoMemory();
        goto done;
    }
    if (!offsets(v[2].buf, n, part_at, n_parts) ||
        !offsets(v[1].buf, n_parts, coord_at, (size_t)v[0].len / 8)) {
        PyErr_SetString(PyExc_ValueError, "flat_polygon_rles: part counts must add up to the parts, "
                                          "part lengths to the coordinates (all >= 0)");
        goto done;
    }
    /* objects split where the coordinates before them reach i / threads of all */
    size_t total = coord_at[n_parts], at = 0;
    for (int i = 0; i < threads; i++) {
        FlatJob *j = &jobs[i];
        j->coords = v[0].buf;
        j->part_len = v[1].buf;
        j->hs = v[3].buf;
        j->ws = v[4].buf;
        j->part_at = part_at;
        j->coord_at = coord_at;
        j->text_end = text_end;
        j->first = at;
        if (i == threads - 1) {
            at = n;
        } else {
            size_t goal = (size_t)((double)total * (i + 1) / threads);
            while (at < n && coord_at[part_at[at]] < goal)
                at++;
        }
        j->end = at;
    }
    Py_BEGIN_ALLOW_THREADS run_jobs(flat_range, jobs, threads);
    Py_END_ALLOW_THREADS
    int refused = 0, failed = 0;
    for (int i = 0; i < threads; i++) {
        refused |= jobs[i].refused;
        failed |= jobs[i].failed;
    }
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    if (refused) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (!(result = PyList_New((Py_ssize_t)n)))
        goto done;
    if (dicts && (!(key_size = PyUnicode_InternFromString("size")) ||
                  !(key_counts = PyUnicode_InternFromString("counts")))) {
        Py_CLEAR(result);
        goto done;
    }
    const int64_t *hs = v[3].buf, *ws = v[4].buf;
    int64_t last_h = -1, last_w = -1;
    for (int i = 0; i < threads; i++) {
        const FlatJob *j = &jobs[i];
        size_t begin = 0;
        for (size_t k = j->first; k < j->end; k++) {
            PyObject *item = PyBytes_FromStringAndSize(j->text + begin, (Py_ssize_t)(text_end[k] - begin));
            begin = text_end[k];
            if (item && dicts) {
                /* one (h, w) tuple for a run of objects of one size; ints only, so untracked,
                 * and a dict of it and bytes stays untracked too (see masks.py) */
                if (!size || hs[k] != last_h || ws[k] != last_w) {
                    Py_XSETREF(size, Py_BuildValue("(LL)", (long long)hs[k], (long long)ws[k]));
                    if (size)
                        PyObject_GC_UnTrack(size);
                    last_h = hs[k];
                    last_w = ws[k];
                }
                PyObject *rle = size ? PyDict_New() : NULL;
                if (!rle || PyDict_SetItem(rle, key_size, size) || PyDict_SetItem(rle, key_counts, item))
                    Py_CLEAR(rle);
                Py_SETREF(item, rle);
            }
            if (!item) {
                Py_CLEAR(result);
                goto done;
            }
            PyList_SET_ITEM(result, (Py_ssize_t)k, item);
        }
    }
done:
    Py_XDECREF(key_size);
    Py_XDECREF(key_counts);
    Py_XDECREF(size);
    for (int i = 0; i < 5; i++)
        if (v[i].obj)
            PyBuffer_Release(&v[i]);
    if (jobs)
        for (int i = 0; i < threads; i++)
            free(jobs[i].text);
    free(jobs);
    free(part_at);
    free(coord_at);
    free(text_end);
    return result;
}

static PyObject *flat_uncompressed_rles(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[4];
    if (!PyArg_ParseTuple(args, "OOOO", &objs[0], &objs[1], &objs[2], &objs[3]))
        return NULL;
    Py_buffer v[4] = {{0}};
    size_t *at = NULL;
    Work wk = {0};
    PyObject *result = NULL;
    if (!view8(objs[0], &v[0], 'q', -1, "runs") || !view8(objs[1], &v[1], 'q', -1, "run_counts"))
        goto done;
    size_t n = (size_t)v[1].len / 8;
    if (!view8(objs[2], &v[2], 'q', (Py_ssize_t)n, "heights") ||
        !view8(objs[3], &v[3], 'q', (Py_ssize_t)n, "widths"))
        goto done;
    if (!(at = malloc((n + 1) * sizeof *at))) {
        PyErr_NoMemory();
        goto done;
    }
    if (!offsets(v[1].buf, n, at, (size_t)v[0].len / 8)) {
        PyErr_SetString(PyExc_ValueError, "flat_uncompressed_rles: run counts must add up to the runs (all >= 0)");
        goto done;
    }
    const int64_t *runs = v[0].buf, *hs = v[2].buf, *ws = v[3].buf;
    if (!(result = PyList_New((Py_ssize_t)n)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        Image im;
        size_t m = at[i + 1] - at[i];
        if (image_of(hs[i], ws[i], &im) || m == 0) {
            Py_SETREF(result, Py_NewRef(Py_None));
            goto done;
        }
        if (runs_reserve(&wk.part, m)) {
            PyErr_NoMemory();
            Py_CLEAR(result);
            goto done;
        }
        uint64_t total = 0, expected = (uint64_t)im.h * im.w;
        for (size_t k = 0; k < m; k++) {
            int64_t x = runs[at[i] + k];
            if (x < 0 || (uint64_t)x > expected - total) {
                Py_SETREF(result, Py_NewRef(Py_None));
                goto done;
            }
            total += (uint64_t)x;
            wk.part.v[k] = (uint32_t)x;
        }
        wk.part.n = m;
        if (total != expected) {
            Py_SETREF(result, Py_NewRef(Py_None));
            goto done;
        }
        PyObject *b = encode(&wk, &wk.part);
        if (!b) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, (Py_ssize_t)i, b);
    }
done:
    for (int i = 0; i < 4; i++)
        if (v[i].obj)
            PyBuffer_Release(&v[i]);
    free(at);
    work_free(&wk);
    return result;
}

static PyMethodDef methods[] = {
    {"polygon_rles", polygon_rles, METH_VARARGS,
     "polygon_rles(objects, h, w) -> list[bytes] | None: pycocotools' merged compressed RLE of each "
     "object's polygon parts"},
    {"uncompressed_rle", uncompressed_rle, METH_VARARGS,
     "uncompressed_rle(counts, h, w) -> bytes | None: the compressed string of run lengths that are "
     "plain ints >= 0 summing to h*w, as pycocotools writes it, else None"},
    {"first_odd_polygon", first_odd_polygon, METH_VARARGS,
     "first_odd_polygon(segmentations, heights, widths, start) -> int: the first polygon record "
     "from start that is not plainly valid, or -1"},
    {"flat_polygon_rles", flat_polygon_rles, METH_VARARGS,
     "flat_polygon_rles(coords, part_lengths, part_counts, heights, widths, threads=1, dicts=False) "
     "-> list[bytes] | None: polygon_rles of objects given as flat columns, each on its own image "
     "(dicts: each as {'size': (h, w), 'counts': bytes})"},
    {"flat_uncompressed_rles", flat_uncompressed_rles, METH_VARARGS,
     "flat_uncompressed_rles(runs, run_counts, heights, widths) -> list[bytes] | None: "
     "uncompressed_rle of runs given as flat columns"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_raster", "detrecall's compiled polygon rasterizer.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__raster(void) { return PyModule_Create(&module); }
