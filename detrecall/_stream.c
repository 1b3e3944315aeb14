/* detrecall's streaming flush in one compiled pass: the checked columns of a streaming
 * Evaluator's pending per-image batches (boxes, COCO rules) straight to their Matches, without
 * building a Dataset and Detections, a plan or a candidate list. What it gives is what
 * io.arrays.build_arrays, then evaluate.match_batch (plan, box_candidates, match) give for the
 * same columns, array for array: detrecall/_flush.py's twin is that path, and
 * tests/test_flush.py holds the two equal. Beside the matches, what the flush's warnings and
 * class notes need (scores outside [0, 1], repeated detections, rows per class), so the
 * columns are read once.
 *
 * Rows are numbered as the tables would number them: ground truth and detections by (image id,
 * class, order given); detections of an (image, class) by score descending, ties in that
 * order, ranked, and those ranked below max_det matched greedily with pycocotools' rule for
 * every area range and IoU threshold. Arrays come through the buffer protocol, C-contiguous,
 * every length and index checked first; the work runs with the GIL released. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_box_iou.h"

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

typedef enum { I64, F64, U8 } Kind;

static int get_array(PyObject *obj, Py_buffer *view, Kind kind, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *f = view->format ? view->format : "B";
    int ok = kind == I64   ? view->itemsize == 8 && (strcmp(f, "q") == 0 || strcmp(f, "l") == 0)
             : kind == F64 ? view->itemsize == 8 && strcmp(f, "d") == 0
                           : view->itemsize == 1 && (strcmp(f, "B") == 0 || strcmp(f, "?") == 0);
    if (!ok) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous %s array", name,
                     kind == I64 ? "int64" : kind == F64 ? "float64" : "uint8 or bool");
        return -1;
    }
    return 0;
}

static Py_ssize_t count_of(const Py_buffer *v) { return v->len / v->itemsize; }

/* ---- sorting small runs ------------------------------------------------------------------- */

/* A row with its sort key: by class (then row), or by score descending (then row): rows
 * break every tie, so any sort of these is the stable one. */
typedef struct {
    int64_t key;
    int64_t row;
} ByKey;

typedef struct {
    double score;
    int64_t row;
} ByScore;

static int by_key(const void *a, const void *b)
{
    const ByKey *x = a, *y = b;
    return x->key != y->key ? (x->key < y->key ? -1 : 1) : (x->row > y->row) - (x->row < y->row);
}

#define INSERTION_UP_TO 16 /* runs this short are insertion-sorted */

/* A run by score descending, stably: its rows come ascending, so this is the (score, row)
 * order. Insertion sorts of 16, then bottom-up merges through `tmp` (as long as the run). */
static void sort_by_score(ByScore *v, Py_ssize_t n, ByScore *tmp)
{
    for (Py_ssize_t lo = 0; lo < n; lo += INSERTION_UP_TO) {
        const Py_ssize_t hi = lo + INSERTION_UP_TO < n ? lo + INSERTION_UP_TO : n;
        for (Py_ssize_t i = lo + 1; i < hi; i++) {
            const ByScore x = v[i];
            Py_ssize_t j = i;
            for (; j > lo && v[j - 1].score < x.score; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
    }
    for (Py_ssize_t width = INSERTION_UP_TO; width < n; width *= 2) {
        for (Py_ssize_t lo = 0; lo < n; lo += 2 * width) {
            const Py_ssize_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            Py_ssize_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = v[j].score > v[i].score ? v[j++] : v[i++]; /* ties: the left, earlier row */
            while (i < mid)
                tmp[k++] = v[i++];
            while (j < hi)
                tmp[k++] = v[j++];
        }
        memcpy(v, tmp, (size_t)n * sizeof(ByScore));
    }
}

/* ---- repeated detections ------------------------------------------------------------------ */

typedef struct {
    const double *box;
    int64_t row;
} BoxAt;

static int by_box(const void *a, const void *b)
{
    const BoxAt *x = a, *y = b;
    for (int k = 0; k < 4; k++)
        if (x->box[k] != y->box[k])
            return x->box[k] < y->box[k] ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int same_box(const double *a, const double *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* The rows of one run of detections of the same image, class and score, in the order given
 * (`rows` input rows): each one whose box equals an earlier one's is a repeat (counted, and
 * the first such row kept), as io._problems.repeated_rows counts rows (-0.0 equals 0.0). */
static int repeats_in(const int64_t *rows, Py_ssize_t n, const double *box, BoxAt *scratch, int64_t *count,
                      int64_t *first)
{
    if (n <= INSERTION_UP_TO) {
        for (Py_ssize_t j = 1; j < n; j++)
            for (Py_ssize_t i = 0; i < j; i++)
                if (same_box(box + 4 * rows[i], box + 4 * rows[j])) {
                    (*count)++;
                    if (*first < 0 || rows[j] < *first)
                        *first = rows[j];
                    break;
                }
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        scratch[i] = (BoxAt){box + 4 * rows[i], rows[i]};
    qsort(scratch, (size_t)n, sizeof(BoxAt), by_box);
    for (Py_ssize_t i = 1; i < n; i++)
        if (same_box(scratch[i].box, scratch[i - 1].box)) {
            (*count)++;
            if (*first < 0 || scratch[i].row < *first)
                *first = scratch[i].row;
        }
    return 0;
}

/* ---- the flush ---------------------------------------------------------------------------- */

typedef struct {
    int32_t key, det, gt;
    uint8_t ignored;
} Hit;

enum {
    IN_IMAGE_IDS,
    IN_N_GT,
    IN_N_DT,
    IN_GT_CAT,
    IN_GT_BOX,
    IN_GT_AREA,
    IN_CROWD,
    IN_IGNORE,
    IN_DT_CAT,
    IN_DT_BOX,
    IN_DT_AREA,
    IN_SCORE,
    IN_CLASS_IDS,
    IN_THR,
    IN_RANGES,
    N_IN
};

enum {
    OUT_DET_CLASS, /* int32, per kept detection in (image, class, rank) order */
    OUT_DET_IMAGE, /* int32 when every image id fits, else int64 (types.narrow_ints' rule) */
    OUT_DET_RANK,  /* int32 */
    OUT_DET_SCORE, /* float64 */
    OUT_DET_ROW,   /* int32: row in the Detections the tables would make */
    OUT_DET_OOR,   /* (A, D) bool */
    OUT_HIT_AREA,  /* int16, hits by (area, threshold, detection) */
    OUT_HIT_THR,   /* int16 */
    OUT_HIT_DET,   /* int32 */
    OUT_HIT_GT,    /* int32: row in the Dataset */
    OUT_HIT_IGN,   /* bool */
    OUT_NPOS,      /* (K, A) int64 */
    OUT_GT_CLASS,  /* int32, per ground truth in Dataset order */
    OUT_GT_IMAGE,  /* int32 or int64, as det_image */
    OUT_GT_IGN,    /* (A, G) bool */
    OUT_GT_COUNT,  /* (K,) int64 ground truths of each class */
    OUT_DT_COUNT,  /* (K,) int64 detections of each class */
    OUT_DT_FIRST,  /* (K,) int64 input row of each class's first detection, -1 for none */
    N_OUT
};


typedef struct {
    /* inputs */
    Py_ssize_t n_img, n_gt, n_dt, n_cls, n_thr, n_area, max_det;
    const int64_t *image_ids, *img_gt, *img_dt, *gt_cat, *dt_cat, *class_ids;
    const double *gt_box, *gt_area, *dt_box, *dt_area, *score, *thr, *ranges;
    double thr_min; /* the lowest threshold */
    const uint8_t *crowd, *ignore;
    /* work */
    int64_t *gt_start, *dt_start; /* (I + 1,) input row where each image's rows begin */
    ByKey *images;                /* (I,) by id */
    int32_t *gt_cls, *dt_cls;     /* class index of each input row */
    int32_t *table;               /* class index by id - first id (-1: none), or NULL */
    int64_t table_size;
    int64_t *class_count;         /* (K,) zeros between images: the per-image counting sort's */
    int64_t *ds_src;              /* (G,) Dataset row -> input row */
    uint8_t *nonign;              /* (G, A) by Dataset row */
    Py_ssize_t n_kept, n_hits, hit_cap;
    Hit *hits;
    /* findings */
    int64_t longest, odd, odd_first, repeats, repeat_first;
    int narrow_ids;         /* every image id within int32: the image outputs are int32 */
    double area_lo, area_hi; /* the smallest and largest area of all rows (NaN wins, as numpy's) */
    char *out[N_OUT];
    const char *error;
} Flush;

static int width_of(const Flush *f, int k)
{
    static const int widths[N_OUT] = {4, 8, 4, 8, 4, 1, 2, 2, 4, 4, 1, 8, 4, 8, 1, 8, 8, 8};
    return (k == OUT_DET_IMAGE || k == OUT_GT_IMAGE) && f->narrow_ids ? 4 : widths[k];
}

static inline void put_id(const Flush *f, char *out, int64_t at, int64_t id)
{
    if (f->narrow_ids)
        ((int32_t *)out)[at] = (int32_t)id;
    else
        ((int64_t *)out)[at] = id;
}

/* The class index of `label` among the sorted ids, or -1: from the table when the ids span a
 * short range, else by binary search. */
static int32_t class_of(const Flush *f, int64_t label)
{
    if (f->table != NULL) {
        const int64_t at = label - f->class_ids[0];
        return at >= 0 && at < f->table_size ? f->table[at] : -1;
    }
    Py_ssize_t lo = 0, hi = f->n_cls;
    while (lo < hi) {
        const Py_ssize_t mid = lo + (hi - lo) / 2;
        if (f->class_ids[mid] < label)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->n_cls && f->class_ids[lo] == label ? (int32_t)lo : -1;
}

static int add_hit(Flush *f, Hit h)
{
    if (f->n_hits == f->hit_cap) {
        const Py_ssize_t cap = f->hit_cap ? 2 * f->hit_cap : 1024;
        Hit *more = realloc(f->hits, (size_t)cap * sizeof(Hit));
        if (more == NULL)
            return -1;
        f->hits = more;
        f->hit_cap = cap;
    }
    f->hits[f->n_hits++] = h;
    return 0;
}

static int by_int32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Rows [lo, hi) of an image by (class, row), written to `order` (input rows): a counting sort
 * over the classes the image has (f->class_count is all zeros before and after). Their classes
 * in order go to run_cls and where each class's rows begin in `order` to run_start (one more
 * entry: the rows' count); returns how many classes. */
static Py_ssize_t image_rows(Flush *f, const int32_t *cls, int64_t lo, int64_t hi, int64_t *order, int32_t *run_cls,
                             int64_t *run_start)
{
    int64_t *count = f->class_count;
    Py_ssize_t u = 0;
    for (int64_t r = lo; r < hi; r++)
        if (count[cls[r]]++ == 0)
            run_cls[u++] = cls[r];
    if (u > INSERTION_UP_TO && f->n_cls <= 8 * u) { /* many of the classes: all of them, in order */
        u = 0;
        for (Py_ssize_t c = 0; c < f->n_cls; c++)
            if (count[c])
                run_cls[u++] = (int32_t)c;
    }
    else if (u > INSERTION_UP_TO)
        qsort(run_cls, (size_t)u, sizeof(int32_t), by_int32);
    else
        for (Py_ssize_t i = 1; i < u; i++) {
            const int32_t x = run_cls[i];
            Py_ssize_t j = i;
            for (; j > 0 && run_cls[j - 1] > x; j--)
                run_cls[j] = run_cls[j - 1];
            run_cls[j] = x;
        }
    int64_t at = 0;
    for (Py_ssize_t i = 0; i < u; i++) {
        const int64_t n = count[run_cls[i]];
        run_start[i] = count[run_cls[i]] = at;
        at += n;
    }
    run_start[u] = at;
    for (int64_t r = lo; r < hi; r++)
        order[count[cls[r]]++] = r;
    for (Py_ssize_t i = 0; i < u; i++)
        count[run_cls[i]] = 0;
    return u;
}

/* Scratch of the walk, grown as groups need. */
typedef struct {
    int64_t *dt_order, *src; /* an image's detections by class; a run's input rows in plan order */
    ByScore *scores, *tmp;
    BoxAt *boxes;
    int32_t *gt_run_cls, *dt_run_cls; /* (K,) an image's classes, ground truth's and detections' */
    int64_t *gt_run_start, *dt_run_start; /* (K + 1,) where each class's rows begin */
    double *iou, *gbox; /* a group's IoUs with one detection; its truth's edges and areas (5 a row) */
    uint8_t *taken, *gnon, *gcrowd;
    Py_ssize_t group_cap;
} Scratch;

static int room_for_group(Scratch *s, Py_ssize_t ng, Py_ssize_t keys)
{
    if (ng <= s->group_cap)
        return 0;
    const Py_ssize_t cap = ng > 2 * s->group_cap ? ng : 2 * s->group_cap;
    double *iou = realloc(s->iou, (size_t)cap * sizeof(double));
    if (iou != NULL)
        s->iou = iou;
    double *gbox = realloc(s->gbox, (size_t)cap * 5 * sizeof(double));
    if (gbox != NULL)
        s->gbox = gbox;
    uint8_t *taken = realloc(s->taken, (size_t)(cap * keys));
    if (taken != NULL)
        s->taken = taken;
    uint8_t *gnon = realloc(s->gnon, (size_t)(cap * keys));
    if (gnon != NULL)
        s->gnon = gnon;
    uint8_t *gcrowd = realloc(s->gcrowd, (size_t)cap);
    if (gcrowd != NULL)
        s->gcrowd = gcrowd;
    if (iou == NULL || gbox == NULL || taken == NULL || gnon == NULL || gcrowd == NULL)
        return -1;
    s->group_cap = cap;
    return 0;
}

/* The kept detections `src` (input rows, rank order) of a group with ground truth, Dataset rows
 * [g0, g0 + ng), take per (area range, threshold) the free ground truth pycocotools'
 * evaluateImg() gives them (crowds are never taken): not-ignored before ignored, then the higher
 * IoU (>= the threshold), then the later row. The group's truth is laid out together first (edges, areas, flags). */
static int match_group(Flush *f, Scratch *s, const int64_t *src, int64_t n, int64_t k0, int64_t g0, int64_t ng)
{
    const Py_ssize_t A = f->n_area, T = f->n_thr;
    if (room_for_group(s, (Py_ssize_t)ng, A * T) < 0)
        return -1;
    /* each ground truth's left, top, right, bottom and area, as box_iou computes them */
    double *gx = s->gbox, *gy = gx + ng, *gx2 = gy + ng, *gy2 = gx2 + ng, *garea = gy2 + ng;
    for (int64_t g = 0; g < ng; g++) {
        const int64_t row = f->ds_src[g0 + g];
        const double *b = f->gt_box + 4 * row;
        gx[g] = b[0], gy[g] = b[1], gx2[g] = b[2] + b[0], gy2[g] = b[3] + b[1], garea[g] = b[2] * b[3];
        s->gcrowd[g] = f->crowd[row];
        memcpy(s->gnon + g * A, f->nonign + (g0 + g) * A, (size_t)A);
    }
    memset(s->taken, 0, (size_t)(ng * A * T));
    double *iou = s->iou;
    for (int64_t r = 0; r < n; r++) {
        /* box_iou(d, g, crowd, 0) with the detection's sums made once: the same operations */
        const double *d = f->dt_box + 4 * src[r];
        const double dx = d[0], dy = d[1], dx2 = d[2] + d[0], dy2 = d[3] + d[1], darea = d[2] * d[3];
        double top = 0.0;
        for (int64_t g = 0; g < ng; g++) {
            const double w = np_min(dx2, gx2[g]) - np_max(dx, gx[g]);
            const double h = np_min(dy2, gy2[g]) - np_max(dy, gy[g]);
            iou[g] = iou_of_overlap(w, h, darea, garea[g], s->gcrowd[g]);
            top = iou[g] > top ? iou[g] : top;
        }
        if (!(top >= f->thr_min))
            continue; /* below every threshold: no match */
        for (Py_ssize_t a = 0; a < A; a++)
            for (Py_ssize_t t = 0; t < T; t++) {
                const double floor = f->thr[t];
                int64_t best = -1;
                int best_non = 0;
                double best_iou = 0.0;
                for (int64_t g = 0; g < ng; g++) {
                    if (!(iou[g] >= floor) || (s->taken[(g * A + a) * T + t] && !s->gcrowd[g]))
                        continue;
                    const int non = s->gnon[g * A + a];
                    if (best < 0 || non > best_non || (non == best_non && iou[g] >= best_iou)) {
                        best = g; /* later rows come later: >= gives ties to them */
                        best_non = non;
                        best_iou = iou[g];
                    }
                }
                if (best < 0)
                    continue;
                s->taken[(best * A + a) * T + t] = 1;
                const Hit h = {(int32_t)(a * T + t), (int32_t)(k0 + r), (int32_t)(g0 + best), (uint8_t)!best_non};
                if (add_hit(f, h) < 0)
                    return -1;
            }
    }
    return 0;
}

/* An image's ground truth, Dataset rows [g0, g1): whether each is ignored in each range, and its
 * outputs. */
static void image_truth(Flush *f, int64_t id, int64_t g0, int64_t g1)
{
    const Py_ssize_t A = f->n_area, G = f->n_gt;
    int32_t *gt_class = (int32_t *)f->out[OUT_GT_CLASS];
    char *gt_image = f->out[OUT_GT_IMAGE];
    int64_t *npos = (int64_t *)f->out[OUT_NPOS];
    int64_t *gt_count = (int64_t *)f->out[OUT_GT_COUNT];
    uint8_t *gt_ign = (uint8_t *)f->out[OUT_GT_IGN];
    for (int64_t r = g0; r < g1; r++) {
        const int64_t src = f->ds_src[r];
        const int32_t c = f->gt_cls[src];
        const int plain = !f->crowd[src] && !f->ignore[src];
        const double area = f->gt_area[src];
        gt_class[r] = c;
        put_id(f, gt_image, r, id);
        gt_count[c]++;
        for (Py_ssize_t a = 0; a < A; a++) {
            const uint8_t non = plain && area >= f->ranges[2 * a] && area <= f->ranges[2 * a + 1];
            f->nonign[r * A + a] = non;
            gt_ign[a * G + r] = !non;
            npos[c * A + a] += non;
        }
    }
}

/* Asks for the cache lines of n items of `size` bytes from p (the next image's rows: fetched
 * while this one is worked on, since the images come by id, not in memory order). */
static void prefetch_rows(const void *p, int64_t n, size_t size)
{
    const char *c = p;
    for (size_t at = 0, end = (size_t)n * size; at < end; at += 64)
        PREFETCH(c + at);
}

static void prefetch_image(const Flush *f, Py_ssize_t q)
{
    if (q >= f->n_img)
        return;
    const Py_ssize_t i = (Py_ssize_t)f->images[q].row;
    const int64_t d0 = f->dt_start[i], nd = f->dt_start[i + 1] - d0;
    const int64_t g0 = f->gt_start[i], ng = f->gt_start[i + 1] - g0;
    prefetch_rows(f->dt_box + 4 * d0, nd, 4 * sizeof(double));
    prefetch_rows(f->dt_area + d0, nd, sizeof(double));
    prefetch_rows(f->score + d0, nd, sizeof(double));
    prefetch_rows(f->dt_cls + d0, nd, sizeof(int32_t));
    prefetch_rows(f->gt_box + 4 * g0, ng, 4 * sizeof(double));
    prefetch_rows(f->gt_area + g0, ng, sizeof(double));
    prefetch_rows(f->gt_cls + g0, ng, sizeof(int32_t));
}

/* Everything image by image, images by id: the ground truth by class (the Dataset's rows), the
 * detections by class (its Detections rows) and each class's by score (the plan), the kept ones
 * written out (the (A, D) flags with D the detections: compacted after) and matched, and the
 * repeats among each class's runs of equal score. 0, or -1 out of memory. */
static int walk(Flush *f, Scratch *s)
{
    const Py_ssize_t A = f->n_area, D = f->n_dt;
    int32_t *det_class = (int32_t *)f->out[OUT_DET_CLASS], *det_rank = (int32_t *)f->out[OUT_DET_RANK];
    int32_t *det_row = (int32_t *)f->out[OUT_DET_ROW];
    char *det_image = f->out[OUT_DET_IMAGE];
    double *det_score = (double *)f->out[OUT_DET_SCORE];
    uint8_t *oor = (uint8_t *)f->out[OUT_DET_OOR];
    int64_t ds = 0, dr = 0, k = 0; /* the next Dataset row, Detections row, kept detection */
    prefetch_image(f, 0);
    prefetch_image(f, 1);
    for (Py_ssize_t q = 0; q < f->n_img; q++) {
        prefetch_image(f, q + 2);
        const Py_ssize_t i = (Py_ssize_t)f->images[q].row;
        const int64_t id = f->images[q].key;
        const int64_t gs = ds, ge = ds + (f->gt_start[i + 1] - f->gt_start[i]);
        const Py_ssize_t n_gt_runs =
            image_rows(f, f->gt_cls, f->gt_start[i], f->gt_start[i + 1], f->ds_src + gs, s->gt_run_cls, s->gt_run_start);
        image_truth(f, id, gs, ge);
        ds = ge;
        const Py_ssize_t n_runs =
            image_rows(f, f->dt_cls, f->dt_start[i], f->dt_start[i + 1], s->dt_order, s->dt_run_cls, s->dt_run_start);
        Py_ssize_t gr = 0; /* the next class run of the ground truth */
        for (Py_ssize_t run = 0; run < n_runs; run++) { /* each class's run */
            const int32_t c = s->dt_run_cls[run];
            const int64_t a = s->dt_run_start[run], b = s->dt_run_start[run + 1];
            const int64_t len = b - a, n = len < f->max_det ? len : f->max_det;
            for (int64_t x = 0; x < len; x++)
                s->scores[x] = (ByScore){f->score[s->dt_order[a + x]], x};
            sort_by_score(s->scores, (Py_ssize_t)len, s->tmp);
            for (int64_t x = 0; x < len; x++)
                s->src[x] = s->dt_order[a + s->scores[x].row];
            if (len > f->longest)
                f->longest = len;
            for (int64_t x = 0; x < len;) { /* repeats: runs of equal score, rows in the order given */
                int64_t e = x + 1;
                while (e < len && s->scores[e].score == s->scores[x].score)
                    e++;
                if (e - x > 1)
                    repeats_in(s->src + x, (Py_ssize_t)(e - x), f->dt_box, s->boxes, &f->repeats, &f->repeat_first);
                x = e;
            }
            for (int64_t r = 0; r < n; r++) {
                const double area = f->dt_area[s->src[r]];
                det_class[k + r] = c;
                put_id(f, det_image, k + r, id);
                det_rank[k + r] = (int32_t)r;
                det_score[k + r] = s->scores[r].score;
                det_row[k + r] = (int32_t)(dr + s->scores[r].row);
                for (Py_ssize_t y = 0; y < A; y++)
                    oor[y * D + k + r] = !(area >= f->ranges[2 * y] && area <= f->ranges[2 * y + 1]);
            }
            while (gr < n_gt_runs && s->gt_run_cls[gr] < c) /* the class's ground truth, if any */
                gr++;
            if (gr < n_gt_runs && s->gt_run_cls[gr] == c &&
                match_group(f, s, s->src, n, k, gs + s->gt_run_start[gr], s->gt_run_start[gr + 1] - s->gt_run_start[gr]) < 0)
                return -1;
            k += n;
            dr += len;
        }
    }
    f->n_kept = k;
    for (Py_ssize_t y = 1; y < A; y++) /* the flags' rows, D apart, to n_kept apart */
        memmove(oor + y * k, oor + y * D, (size_t)k);
    return 0;
}

/* The hits in (key, detection) order (a stable counting sort by key: detections ascend within
 * one). 0, or -1 out of memory. */
static int finish(Flush *f)
{
    const Py_ssize_t n_keys = f->n_area * f->n_thr;
    int64_t *at = calloc((size_t)n_keys + 1, sizeof(int64_t));
    if (at == NULL)
        return -1;
    int16_t *h_area = (int16_t *)f->out[OUT_HIT_AREA], *h_thr = (int16_t *)f->out[OUT_HIT_THR];
    int32_t *h_det = (int32_t *)f->out[OUT_HIT_DET], *h_gt = (int32_t *)f->out[OUT_HIT_GT];
    uint8_t *h_ign = (uint8_t *)f->out[OUT_HIT_IGN];
    for (Py_ssize_t h = 0; h < f->n_hits; h++)
        at[f->hits[h].key + 1]++;
    for (Py_ssize_t key = 0; key < n_keys; key++)
        at[key + 1] += at[key];
    for (Py_ssize_t h = 0; h < f->n_hits; h++) {
        const Hit x = f->hits[h];
        const int64_t p = at[x.key]++;
        h_area[p] = (int16_t)(x.key / f->n_thr);
        h_thr[p] = (int16_t)(x.key % f->n_thr);
        h_det[p] = x.det;
        h_gt[p] = x.gt;
        h_ign[p] = x.ignored;
    }
    free(at);
    return 0;
}

/* Checks of the inputs that the work relies on; NULL when they hold, else what is wrong. */
static const char *check(Flush *f, const Py_buffer *v)
{
    f->n_img = count_of(&v[IN_IMAGE_IDS]);
    f->n_gt = count_of(&v[IN_GT_CAT]);
    f->n_dt = count_of(&v[IN_DT_CAT]);
    f->n_cls = count_of(&v[IN_CLASS_IDS]);
    f->n_thr = count_of(&v[IN_THR]);
    f->n_area = count_of(&v[IN_RANGES]) / 2;
    if (count_of(&v[IN_N_GT]) != f->n_img || count_of(&v[IN_N_DT]) != f->n_img ||
        count_of(&v[IN_GT_BOX]) != 4 * f->n_gt || count_of(&v[IN_GT_AREA]) != f->n_gt ||
        count_of(&v[IN_CROWD]) != f->n_gt || count_of(&v[IN_IGNORE]) != f->n_gt ||
        count_of(&v[IN_DT_BOX]) != 4 * f->n_dt || count_of(&v[IN_DT_AREA]) != f->n_dt ||
        count_of(&v[IN_SCORE]) != f->n_dt || count_of(&v[IN_RANGES]) != 2 * f->n_area)
        return "inconsistent array lengths";
    if (f->n_cls < 1 || f->n_thr < 1 || f->n_area < 1 || f->n_thr > INT16_MAX || f->n_area > INT16_MAX ||
        f->n_area * f->n_thr > INT32_MAX / 2 || f->max_det < 1)
        return "no class, threshold or area range, too many, or max_det < 1";
    if (f->n_gt >= INT32_MAX || f->n_dt >= INT32_MAX || f->n_cls >= INT32_MAX)
        return "2**31 rows or classes or more";
    for (Py_ssize_t c = 1; c < f->n_cls; c++)
        if (f->class_ids[c] <= f->class_ids[c - 1])
            return "class ids not strictly ascending";
    int64_t gs = 0, dsum = 0;
    f->narrow_ids = 1;
    for (Py_ssize_t i = 0; i < f->n_img; i++) {
        f->narrow_ids &= f->image_ids[i] >= INT32_MIN && f->image_ids[i] <= INT32_MAX;
        if (f->img_gt[i] < 0 || f->img_dt[i] < 0 || f->img_gt[i] > f->n_gt - gs || f->img_dt[i] > f->n_dt - dsum)
            return "rows per image negative or not adding up to the rows";
        gs += f->img_gt[i];
        dsum += f->img_dt[i];
    }
    if (gs != f->n_gt || dsum != f->n_dt)
        return "rows per image not adding up to the rows";
    for (Py_ssize_t j = 0; j < f->n_dt; j++)
        if (f->score[j] != f->score[j])
            return "a NaN score";
    f->thr_min = f->thr[0];
    for (Py_ssize_t t = 1; t < f->n_thr; t++)
        f->thr_min = f->thr[t] < f->thr_min ? f->thr[t] : f->thr_min;
    return NULL;
}

/* The per-call work before the walk: images by id, rows' class indices, the detections' class
 * counts and their scores outside [0, 1] (the outputs are made). */
static void prepare(Flush *f)
{
    f->gt_start[0] = f->dt_start[0] = 0;
    for (Py_ssize_t i = 0; i < f->n_img; i++) {
        f->gt_start[i + 1] = f->gt_start[i] + f->img_gt[i];
        f->dt_start[i + 1] = f->dt_start[i] + f->img_dt[i];
        f->images[i] = (ByKey){f->image_ids[i], i};
    }
    qsort(f->images, (size_t)f->n_img, sizeof(ByKey), by_key);
    double lo = 0.0, hi = 0.0; /* numpy's minimum and maximum reductions over both areas */
    for (Py_ssize_t r = 0; r < f->n_gt; r++) {
        lo = r ? np_min(lo, f->gt_area[r]) : f->gt_area[r];
        hi = r ? np_max(hi, f->gt_area[r]) : f->gt_area[r];
    }
    for (Py_ssize_t j = 0; j < f->n_dt; j++) {
        lo = j || f->n_gt ? np_min(lo, f->dt_area[j]) : f->dt_area[j];
        hi = j || f->n_gt ? np_max(hi, f->dt_area[j]) : f->dt_area[j];
    }
    f->area_lo = lo, f->area_hi = hi;
    for (Py_ssize_t q = 1; q < f->n_img && f->error == NULL; q++)
        if (f->images[q].key == f->images[q - 1].key)
            f->error = "an image id given twice";
    for (Py_ssize_t r = 0; r < f->n_gt && f->error == NULL; r++)
        if ((f->gt_cls[r] = class_of(f, f->gt_cat[r])) < 0)
            f->error = "a ground-truth label not among the class ids";
    int64_t *dt_count = (int64_t *)f->out[OUT_DT_COUNT], *dt_first = (int64_t *)f->out[OUT_DT_FIRST];
    for (Py_ssize_t c = 0; c < f->n_cls; c++)
        dt_first[c] = -1;
    memset(dt_count, 0, (size_t)f->n_cls * sizeof(int64_t));
    for (Py_ssize_t j = 0; j < f->n_dt && f->error == NULL; j++) {
        const int32_t c = f->dt_cls[j] = class_of(f, f->dt_cat[j]);
        if (c < 0) {
            f->error = "a detection label not among the class ids";
            break;
        }
        dt_first[c] = dt_first[c] < 0 ? j : dt_first[c];
        dt_count[c]++;
        if (!(f->score[j] >= 0 && f->score[j] <= 1)) {
            if (f->odd_first < 0)
                f->odd_first = j;
            f->odd++;
        }
    }
}

/* flush_boxes(image_ids, n_gt, n_dt, gt_cat, gt_box, gt_area, iscrowd, ignore, dt_cat, dt_box,
 *             dt_area, score, class_ids, thresholds, area_ranges, max_det)
 *   -> (18 bytearrays as the OUT_* list says, longest run of an (image, class)'s detections,
 *       (scores outside [0, 1], the first such row or -1), (repeated detections, the first or -1),
 *       (smallest, largest area of every row; 0.0, 0.0 for none), whether the image ids' outputs are
 *       int32 (every image id fits) or int64)
 * Inputs: columns of images one after the other (rows as given), int64 / float64 / bool;
 * boxes xywh (G, 4) and (D, 4); every label among class_ids (sorted); image ids distinct;
 * thresholds as matched (capped below 1); area_ranges (A, 2) inclusive. */
static PyObject *flush_boxes(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[N_IN];
    Py_ssize_t max_det;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOOOOn", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8],
                          &o[9], &o[10], &o[11], &o[12], &o[13], &o[14], &max_det))
        return NULL;
    static const Kind kinds[N_IN] = {I64, I64, I64, I64, F64, F64, U8, U8, I64, F64, F64, F64, I64, F64, F64};
    static const char *names[N_IN] = {"image_ids", "n_gt",  "n_dt",    "gt_cat",    "gt_box",
                                      "gt_area",   "crowd", "ignore",  "dt_cat",    "dt_box",
                                      "dt_area",   "score", "class_ids", "thresholds", "area_ranges"};
    Py_buffer v[N_IN];
    memset(v, 0, sizeof v);
    PyObject *result = NULL, *parts[N_OUT] = {NULL};
    Flush f;
    memset(&f, 0, sizeof f);
    Scratch s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < N_IN; i++)
        if (get_array(o[i], &v[i], kinds[i], names[i]) < 0)
            goto done;
    f.max_det = max_det;
    f.image_ids = v[IN_IMAGE_IDS].buf, f.img_gt = v[IN_N_GT].buf, f.img_dt = v[IN_N_DT].buf;
    f.gt_cat = v[IN_GT_CAT].buf, f.dt_cat = v[IN_DT_CAT].buf, f.class_ids = v[IN_CLASS_IDS].buf;
    f.gt_box = v[IN_GT_BOX].buf, f.gt_area = v[IN_GT_AREA].buf, f.dt_box = v[IN_DT_BOX].buf;
    f.dt_area = v[IN_DT_AREA].buf, f.score = v[IN_SCORE].buf, f.thr = v[IN_THR].buf;
    f.ranges = v[IN_RANGES].buf, f.crowd = v[IN_CROWD].buf, f.ignore = v[IN_IGNORE].buf;
    f.odd_first = f.repeat_first = -1;
    const char *bad = check(&f, v);
    if (bad != NULL) {
        PyErr_Format(PyExc_ValueError, "flush_boxes: %s", bad);
        goto done;
    }
    const Py_ssize_t I = f.n_img, G = f.n_gt, D = f.n_dt, A = f.n_area, K = f.n_cls;
    const size_t g1 = (size_t)(G ? G : 1), d1 = (size_t)(D ? D : 1);
    f.gt_start = malloc((size_t)(I + 1) * sizeof(int64_t));
    f.dt_start = malloc((size_t)(I + 1) * sizeof(int64_t));
    f.images = malloc((size_t)(I ? I : 1) * sizeof(ByKey));
    f.gt_cls = malloc(g1 * sizeof(int32_t));
    f.dt_cls = malloc(d1 * sizeof(int32_t));
    f.ds_src = malloc(g1 * sizeof(int64_t));
    f.nonign = malloc(g1 * (size_t)A);
    f.class_count = calloc((size_t)K, sizeof(int64_t));
    s.gt_run_cls = malloc((size_t)K * sizeof(int32_t));
    s.dt_run_cls = malloc((size_t)K * sizeof(int32_t));
    s.gt_run_start = malloc((size_t)(K + 1) * sizeof(int64_t));
    s.dt_run_start = malloc((size_t)(K + 1) * sizeof(int64_t));
    s.dt_order = malloc(d1 * sizeof(int64_t));
    s.src = malloc(d1 * sizeof(int64_t));
    s.scores = malloc(d1 * sizeof(ByScore));
    s.tmp = malloc(d1 * sizeof(ByScore));
    s.boxes = malloc(d1 * sizeof(BoxAt));
    const int64_t span = f.class_ids[K - 1] - f.class_ids[0]; /* ascending: no overflow below 2**20 */
    if (span >= 0 && span < (INT64_C(1) << 20)) {
        f.table_size = span + 1;
        if ((f.table = malloc((size_t)f.table_size * sizeof(int32_t))) != NULL) {
            for (int64_t k = 0; k < f.table_size; k++)
                f.table[k] = -1;
            for (Py_ssize_t c = 0; c < K; c++)
                f.table[f.class_ids[c] - f.class_ids[0]] = (int32_t)c;
        }
    }
    if (!f.gt_start || !f.dt_start || !f.images || !f.gt_cls || !f.dt_cls || !f.ds_src || !f.nonign ||
        !f.class_count || !s.gt_run_cls || !s.dt_run_cls || !s.gt_run_start || !s.dt_run_start || !s.dt_order || !s.src || !s.scores || !s.tmp ||
        !s.boxes || (f.table_size && !f.table)) {
        PyErr_NoMemory();
        goto done;
    }
    /* the detections' outputs sized for every detection, cut to the kept ones after */
    const Py_ssize_t sizes[N_OUT] = {D, D, D, D, D, A * D, 0, 0, 0, 0, 0, K * A, G, G, A * G, K, K, K};
    for (int k = 0; k < N_OUT; k++) {
        if (k >= OUT_HIT_AREA && k <= OUT_HIT_IGN)
            continue; /* made once the hits are counted */
        if ((parts[k] = PyByteArray_FromStringAndSize(NULL, sizes[k] * width_of(&f, k))) == NULL)
            goto done;
        f.out[k] = PyByteArray_AS_STRING(parts[k]);
    }
    Py_BEGIN_ALLOW_THREADS prepare(&f);
    Py_END_ALLOW_THREADS
    if (f.error != NULL) {
        PyErr_Format(PyExc_ValueError, "flush_boxes: %s", f.error);
        goto done;
    }
    memset(f.out[OUT_NPOS], 0, (size_t)(K * A) * sizeof(int64_t));
    memset(f.out[OUT_GT_COUNT], 0, (size_t)K * sizeof(int64_t));
    int oom;
    Py_BEGIN_ALLOW_THREADS oom = walk(&f, &s) < 0;
    Py_END_ALLOW_THREADS
    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    for (int k = OUT_DET_CLASS; k <= OUT_DET_OOR; k++)
        if (PyByteArray_Resize(parts[k], (k == OUT_DET_OOR ? A : 1) * f.n_kept * width_of(&f, k)) < 0)
            goto done;
    for (int k = OUT_HIT_AREA; k <= OUT_HIT_IGN; k++) {
        if ((parts[k] = PyByteArray_FromStringAndSize(NULL, f.n_hits * width_of(&f, k))) == NULL)
            goto done;
        f.out[k] = PyByteArray_AS_STRING(parts[k]);
    }
    f.out[OUT_DT_COUNT] = PyByteArray_AS_STRING(parts[OUT_DT_COUNT]);
    f.out[OUT_DT_FIRST] = PyByteArray_AS_STRING(parts[OUT_DT_FIRST]);
    Py_BEGIN_ALLOW_THREADS oom = finish(&f) < 0;
    Py_END_ALLOW_THREADS
    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *tuple = PyTuple_New(N_OUT);
    if (tuple == NULL)
        goto done;
    for (int k = 0; k < N_OUT; k++) {
        PyTuple_SET_ITEM(tuple, k, parts[k]);
        parts[k] = NULL;
    }
    result = Py_BuildValue("(NL(LL)(LL)(dd)O)", tuple, (long long)f.longest, (long long)f.odd,
                           (long long)f.odd_first, (long long)f.repeats, (long long)f.repeat_first, f.area_lo,
                           f.area_hi, f.narrow_ids ? Py_True : Py_False);
done:
    for (int k = 0; k < N_OUT; k++)
        Py_XDECREF(parts[k]);
    for (int i = 0; i < N_IN; i++)
        if (v[i].obj != NULL)
            PyBuffer_Release(&v[i]);
    free(f.gt_start);
    free(f.dt_start);
    free(f.images);
    free(f.gt_cls);
    free(f.dt_cls);
    free(f.ds_src);
    free(f.nonign);
    free(f.hits);
    free(f.class_count);
    free(f.table);
    free(s.gt_run_cls);
    free(s.dt_run_cls);
    free(s.gt_run_start);
    free(s.dt_run_start);
    free(s.dt_order);
    free(s.src);
    free(s.scores);
    free(s.tmp);
    free(s.boxes);
    free(s.iou);
    free(s.gbox);
    free(s.taken);
    free(s.gnon);
    free(s.gcrowd);
    return result;
}

static PyMethodDef methods[] = {
    {"flush_boxes", flush_boxes, METH_VARARGS,
     "flush_boxes(image_ids, n_gt, n_dt, gt_cat, gt_box, gt_area, iscrowd, ignore, dt_cat, dt_box, dt_area, "
     "score, class_ids, thresholds, area_ranges, max_det) -> (outputs, longest run, odd scores, repeats, "
     "area bounds, int32 ids)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_stream", "detrecall's streaming flush of box batches in one compiled pass.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__stream(void) { return PyModule_Create(&module); }
