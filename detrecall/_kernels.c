/* detrecall's compiled matching and accumulation: COCO's greedy matching of candidate pairs and
 * pycocotools' accumulate(), over threads; and the mask IoUs of the planned blocks (each
 * compressed RLE decoded once), over threads. Twins: the numpy paths in detrecall/matching.py
 * and detrecall/aggregate.py, which tests/test_kernels.py holds equal to these on every case;
 * for mask_iou, pycocotools' iou (block by block, geometry/masks.py's path without the kernel),
 * which tests/geometry/test_mask_iou_kernel.py holds equal to it.
 *
 * Arrays come in through the buffer protocol (C-contiguous; int64 "q"/"l", float64 "d",
 * uint8 "B"; accumulate's detection indices int64 or int32); every index is checked before it
 * is used, so a wrong call raises, never reads out of bounds. The work runs with the GIL
 * released (mask_iou first takes, with it, the strings it reads, each by a new reference, or
 * holds the views of an RleMasks' columns). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_box_iou.h"

#define MAX_THREADS 256
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

typedef enum { I64, I32, I16, F64, U8, IDX } Kind; /* IDX: int64 or int32 (read with idx_at) */

static int get_array(PyObject *obj, Py_buffer *view, Kind kind, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    const char *f = view->format ? view->format : "B";
    int ok = 0;
    if (kind == I64 || (kind == IDX && view->itemsize == 8))
        ok = view->itemsize == 8 && (strcmp(f, "q") == 0 || strcmp(f, "l") == 0);
    else if (kind == IDX)
        ok = view->itemsize == 4 && (strcmp(f, "i") == 0 || strcmp(f, "l") == 0);
    else if (kind == I32)
        ok = view->itemsize == 4 && (strcmp(f, "i") == 0 || strcmp(f, "l") == 0);
    else if (kind == I16)
        ok = view->itemsize == 2 && strcmp(f, "h") == 0;
    else if (kind == F64)
        ok = view->itemsize == 8 && strcmp(f, "d") == 0;
    else
        ok = view->itemsize == 1 && strcmp(f, "B") == 0;
    if (!ok) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous %s array", name,
                     kind == I64   ? "int64"
                     : kind == IDX ? "int64 or int32"
                     : kind == I32 ? "int32"
                     : kind == I16 ? "int16"
                     : kind == F64 ? "float64"
                                   : "uint8");
        return -1;
    }
    return 0;
}

static Py_ssize_t count_of(const Py_buffer *v) { return v->len / v->itemsize; }

/* Entry i of an IDX array (int64 or int32: the plan's indices are int32 when they fit). */
static inline int64_t idx_at(const Py_buffer *v, Py_ssize_t i)
{
    return v->itemsize == 4 ? (int64_t)((const int32_t *)v->buf)[i] : ((const int64_t *)v->buf)[i];
}

static void release_all(Py_buffer *views, int n)
{
    for (int i = 0; i < n; i++)
        if (views[i].obj != NULL)
            PyBuffer_Release(&views[i]);
}

/* Every array of a call (get_array each, o[i] as kinds[i], writable from index `writable` on):
 * 0, or -1 with none held and the error set. */
static int get_arrays(PyObject *const *o, Py_buffer *v, int n, const Kind *kinds, int writable,
                      const char *const *names)
{
    memset(v, 0, (size_t)n * sizeof(Py_buffer));
    for (int i = 0; i < n; i++)
        if (get_array(o[i], &v[i], kinds[i], i >= writable, names[i]) < 0) {
            release_all(v, i);
            return -1;
        }
    return 0;
}

/* Runs fn(arg + i * size) for i < n on n threads (the calling one included); 0 on success. */
static int run_threads(void *(*fn)(void *), void *args, size_t size, int n)
{
    pthread_t ids[MAX_THREADS];
    int started = 0, failed = 0;
    for (int i = 1; i < n; i++) {
        if (pthread_create(&ids[i], NULL, fn, (char *)args + (size_t)i * size) != 0) {
            failed = 1;
            break;
        }
        started = i;
    }
    if (failed) { /* the ones that did not start run here, in turn */
        for (int i = started + 1; i < n; i++)
            fn((char *)args + (size_t)i * size);
    }
    fn(args);
    for (int i = 1; i <= started; i++)
        pthread_join(ids[i], NULL);
    return 0;
}

/* ---- matching ---------------------------------------------------------------------------- */

#define NO_PICK UINT16_MAX

typedef struct {
    /* shared, read-only */
    const int64_t *c_dt, *c_gt;
    const double *c_iou, *thr;
    const uint8_t *nonign, *crowd;
    const int64_t *gt_rows;
    uint8_t *taken; /* (G, A, T); the threads' candidate ranges touch disjoint ground truths */
    Py_ssize_t n_area, n_thr;
    /* this thread's candidate range and its detections' picks: per detection with candidates,
     * (A, T) offsets into its candidates (NO_PICK: none), and the picks counted by key */
    Py_ssize_t lo, hi, n_runs;
    uint16_t *pick;
    Py_ssize_t *per_key; /* then: where this thread's hits of each key start in the output */
    int16_t *o_area, *o_thr;
    int32_t *o_det, *o_gt;
    uint8_t *o_ignored;
    int oom;
} MatchJob;

/* The end of the detection's candidates that start at `lo`. */
static Py_ssize_t run_end(const MatchJob *j, Py_ssize_t lo)
{
    Py_ssize_t hi = lo + 1;
    while (hi < j->hi && j->c_dt[hi] == j->c_dt[lo])
        hi++;
    return hi;
}

/* Each detection, in rank order within its group, takes per (area range, threshold) the free
 * candidate that pycocotools' evaluateImg() gives it: a not-ignored ground truth before an
 * ignored one, then the highest IoU (>= the threshold), then the later one in file order. */
static void *match_range(void *arg)
{
    MatchJob *j = arg;
    const Py_ssize_t A = j->n_area, T = j->n_thr;
    Py_ssize_t lo = j->lo, run = 0;
    while (lo < j->hi) {
        const Py_ssize_t hi = run_end(j, lo);
        uint16_t *pick = j->pick + run * A * T;
        for (Py_ssize_t a = 0; a < A; a++) {
            for (Py_ssize_t t = 0; t < T; t++) {
                const double floor = j->thr[t];
                Py_ssize_t best = -1;
                int64_t best_g = -1;
                int best_non = 0;
                double best_iou = 0.0;
                for (Py_ssize_t c = lo; c < hi; c++) {
                    const double iou = j->c_iou[c];
                    if (!(iou >= floor))
                        continue;
                    const int64_t g = j->c_gt[c];
                    if (j->taken[(g * A + a) * T + t] && !j->crowd[g])
                        continue;
                    const int non = j->nonign[g * A + a];
                    if (best < 0 || non > best_non ||
                        (non == best_non && (iou > best_iou || (iou == best_iou && g > best_g)))) {
                        best = c;
                        best_g = g;
                        best_non = non;
                        best_iou = iou;
                    }
                }
                if (best >= 0) {
                    j->taken[(best_g * A + a) * T + t] = 1;
                    j->per_key[a * T + t]++;
                    pick[a * T + t] = (uint16_t)(best - lo);
                }
                else
                    pick[a * T + t] = NO_PICK;
            }
        }
        run++;
        lo = hi;
    }
    return NULL;
}

/* The picks of match_range written as hits, each key's at its place in the output. */
static void *write_hits(void *arg)
{
    MatchJob *j = arg;
    const Py_ssize_t A = j->n_area, T = j->n_thr;
    Py_ssize_t lo = j->lo, run = 0;
    while (lo < j->hi) {
        const int64_t d = j->c_dt[lo];
        const Py_ssize_t hi = run_end(j, lo);
        const uint16_t *pick = j->pick + run * A * T;
        for (Py_ssize_t key = 0; key < A * T; key++) {
            if (pick[key] == NO_PICK)
                continue;
            const Py_ssize_t p = j->per_key[key]++;
            const int64_t g = j->c_gt[lo + pick[key]];
            j->o_area[p] = (int16_t)(key / T);
            j->o_thr[p] = (int16_t)(key % T);
            j->o_det[p] = (int32_t)d;
            j->o_gt[p] = (int32_t)j->gt_rows[g];
            j->o_ignored[p] = !j->nonign[g * A + key / T];
        }
        run++;
        lo = hi;
    }
    return NULL;
}

/* match(c_dt, c_gt, c_iou, det_group, thr, nonign, crowd, gt_rows, n_area, threads)
 *   -> (area, thr, det, gt row, ignored) as bytearrays of int16, int16, int32, int32, uint8,
 *   ordered by (area, threshold, detection): 13 bytes a hit (up to A * T per detection).
 * c_dt: kept detection of each candidate pair, nondecreasing (rank order within a group), at
 * most 65534 candidates a detection; c_gt: its ground truth (< len(crowd)); det_group: group of
 * each kept detection (the threads split between groups); nonign: (G, A) uint8; crowd: (G,);
 * gt_rows: (G,) the Dataset row of each ground truth (< 2**31), what a hit names. */
static PyObject *match(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[8];
    Py_ssize_t n_area;
    int threads;
    if (!PyArg_ParseTuple(args, "OOOOOOOOni", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &n_area,
                          &threads))
        return NULL;
    Py_buffer v[8];
    static const Kind kinds[8] = {I64, I64, F64, I64, F64, U8, U8, I64};
    static const char *names[8] = {"c_dt", "c_gt", "c_iou", "det_group", "thr", "nonign", "crowd", "gt_rows"};
    if (get_arrays(o, v, 8, kinds, 8, names) < 0)
        return NULL;
    PyObject *result = NULL, *parts[5] = {NULL, NULL, NULL, NULL, NULL};
    MatchJob *jobs = NULL;
    uint8_t *taken = NULL;
    const Py_ssize_t n_c = count_of(&v[0]), n_kept = count_of(&v[3]), n_thr = count_of(&v[4]);
    const Py_ssize_t n_gt = count_of(&v[6]);
    const int64_t *c_dt = v[0].buf, *c_gt = v[1].buf, *group = v[3].buf, *gt_rows = v[7].buf;
    for (Py_ssize_t g = 0; g < count_of(&v[7]); g++)
        if (gt_rows[g] < 0 || gt_rows[g] > INT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "match: a ground-truth row is negative or past 2**31");
            goto done;
        }
    if (count_of(&v[1]) != n_c || count_of(&v[2]) != n_c || n_area < 1 || n_thr < 1 || count_of(&v[7]) != n_gt ||
        count_of(&v[5]) != n_gt * n_area || n_area > INT16_MAX || n_thr > INT16_MAX ||
        n_kept > INT32_MAX || n_gt > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "match: inconsistent array lengths");
        goto done;
    }
    Py_ssize_t run_length = 0;
    for (Py_ssize_t i = 0; i < n_c; i++) {
        if (c_dt[i] < 0 || c_dt[i] >= n_kept || c_gt[i] < 0 || c_gt[i] >= n_gt ||
            (i && c_dt[i] < c_dt[i - 1])) {
            PyErr_SetString(PyExc_ValueError, "match: candidates out of range or not in detection order");
            goto done;
        }
        run_length = i && c_dt[i] == c_dt[i - 1] ? run_length + 1 : 1;
        if (run_length >= NO_PICK) {
            PyErr_SetString(PyExc_ValueError, "match: a detection has 65535 candidates or more");
            goto done;
        }
    }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (n_c < 4096 * (Py_ssize_t)threads)
        threads = n_c / 4096 > 0 ? (int)(n_c / 4096) : 1;
    const Py_ssize_t n_keys = n_area * n_thr;
    taken = calloc((size_t)(n_gt ? n_gt : 1) * (size_t)n_keys, 1);
    jobs = calloc((size_t)threads, sizeof(MatchJob));
    if (taken == NULL || jobs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t start = 0;
    for (int i = 0; i < threads; i++) {
        Py_ssize_t end = i == threads - 1 ? n_c : (n_c * (i + 1)) / threads;
        if (end < start)
            end = start;
        while (end < n_c && end > 0 && group[c_dt[end]] == group[c_dt[end - 1]])
            end++; /* a group stays on one thread: its detections compete for the same truths */
        Py_ssize_t runs = 0;
        for (Py_ssize_t c = start; c < end; c++)
            runs += c == start || c_dt[c] != c_dt[c - 1];
        jobs[i] = (MatchJob){.c_dt = c_dt, .c_gt = c_gt, .c_iou = v[2].buf, .thr = v[4].buf,
                             .nonign = v[5].buf, .crowd = v[6].buf, .gt_rows = gt_rows, .taken = taken,
                             .n_area = n_area, .n_thr = n_thr, .lo = start, .hi = end, .n_runs = runs,
                             .pick = malloc((size_t)(runs ? runs : 1) * (size_t)n_keys * sizeof(uint16_t)),
                             .per_key = calloc((size_t)n_keys, sizeof(Py_ssize_t))};
        if (jobs[i].pick == NULL || jobs[i].per_key == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        start = end;
    }
    Py_BEGIN_ALLOW_THREADS run_threads(match_range, jobs, sizeof(MatchJob), threads);
    Py_END_ALLOW_THREADS
    free(taken); /* before the output is allocated: the peak is the smaller */
    taken = NULL;

    /* stable counting sort by (area, threshold) key: detections stay ascending within a key */
    Py_ssize_t n_hits = 0;
    for (Py_ssize_t k = 0; k < n_keys; k++)
        for (int i = 0; i < threads; i++) {
            const Py_ssize_t c = jobs[i].per_key[k];
            jobs[i].per_key[k] = n_hits;
            n_hits += c;
        }
    static const int width[5] = {2, 2, 4, 4, 1};
    for (int k = 0; k < 5; k++)
        if ((parts[k] = PyByteArray_FromStringAndSize(NULL, n_hits * width[k])) == NULL)
            goto done;
    for (int i = 0; i < threads; i++) {
        jobs[i].o_area = (int16_t *)PyByteArray_AS_STRING(parts[0]);
        jobs[i].o_thr = (int16_t *)PyByteArray_AS_STRING(parts[1]);
        jobs[i].o_det = (int32_t *)PyByteArray_AS_STRING(parts[2]);
        jobs[i].o_gt = (int32_t *)PyByteArray_AS_STRING(parts[3]);
        jobs[i].o_ignored = (uint8_t *)PyByteArray_AS_STRING(parts[4]);
    }
    Py_BEGIN_ALLOW_THREADS run_threads(write_hits, jobs, sizeof(MatchJob), threads);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(OOOOO)", parts[0], parts[1], parts[2], parts[3], parts[4]);
done:
    for (int k = 0; k < 5; k++)
        Py_XDECREF(parts[k]);
    if (jobs != NULL)
        for (int i = 0; i < threads; i++) {
            free(jobs[i].pick);
            free(jobs[i].per_key);
        }
    free(jobs);
    free(taken);
    release_all(v, 8);
    return result;
}

/* ---- accumulation ------------------------------------------------------------------------ */

/* Everything below is in class-then-score space (by class ascending, then score descending,
 * ties as in the score order given): a class is one contiguous run and no pass gathers. */
typedef struct {
    /* shared, read-only */
    const int32_t *rank, *origin; /* by position: the rank, and the detection there */
    const int64_t *seg, *npos, *max_dets;
    const double *score, *rec_thr; /* score: by detection (read at the recall thresholds only) */
    const uint8_t *oor;            /* (D, A) by position: out of each area range */
    const int32_t *hit_start;      /* (D + 1,): each position's hits, codes start[i]:start[i + 1] */
    const void *hit_code;          /* (area * T + threshold) * 2 + ignored: uint8, or uint16 */
    int code_bytes;                /* 1 where A * T * 2 <= 256 (COCO's 80), else 2 */
    Py_ssize_t n_thr, n_rec, n_cls, n_area, n_max;
    double *precision, *recall, *scores;
    /* this thread's classes: k = first, first + step, ... */
    Py_ssize_t first, step;
    int oom;
} AccJob;

static inline uint32_t hit_code_at(const AccJob *j, int64_t h)
{
    return j->code_bytes == 1 ? ((const uint8_t *)j->hit_code)[h] : ((const uint16_t *)j->hit_code)[h];
}

/* One class's figures at one (area range, threshold, cut) from its true positives' places in
 * the cut (ta) and the false positives before each (fa): precision's envelope from the end,
 * then each recall threshold's first true positive reaching it. Only true positives move
 * recall up and the envelope's maxima sit on them, so precision is computed there alone
 * (pycocotools' arithmetic: tp / (fp + tp + eps)); recall 0 is reached at the first position,
 * whatever it holds. */
static void cut_figures(const AccJob *j, Py_ssize_t k, Py_ssize_t a, Py_ssize_t t, Py_ssize_t m,
                        const int64_t *cut, Py_ssize_t nd, const int32_t *ta, const int32_t *fa, int64_t ntp,
                        int64_t npos, double *env)
{
    const Py_ssize_t R = j->n_rec, K = j->n_cls, A = j->n_area, M = j->n_max;
    for (int64_t q = 0; q < ntp; q++)
        env[q] = (double)(q + 1) / (((double)fa[q] + (double)(q + 1)) + DBL_EPSILON);
    j->recall[((t * K + k) * A + a) * M + m] = nd ? (double)ntp / (double)npos : 0.0;
    for (int64_t q = ntp - 1; q > 0; q--)
        if (env[q] > env[q - 1])
            env[q - 1] = env[q];
    const double rc0 = nd && ntp && ta[0] == 0 ? 1.0 / (double)npos : 0.0;
    int64_t q = 0; /* the first true positive whose recall reaches the threshold */
    for (Py_ssize_t r = 0; r < R; r++) {
        const double want = j->rec_thr[r];
        const Py_ssize_t at = ((((t * R + r) * K + k) * A + a) * M) + m;
        if (nd && want <= rc0) { /* the first position */
            j->precision[at] = ntp ? env[0] : 0.0;
            j->scores[at] = j->score[j->origin[cut[0]]];
            continue;
        }
        while (q < ntp && (double)(q + 1) / (double)npos < want)
            q++;
        j->precision[at] = q < ntp ? env[q] : 0.0;
        j->scores[at] = q < ntp ? j->score[j->origin[cut[ta[q]]]] : 0.0;
    }
}

/* pycocotools' accumulate() for the classes of one thread, every area range at once: per
 * max_dets cut, one walk in score order gives every (area range, threshold)'s true positives
 * (their places in the cut) and the false positives before each (the unmatched detections
 * inside the range; ignored ones keep their place, counted as neither). A walk reads each
 * detection's range flags and its own hits only, so it costs detections plus hits, not
 * detections x thresholds x ranges; and one class writes all its figures together, so the
 * (T, R, K, A, M) outputs are written a row at a time, not strided across them. A cut holding
 * the same detections as the one before (cuts are nested) copies its figures. */
static void *accumulate_classes(void *arg)
{
    AccJob *j = arg;
    const Py_ssize_t T = j->n_thr, R = j->n_rec, K = j->n_cls, A = j->n_area, M = j->n_max, AT = A * T;
    /* per (area, threshold): true positives in the class, their offset, and per walk the
     * true positives so far and the hits inside the range so far; per area, positions inside */
    int64_t *count = malloc((size_t)(4 * AT + A) * sizeof(int64_t));
    if (!count) {
        j->oom = 1;
        return NULL;
    }
    int64_t *in_class = count, *offset = count + AT, *tp = count + 2 * AT, *hit_in = count + 3 * AT;
    int64_t *in_range = count + 4 * AT;
    for (Py_ssize_t k = j->first; k < K; k += j->step) {
        int any_pos = 0;
        for (Py_ssize_t a = 0; a < A; a++)
            any_pos |= j->npos[k * A + a] > 0;
        if (!any_pos)
            continue; /* no ground truth counted: -1, as pycocotools leaves it */
        const Py_ssize_t lo = j->seg[k], n = j->seg[k + 1] - lo;
        memset(in_class, 0, (size_t)AT * sizeof(int64_t));
        for (int64_t h = j->hit_start[lo]; h < j->hit_start[lo + n]; h++)
            if (!(hit_code_at(j, h) & 1))
                in_class[hit_code_at(j, h) >> 1]++;
        int64_t slots = 0;
        for (Py_ssize_t u = 0; u < AT; u++) {
            offset[u] = slots;
            slots += in_class[u];
        }
        int64_t *cut = malloc((size_t)(n + 1) * sizeof(int64_t));
        /* at offset[a * T + t] + q: the q-th true positive's place in the cut, and the false
         * positives before it (32 bits: D < 2^31) */
        int32_t *tp_at = malloc((size_t)(slots + 1) * sizeof(int32_t));
        int32_t *fp_at = malloc((size_t)(slots + 1) * sizeof(int32_t));
        double *env = malloc((size_t)(n + 1) * sizeof(double));
        if (!cut || !tp_at || !fp_at || !env) {
            free(cut), free(tp_at), free(fp_at), free(env), free(count);
            j->oom = 1;
            return NULL;
        }
        Py_ssize_t last_nd = -1;
        for (Py_ssize_t m = 0; m < M; m++) {
            Py_ssize_t nd = 0;
            for (Py_ssize_t i = lo; i < lo + n; i++)
                if (j->rank[i] < j->max_dets[m])
                    cut[nd++] = i;
            if (m > 0 && nd == last_nd) { /* the same detections: the same figures */
                for (Py_ssize_t t = 0; t < T; t++)
                    for (Py_ssize_t a = 0; a < A; a++) {
                        if (j->npos[k * A + a] <= 0)
                            continue;
                        const Py_ssize_t rec = ((t * K + k) * A + a) * M + m;
                        j->recall[rec] = j->recall[rec - 1];
                        for (Py_ssize_t r = 0; r < R; r++) {
                            const Py_ssize_t at = ((((t * R + r) * K + k) * A + a) * M) + m;
                            j->precision[at] = j->precision[at - 1];
                            j->scores[at] = j->scores[at - 1];
                        }
                    }
                continue;
            }
            last_nd = nd;
            memset(tp, 0, (size_t)(2 * AT + A) * sizeof(int64_t)); /* tp, hit_in, in_range */
            for (Py_ssize_t c = 0; c < nd; c++) {
                const Py_ssize_t i = cut[c];
                const uint8_t *out = j->oor + i * A;
                for (int64_t h = j->hit_start[i]; h < j->hit_start[i + 1]; h++) {
                    const uint32_t code = hit_code_at(j, h);
                    const uint32_t u = code >> 1; /* area * T + threshold */
                    const Py_ssize_t a = u / T;
                    if (!(code & 1)) { /* a true positive: unmatched in range before it */
                        tp_at[offset[u] + tp[u]] = (int32_t)c;
                        fp_at[offset[u] + tp[u]] = (int32_t)(in_range[a] - hit_in[u]);
                        tp[u]++;
                    }
                    hit_in[u] += !out[a];
                }
                for (Py_ssize_t a = 0; a < A; a++)
                    in_range[a] += !out[a];
            }
            for (Py_ssize_t t = 0; t < T; t++)
                for (Py_ssize_t a = 0; a < A; a++) {
                    const int64_t npos = j->npos[k * A + a];
                    if (npos <= 0)
                        continue;
                    const Py_ssize_t u = a * T + t;
                    cut_figures(j, k, a, t, m, cut, nd, tp_at + offset[u], fp_at + offset[u], tp[u], npos, env);
                }
        }
        free(cut), free(tp_at), free(fp_at), free(env);
    }
    free(count);
    return NULL;
}

/* accumulate(by_score, rank, cls, score, out_of_range, hit_area, hit_thr, hit_det, hit_ignored,
 *            npos, rec_thr, max_dets, precision, recall, scores, threads) -> None
 * by_score: the detections by score descending (ties as pycocotools breaks them: by image,
 * then rank), regrouped here by class with a stable counting sort; by_score, rank and cls int64
 * or int32 (the plan's width); out_of_range: (A, D) uint8;
 * npos: (K, A);
 * hits: area and threshold int16, detection int32 (as match() gives them), ignored uint8;
 * precision, scores: (T, R, K, A, M) float64 and recall (T, K, A, M), filled in place where a
 * class has ground truth in an area range (the caller set the rest to -1). */
static PyObject *accumulate(PyObject *self, PyObject *args)
{
    (void)self;
    enum { N = 15 };
    PyObject *o[N];
    int threads;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOOOOi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7],
                          &o[8], &o[9], &o[10], &o[11], &o[12], &o[13], &o[14], &threads))
        return NULL;
    static const Kind kinds[N] = {IDX, IDX, IDX, F64, U8, I16, I16, I32, U8, I64, F64, I64, F64, F64, F64};
    static const char *names[N] = {"by_score", "rank", "cls", "score", "out_of_range", "hit_area",
                                   "hit_thr", "hit_det", "hit_ignored", "npos", "rec_thr",
                                   "max_dets", "precision", "recall", "scores"};
    Py_buffer v[N];
    if (get_arrays(o, v, N, kinds, 12, names) < 0)
        return NULL;
    PyObject *result = NULL;
    uint8_t *oor = NULL;
    int64_t *seg = NULL, *next = NULL;
    int32_t *hit_start = NULL;
    void *hit_code = NULL;
    int32_t *where = NULL, *rank = NULL, *origin = NULL; /* 32 bits: D < 2^31, checked below */
    AccJob *jobs = NULL;
    const Py_ssize_t D = count_of(&v[0]), H = count_of(&v[5]), R = count_of(&v[10]), M = count_of(&v[11]);
    const int16_t *h_area = v[5].buf, *h_thr = v[6].buf;
    const int32_t *h_det = v[7].buf;
    const uint8_t *h_ign = v[8].buf;
    Py_ssize_t A = 0, K = 0, T = 0;
    if (D > 0 && count_of(&v[4]) % D == 0)
        A = count_of(&v[4]) / D;
    if (A > 0)
        K = count_of(&v[9]) / A;
    if (A > 0 && K > 0 && M > 0)
        T = count_of(&v[13]) / (K * A * M);
    if (D == 0 || A == 0 || K == 0 || T == 0 || count_of(&v[1]) != D || count_of(&v[2]) != D ||
        count_of(&v[3]) != D || count_of(&v[9]) != K * A || count_of(&v[6]) != H || count_of(&v[7]) != H ||
        count_of(&v[8]) != H || count_of(&v[12]) != T * R * K * A * M || count_of(&v[13]) != T * K * A * M ||
        count_of(&v[14]) != T * R * K * A * M) {
        PyErr_SetString(PyExc_ValueError, "accumulate: inconsistent array shapes");
        goto done;
    }
    for (Py_ssize_t h = 0; h < H; h++) {
        if (h_area[h] < 0 || h_area[h] >= A || h_thr[h] < 0 || h_thr[h] >= T || h_det[h] < 0 || h_det[h] >= D) {
            PyErr_SetString(PyExc_ValueError, "accumulate: a hit is out of range");
            goto done;
        }
    }
    if (D >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "accumulate: more detections than 32-bit positions hold");
        goto done;
    }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads > K)
        threads = (int)K;
    if (A * T * 2 > 65536 || H >= INT32_MAX) { /* the hits' codes in 16 bits, their count in 32 */
        PyErr_SetString(PyExc_ValueError, "accumulate: too many area ranges x thresholds, or hits");
        goto done;
    }
    seg = calloc((size_t)(K + 1), sizeof(int64_t));
    next = malloc((size_t)(K + 1) * sizeof(int64_t));
    where = malloc((size_t)D * sizeof(int32_t));
    rank = malloc((size_t)D * sizeof(int32_t));
    origin = malloc((size_t)D * sizeof(int32_t));
    oor = malloc((size_t)A * (size_t)D);
    const int code_bytes = A * T * 2 <= 256 ? 1 : 2;
    hit_start = calloc((size_t)D + 1, sizeof(int32_t));
    hit_code = malloc((size_t)(H + 1) * (size_t)code_bytes);
    jobs = calloc((size_t)threads, sizeof(AccJob));
    if (!seg || !next || !where || !rank || !origin || !oor || !hit_start || !hit_code || !jobs) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t d = 0; d < D; d++) {
        const int64_t c = idx_at(&v[2], d);
        if (c < 0 || c >= K) {
            PyErr_SetString(PyExc_ValueError, "accumulate: a detection's class is out of range");
            goto done;
        }
        seg[c + 1]++;
        where[d] = -1;
    }
    for (Py_ssize_t k = 0; k < K; k++)
        seg[k + 1] += seg[k];
    memcpy(next, seg, (size_t)(K + 1) * sizeof(int64_t));
    enum { AHEAD = 16 }; /* the score order reads the detections at random: fetched this far ahead */
    for (Py_ssize_t i = 0; i < D; i++) { /* the stable counting sort by class */
        if (i + AHEAD < D) {
            const int64_t later = idx_at(&v[0], i + AHEAD);
            if (later >= 0 && later < D) {
                PREFETCH(&where[later]);
                PREFETCH((const char *)v[1].buf + later * v[1].itemsize);
                PREFETCH((const char *)v[2].buf + later * v[2].itemsize);
            }
        }
        const int64_t d = idx_at(&v[0], i);
        if (d < 0 || d >= D || where[d] >= 0) {
            PyErr_SetString(PyExc_ValueError, "accumulate: by_score is not an order of the detections");
            goto done;
        }
        const int64_t r = idx_at(&v[1], d);
        if (r < 0 || r >= D) { /* a rank within an image's group */
            PyErr_SetString(PyExc_ValueError, "accumulate: a detection's rank is out of range");
            goto done;
        }
        const int64_t p = next[idx_at(&v[2], d)]++;
        where[d] = (int32_t)p;
        rank[p] = (int32_t)r;
        origin[p] = (int32_t)d;
    }
    const uint8_t *src_oor = v[4].buf;
    for (Py_ssize_t p = 0; p < D; p++) { /* (A, D) by detection -> (D, A) by position */
        if (p + AHEAD < D)
            for (Py_ssize_t a = 0; a < A; a++)
                PREFETCH(&src_oor[a * D + origin[p + AHEAD]]);
        for (Py_ssize_t a = 0; a < A; a++)
            oor[p * A + a] = src_oor[a * D + origin[p]];
    }
    /* the hits by position (a counting sort): after the fill each start has moved to the next */
    for (Py_ssize_t h = 0; h < H; h++)
        hit_start[where[h_det[h]]]++;
    for (Py_ssize_t p = 0, sum = 0; p <= D; p++) {
        const int32_t c = hit_start[p];
        hit_start[p] = (int32_t)sum;
        sum += c;
    }
    for (Py_ssize_t h = 0; h < H; h++) {
        const uint32_t code = (uint32_t)(((h_area[h] * T + h_thr[h]) << 1) | (h_ign[h] != 0));
        const int32_t at = hit_start[where[h_det[h]]]++;
        if (code_bytes == 1)
            ((uint8_t *)hit_code)[at] = (uint8_t)code;
        else
            ((uint16_t *)hit_code)[at] = (uint16_t)code;
    }
    memmove(hit_start + 1, hit_start, (size_t)D * sizeof(int32_t));
    hit_start[0] = 0;
    free(where), where = NULL;
    AccJob proto = {.rank = rank, .origin = origin, .seg = seg, .npos = v[9].buf, .max_dets = v[11].buf,
                    .score = v[3].buf, .rec_thr = v[10].buf, .oor = oor, .hit_start = hit_start,
                    .hit_code = hit_code, .code_bytes = code_bytes, .n_thr = T, .n_rec = R, .n_cls = K, .n_area = A, .n_max = M,
                    .precision = v[12].buf, .recall = v[13].buf, .scores = v[14].buf};
    for (int w = 0; w < threads; w++) {
        jobs[w] = proto;
        jobs[w].first = w;
        jobs[w].step = threads;
    }
    int oom = 0;
    Py_BEGIN_ALLOW_THREADS
    run_threads(accumulate_classes, jobs, sizeof(AccJob), threads);
    Py_END_ALLOW_THREADS
    for (int w = 0; w < threads; w++)
        oom |= jobs[w].oom;
    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    free(jobs);
    free(hit_start);
    free(hit_code);
    free(seg);
    free(next);
    free(where);
    free(rank);
    free(origin);
    free(oor);
    release_all(v, N);
    return result;
}

/* ---- the order within runs ------------------------------------------------------------ */

typedef struct {
    const int64_t *group;
    const double *score;
    int64_t *order;
    Py_ssize_t lo, hi; /* this thread's rows: whole runs */
    int oom;
} RunJob;

/* order[0:n] (rows of one run) stably by score descending: insertion for a few rows, else a
 * bottom-up merge through `tmp` (n entries). A row moves ahead of another only on a strictly
 * higher score, so ties keep their input order and -0.0 equals 0.0. */
static void sort_run(int64_t *order, Py_ssize_t n, const double *score, int64_t *tmp)
{
    if (n <= 32 || tmp == NULL) {
        for (Py_ssize_t i = 1; i < n; i++) {
            const int64_t row = order[i];
            const double s = score[row];
            Py_ssize_t j = i;
            while (j > 0 && score[order[j - 1]] < s) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = row;
        }
        return;
    }
    int64_t *src = order, *dst = tmp;
    for (Py_ssize_t width = 1; width < n; width *= 2) {
        for (Py_ssize_t lo = 0; lo < n; lo += 2 * width) {
            const Py_ssize_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            Py_ssize_t a = lo, b = mid, out = lo;
            while (a < mid && b < hi)
                dst[out++] = score[src[b]] > score[src[a]] ? src[b++] : src[a++];
            while (a < mid)
                dst[out++] = src[a++];
            while (b < hi)
                dst[out++] = src[b++];
        }
        int64_t *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != order)
        memcpy(order, src, (size_t)n * sizeof(int64_t));
}

static void *run_order_range(void *arg)
{
    RunJob *j = arg;
    int64_t *tmp = NULL;
    Py_ssize_t room = 0;
    for (Py_ssize_t lo = j->lo; lo < j->hi;) {
        Py_ssize_t hi = lo + 1;
        while (hi < j->hi && j->group[hi] == j->group[lo])
            hi++;
        const Py_ssize_t n = hi - lo;
        for (Py_ssize_t i = lo; i < hi; i++)
            j->order[i] = i;
        if (n > 32 && n > room) {
            free(tmp);
            room = n;
            if ((tmp = malloc((size_t)n * sizeof(int64_t))) == NULL) {
                j->oom = 1;
                return NULL;
            }
        }
        sort_run(j->order + lo, n, j->score, tmp);
        lo = hi;
    }
    free(tmp);
    return NULL;
}

/* run_order(group, score, threads) -> bytearray of int64: np.lexsort((-score, group)) for a
 * non-decreasing int64 `group` (rows stored in runs, as detections by image and class): each
 * run's rows by score descending, ties in input order, -0.0 equal to 0.0 (NaN is the caller's
 * to refuse). One sort inside each run instead of a sort of every row; runs split over threads. */
static PyObject *run_order(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[2];
    int threads;
    if (!PyArg_ParseTuple(args, "OOi", &o[0], &o[1], &threads))
        return NULL;
    Py_buffer v[2];
    static const Kind kinds[2] = {I64, F64};
    static const char *names[2] = {"group", "score"};
    if (get_arrays(o, v, 2, kinds, 2, names) < 0)
        return NULL;
    PyObject *out = NULL;
    RunJob *jobs = NULL;
    const Py_ssize_t n = count_of(&v[0]);
    const int64_t *group = v[0].buf;
    if (count_of(&v[1]) != n) {
        PyErr_SetString(PyExc_ValueError, "run_order: group and score differ in length");
        goto done;
    }
    for (Py_ssize_t i = 1; i < n; i++)
        if (group[i] < group[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "run_order: group is not in runs (non-decreasing)");
            goto done;
        }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (n < 65536 * (Py_ssize_t)threads)
        threads = n / 65536 > 0 ? (int)(n / 65536) : 1;
    if ((out = PyByteArray_FromStringAndSize(NULL, n * 8)) == NULL || !(jobs = calloc((size_t)threads, sizeof(RunJob)))) {
        Py_CLEAR(out);
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t lo = 0;
    for (int w = 0; w < threads; w++) { /* each thread's rows end at a run's end */
        Py_ssize_t hi = w == threads - 1 ? n : (n * (w + 1)) / threads;
        if (hi < lo)
            hi = lo;
        while (hi > 0 && hi < n && group[hi] == group[hi - 1])
            hi++;
        jobs[w] = (RunJob){.group = group, .score = v[1].buf, .order = (int64_t *)PyByteArray_AS_STRING(out), .lo = lo, .hi = hi};
        lo = hi;
    }
    int oom = 0;
    Py_BEGIN_ALLOW_THREADS
    run_threads(run_order_range, jobs, sizeof(RunJob), threads);
    Py_END_ALLOW_THREADS
    for (int w = 0; w < threads; w++)
        oom |= jobs[w].oom;
    if (oom) {
        Py_CLEAR(out);
        PyErr_NoMemory();
    }
done:
    free(jobs);
    release_all(v, 2);
    return out;
}

/* ---- curve points ------------------------------------------------------------------------ */

/* The points of curve_points: counted (out NULL), or written to out[0..3]. */
static Py_ssize_t curve_walk(const double *score, const uint8_t *is_tp, const Py_buffer *order, const int64_t *seg_count,
                             Py_ssize_t n_seg, char *const *out)
{
    enum { AHEAD = 16 }; /* the entries are read at random: fetched this far ahead */
    const Py_ssize_t n = count_of(order);
    Py_ssize_t i = 0, m = 0;
    for (Py_ssize_t k = 0; k < n_seg; k++) {
        const Py_ssize_t start = i, end = i + seg_count[k];
        int64_t tp = 0;
        for (; i < end; i++) {
            if (i + AHEAD < n) {
                const int64_t later = idx_at(order, i + AHEAD);
                PREFETCH(&score[later]);
                if (out)
                    PREFETCH(&is_tp[later]);
            }
            const int64_t d = idx_at(order, i);
            if (out)
                tp += is_tp[d] != 0;
            if (i + 1 < end && !(score[idx_at(order, i + 1)] != score[d]))
                continue; /* the run of equal scores goes on */
            if (out) {
                ((double *)out[0])[m] = score[d];
                ((int64_t *)out[1])[m] = tp;
                ((int64_t *)out[2])[m] = (int64_t)(i - start + 1) - tp;
                ((int64_t *)out[3])[m] = k;
            }
            m++;
        }
    }
    return m;
}

/* curve_points(score, is_tp, order, seg_count) -> (thresholds, tp, fp, seg) bytearrays (float64,
 * int64 x 3): aggregate.curves_in_order's points in one pass over `order` (int64 or int32
 * indices into score and is_tp, segment by segment, each by score descending): at the last
 * entry of each run of equal scores in a segment, its score and the segment's true and false
 * positives up to there. Scores compare as numpy's not_equal does (NaN ends a run). A first
 * pass counts the points, so the outputs are made at their size. */
static PyObject *curve_points(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[4];
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    Py_buffer v[4];
    static const Kind kinds[4] = {F64, U8, IDX, I64};
    static const char *names[4] = {"score", "is_tp", "order", "seg_count"};
    if (get_arrays(o, v, 4, kinds, 4, names) < 0)
        return NULL;
    PyObject *result = NULL, *parts[4] = {NULL, NULL, NULL, NULL};
    const double *score = v[0].buf;
    const uint8_t *is_tp = v[1].buf;
    const int64_t *seg_count = v[3].buf;
    const Py_ssize_t n_rows = count_of(&v[0]), n = count_of(&v[2]), n_seg = count_of(&v[3]);
    if (count_of(&v[1]) != n_rows) {
        PyErr_SetString(PyExc_ValueError, "curve_points: score and is_tp differ in length");
        goto done;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t k = 0; k < n_seg; k++) {
        if (seg_count[k] < 0 || seg_count[k] > n) {
            PyErr_SetString(PyExc_ValueError, "curve_points: a segment count out of range");
            goto done;
        }
        total += seg_count[k];
    }
    if (total != n) {
        PyErr_SetString(PyExc_ValueError, "curve_points: the segment counts do not sum to the order's length");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (idx_at(&v[2], i) < 0 || idx_at(&v[2], i) >= n_rows) {
            PyErr_SetString(PyExc_ValueError, "curve_points: an order entry is out of range");
            goto done;
        }
    Py_ssize_t m;
    Py_BEGIN_ALLOW_THREADS
    m = curve_walk(score, is_tp, &v[2], seg_count, n_seg, NULL);
    Py_END_ALLOW_THREADS
    char *out[4];
    for (int c = 0; c < 4; c++) {
        if ((parts[c] = PyByteArray_FromStringAndSize(NULL, m * 8)) == NULL)
            goto done;
        out[c] = PyByteArray_AS_STRING(parts[c]);
    }
    Py_BEGIN_ALLOW_THREADS
    curve_walk(score, is_tp, &v[2], seg_count, n_seg, out);
    Py_END_ALLOW_THREADS
    result = PyTuple_Pack(4, parts[0], parts[1], parts[2], parts[3]);
done:
    for (int c = 0; c < 4; c++)
        Py_XDECREF(parts[c]);
    release_all(v, 4);
    return result;
}

/* ---- an order cut ----------------------------------------------------------------------- */

/* kept_order(order, kept) -> bytearray of int64 or int32 (order's width): the entries of `order`
 * (an order of 0..n-1) whose `kept` flag is set, each renumbered as its index among the kept:
 * order[kept[order]] mapped through cumsum(kept) - 1, in one pass, the random reads prefetched. */
static PyObject *kept_order(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[2];
    if (!PyArg_ParseTuple(args, "OO", &o[0], &o[1]))
        return NULL;
    Py_buffer v[2];
    static const Kind kinds[2] = {IDX, U8};
    static const char *names[2] = {"order", "kept"};
    if (get_arrays(o, v, 2, kinds, 2, names) < 0)
        return NULL;
    PyObject *out = NULL;
    int32_t *index = NULL; /* 32 bits: n < 2^31, checked */
    const Py_ssize_t n = count_of(&v[0]);
    const uint8_t *kept = v[1].buf;
    if (count_of(&v[1]) != n) {
        PyErr_SetString(PyExc_ValueError, "kept_order: order and kept differ in length");
        goto done;
    }
    if (n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "kept_order: more entries than 32-bit indices hold");
        goto done;
    }
    if ((index = malloc((size_t)(n ? n : 1) * sizeof(int32_t))) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t m = 0;
    for (Py_ssize_t d = 0; d < n; d++)
        index[d] = kept[d] ? (int32_t)m++ : -1;
    for (Py_ssize_t i = 0; i < n; i++)
        if (idx_at(&v[0], i) < 0 || idx_at(&v[0], i) >= n) {
            PyErr_SetString(PyExc_ValueError, "kept_order: an order entry is out of range");
            goto done;
        }
    const Py_ssize_t width = v[0].itemsize;
    if ((out = PyByteArray_FromStringAndSize(NULL, m * width)) == NULL)
        goto done;
    char *dst = PyByteArray_AS_STRING(out);
    enum { AHEAD = 16 };
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + AHEAD < n)
            PREFETCH(&index[idx_at(&v[0], i + AHEAD)]);
        const int32_t at = index[idx_at(&v[0], i)];
        if (at < 0)
            continue;
        if (width == 4)
            ((int32_t *)dst)[j++] = at;
        else
            ((int64_t *)dst)[j++] = at;
    }
done:
    free(index);
    release_all(v, 2);
    return out;
}

/* ---- taking rows ------------------------------------------------------------------------ */

enum { TAKE_MAX = 8 };

typedef struct {
    const Py_buffer *order; /* int64 or int32 */
    Py_ssize_t lo, hi, n_cols;
    const char *src[TAKE_MAX];
    char *dst[TAKE_MAX];
    Py_ssize_t width[TAKE_MAX]; /* bytes a row */
} TakeJob;

static void *take_range(void *arg)
{
    TakeJob *j = arg;
    for (Py_ssize_t c = 0; c < j->n_cols; c++) {
        const Py_ssize_t w = j->width[c];
        const char *src = j->src[c];
        char *dst = j->dst[c];
        if (j->order->itemsize == 4) {
            const int32_t *order = j->order->buf;
            for (Py_ssize_t i = j->lo; i < j->hi; i++)
                memcpy(dst + i * w, src + order[i] * w, (size_t)w);
        }
        else if (w == 8) {
            const int64_t *order = j->order->buf;
            for (Py_ssize_t i = j->lo; i < j->hi; i++)
                memcpy(dst + i * 8, src + order[i] * 8, 8);
        }
        else {
            const int64_t *order = j->order->buf;
            for (Py_ssize_t i = j->lo; i < j->hi; i++)
                memcpy(dst + i * w, src + order[i] * w, (size_t)w);
        }
    }
    return NULL;
}

/* take_rows(order, columns, threads) -> list of bytearrays: each column (a C-contiguous array of
 * n rows; a row of any width) with its rows in `order` (int64 or int32, each in [0, n)): numpy's
 * column[order] for several columns in one call, over threads. */
static PyObject *take_rows(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *order_obj, *columns;
    int threads;
    if (!PyArg_ParseTuple(args, "OO!i", &order_obj, &PyTuple_Type, &columns, &threads))
        return NULL;
    const Py_ssize_t n_cols = PyTuple_GET_SIZE(columns);
    if (n_cols > TAKE_MAX) {
        PyErr_SetString(PyExc_ValueError, "take_rows: at most 8 columns");
        return NULL;
    }
    Py_buffer ov, cv[TAKE_MAX];
    memset(cv, 0, sizeof(cv));
    if (get_array(order_obj, &ov, IDX, 0, "order") < 0)
        return NULL;
    PyObject *out = NULL;
    TakeJob *jobs = NULL;
    int held = 0;
    const Py_ssize_t n = count_of(&ov);
    Py_ssize_t rows = -1;
    for (; held < n_cols; held++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(columns, held), &cv[held], PyBUF_C_CONTIGUOUS | PyBUF_ND) < 0)
            goto done;
        const Py_ssize_t r = cv[held].ndim ? cv[held].shape[0] : 1;
        if (rows < 0)
            rows = r;
        if (r != rows || (r && cv[held].len % r)) {
            held++;
            PyErr_SetString(PyExc_ValueError, "take_rows: the columns differ in rows");
            goto done;
        }
    }
    if (rows < 0)
        rows = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (idx_at(&ov, i) < 0 || idx_at(&ov, i) >= rows) {
            PyErr_SetString(PyExc_ValueError, "take_rows: an order entry is out of range");
            goto done;
        }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (n < 65536 * (Py_ssize_t)threads)
        threads = n / 65536 > 0 ? (int)(n / 65536) : 1;
    if ((out = PyList_New(n_cols)) == NULL || (jobs = calloc((size_t)threads, sizeof(TakeJob))) == NULL) {
        if (out)
            PyErr_NoMemory();
        Py_CLEAR(out);
        goto done;
    }
    TakeJob proto = {.order = &ov, .n_cols = n_cols};
    for (Py_ssize_t c = 0; c < n_cols; c++) {
        const Py_ssize_t w = rows ? cv[c].len / rows : 0;
        PyObject *b = PyByteArray_FromStringAndSize(NULL, n * w);
        if (b == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, c, b);
        proto.src[c] = cv[c].buf;
        proto.dst[c] = PyByteArray_AS_STRING(b);
        proto.width[c] = w;
    }
    for (int w = 0; w < threads; w++) {
        jobs[w] = proto;
        jobs[w].lo = (n * w) / threads;
        jobs[w].hi = (n * (w + 1)) / threads;
    }
    Py_BEGIN_ALLOW_THREADS
    run_threads(take_range, jobs, sizeof(TakeJob), threads);
    Py_END_ALLOW_THREADS
done:
    free(jobs);
    release_all(cv, held);
    PyBuffer_Release(&ov);
    return out;
}

/* ---- regrouping ------------------------------------------------------------------------- */

/* regroup(first, key, n_keys) -> bytearray of int64: `first` (an order of 0..n-1) stably
 * regrouped by key[first[i]] ascending, a counting sort: np.argsort(key[first], kind="stable")
 * applied to first, in two linear passes (one gathers). key in [0, n_keys). */
static PyObject *regroup(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[2];
    Py_ssize_t n_keys;
    if (!PyArg_ParseTuple(args, "OOn", &o[0], &o[1], &n_keys))
        return NULL;
    Py_buffer v[2];
    static const Kind kinds[2] = {I64, I64};
    static const char *names[2] = {"first", "key"};
    if (get_arrays(o, v, 2, kinds, 2, names) < 0)
        return NULL;
    PyObject *out = NULL;
    int64_t *next = NULL;
    uint8_t *seen = NULL;
    const Py_ssize_t n = count_of(&v[0]);
    const int64_t *first = v[0].buf, *key = v[1].buf;
    if (count_of(&v[1]) != n || n_keys < 0) {
        PyErr_SetString(PyExc_ValueError, "regroup: first and key differ in length");
        goto done;
    }
    next = calloc((size_t)n_keys + 1, sizeof(int64_t));
    seen = calloc((size_t)n + 1, 1);
    if (next == NULL || seen == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (key[i] < 0 || key[i] >= n_keys || first[i] < 0 || first[i] >= n || seen[first[i]]) {
            PyErr_SetString(PyExc_ValueError, "regroup: a key out of range, or first is not an order");
            goto done;
        }
        seen[first[i]] = 1; /* an order: no bucket gets more than its count */
        next[key[i] + 1]++;
    }
    for (Py_ssize_t k = 0; k < n_keys; k++)
        next[k + 1] += next[k];
    if ((out = PyByteArray_FromStringAndSize(NULL, n * 8)) == NULL)
        goto done;
    int64_t *o_ = (int64_t *)PyByteArray_AS_STRING(out);
    enum { AHEAD = 16 }; /* key[first[i]] is read at random: fetched this far ahead */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + AHEAD < n)
            PREFETCH(&key[first[i + AHEAD]]);
        o_[next[key[first[i]]]++] = first[i];
    }
    Py_END_ALLOW_THREADS
done:
    free(next);
    free(seen);
    release_all(v, 2);
    return out;
}

/* ---- box candidates ---------------------------------------------------------------------- */

/* The planned (detection, ground truth) pairs of boxes whose IoU reaches a floor: pycocotools'
 * bbIou in geometry/boxes.py's operation order (float64, no contraction), so the IoUs are the
 * numpy twin's to the bit. Plan detection i pairs with ground truth start[i] .. start[i] +
 * count[i] - 1; pairs come out by detection, then ground truth, as the twin lists them. */
typedef struct {
    const double *dbox, *gbox;
    const uint8_t *crowd;
    const Py_buffer *dt_rows, *gt_rows, *start, *count; /* IDX arrays */
    double floor;
    int inclusive;
    Py_ssize_t lo, hi; /* this thread's plan detections */
    Py_ssize_t kept, cap; /* its pairs reaching the floor, in its own buffer */
    struct BoxPair {
        int64_t dt, gt;
        double iou;
    } *pairs;
    int oom;
} BoxJob;

static void *box_pairs(void *arg)
{
    BoxJob *j = arg;
    for (Py_ssize_t i = j->lo; i < j->hi; i++) {
        const double *d = j->dbox + 4 * idx_at(j->dt_rows, i);
        for (int64_t k = idx_at(j->start, i), end = k + idx_at(j->count, i); k < end; k++) {
            const int64_t g = idx_at(j->gt_rows, k);
            const double iou = box_iou(d, j->gbox + 4 * g, j->crowd[g], j->inclusive);
            if (!(iou >= j->floor))
                continue;
            if (j->kept == j->cap) {
                const Py_ssize_t cap = j->cap ? 2 * j->cap : 4096;
                struct BoxPair *more = realloc(j->pairs, (size_t)cap * sizeof(struct BoxPair));
                if (more == NULL) {
                    j->oom = 1;
                    return NULL;
                }
                j->pairs = more;
                j->cap = cap;
            }
            j->pairs[j->kept++] = (struct BoxPair){i, k, iou};
        }
    }
    return NULL;
}

/* box_candidates(dt_box, gt_box, crowd, dt_rows, gt_rows, start, count, floor, inclusive,
 * threads) -> (pair_dt, pair_gt, iou) as bytearrays of int64, int64, float64. */
static PyObject *box_candidates(PyObject *self, PyObject *args)
{
    (void)self;
    enum { N = 7 };
    PyObject *o[N];
    double floor;
    int inclusive, threads;
    if (!PyArg_ParseTuple(args, "OOOOOOOdpi", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &floor,
                          &inclusive, &threads))
        return NULL;
    Py_buffer v[N];
    static const Kind kinds[N] = {F64, F64, U8, IDX, IDX, IDX, IDX};
    static const char *names[N] = {"dt_box", "gt_box", "crowd", "dt_rows", "gt_rows", "start", "count"};
    if (get_arrays(o, v, N, kinds, N, names) < 0)
        return NULL;
    PyObject *result = NULL, *parts[3] = {NULL, NULL, NULL};
    BoxJob *jobs = NULL;
    const Py_ssize_t n_dbox = count_of(&v[0]) / 4, n_gbox = count_of(&v[1]) / 4, n = count_of(&v[3]);
    const Py_ssize_t n_sel = count_of(&v[4]);
    const Py_buffer *dt_rows = &v[3], *gt_rows = &v[4], *start = &v[5], *count = &v[6];
    if (count_of(&v[0]) % 4 || count_of(&v[1]) % 4 || count_of(&v[2]) != n_gbox || count_of(&v[5]) != n ||
        count_of(&v[6]) != n) {
        PyErr_SetString(PyExc_ValueError, "box_candidates: inconsistent array lengths");
        goto done;
    }
    Py_ssize_t pairs = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t c = idx_at(count, i), s0 = idx_at(start, i), row = idx_at(dt_rows, i);
        if (c == 0)
            continue;
        if (row < 0 || row >= n_dbox || c < 0 || s0 < 0 || s0 > n_sel || c > n_sel - s0) {
            PyErr_SetString(PyExc_ValueError, "box_candidates: a detection row or pair range out of bounds");
            goto done;
        }
        pairs += (Py_ssize_t)c;
    }
    for (Py_ssize_t k = 0; k < n_sel; k++)
        if (idx_at(gt_rows, k) < 0 || idx_at(gt_rows, k) >= n_gbox) {
            PyErr_SetString(PyExc_ValueError, "box_candidates: a ground-truth row out of bounds");
            goto done;
        }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (pairs < 16384 * (Py_ssize_t)threads)
        threads = pairs / 16384 > 0 ? (int)(pairs / 16384) : 1;
    if ((jobs = calloc((size_t)threads, sizeof(BoxJob))) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* ranges of about equal pairs */
    Py_ssize_t i = 0, seen = 0;
    for (int t = 0; t < threads; t++) {
        const Py_ssize_t lo = i, target = t == threads - 1 ? pairs : pairs / threads * (t + 1);
        while (i < n && (seen < target || t == threads - 1))
            seen += (Py_ssize_t)idx_at(count, i++);
        jobs[t] = (BoxJob){.dbox = v[0].buf, .gbox = v[1].buf, .crowd = v[2].buf, .dt_rows = dt_rows,
                           .gt_rows = gt_rows, .start = start, .count = count, .floor = floor,
                           .inclusive = inclusive, .lo = lo, .hi = i};
    }
    Py_BEGIN_ALLOW_THREADS run_threads(box_pairs, jobs, sizeof(BoxJob), threads);
    Py_END_ALLOW_THREADS
    Py_ssize_t kept = 0;
    for (int t = 0; t < threads; t++) {
        if (jobs[t].oom) {
            PyErr_NoMemory();
            goto done;
        }
        kept += jobs[t].kept;
    }
    for (int k = 0; k < 3; k++)
        if ((parts[k] = PyByteArray_FromStringAndSize(NULL, kept * 8)) == NULL)
            goto done;
    int64_t *o_dt = (int64_t *)PyByteArray_AS_STRING(parts[0]), *o_gt = (int64_t *)PyByteArray_AS_STRING(parts[1]);
    double *o_iou = (double *)PyByteArray_AS_STRING(parts[2]);
    for (int t = 0; t < threads; t++) /* in thread order: plan order */
        for (Py_ssize_t x = 0; x < jobs[t].kept; x++, o_dt++, o_gt++, o_iou++) {
            *o_dt = jobs[t].pairs[x].dt;
            *o_gt = jobs[t].pairs[x].gt;
            *o_iou = jobs[t].pairs[x].iou;
        }
    result = Py_BuildValue("(OOO)", parts[0], parts[1], parts[2]);
done:
    for (int k = 0; k < 3; k++)
        Py_XDECREF(parts[k]);
    if (jobs != NULL)
        for (int t = 0; t < threads; t++)
            free(jobs[t].pairs);
    free(jobs);
    release_all(v, N);
    return result;
}

/* ---- mask IoU ---------------------------------------------------------------------------- */

#define MAX_PIXELS (INT64_C(1) << 29)

/* A compressed RLE as mask_iou reads it: its string, held by a reference the call takes
 * (the string outlives any change to its dict while the GIL is out), and its size. */
typedef struct {
    const unsigned char *counts;
    Py_ssize_t len;
    int64_t h, w;
} Rle;

/* A mask of the block at hand, decoded. */
typedef struct {
    int64_t h, w;
    int64_t area;
    int64_t first, last;     /* linear range [first, last) of the foreground, column-major */
    int64_t x0, x1;          /* columns of the first and last foreground pixel */
    Py_ssize_t start, count; /* foreground intervals: `count` pairs [begin, end) from pair `start` */
} Mask;

static PyObject *KEY_SIZE, *KEY_COUNTS; /* "size", "counts", interned at import */

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* Whether mask_iou decodes an h x w mask (else pycocotools has it). */
static int size_taken(int64_t h, int64_t w)
{
    return h >= 0 && w >= 0 && h < MAX_PIXELS && w < MAX_PIXELS && h * w < MAX_PIXELS;
}

/* One side's masks given as columns (detrecall.types.RleMasks): the characters (uint8), each
 * string's start and end in them and each mask's (h, w) (int64); the views hold the arrays. */
typedef struct {
    Py_buffer v[4];
    int held; /* views taken */
    Py_ssize_t n;
} MaskColumns;

/* The columns of `masks` (attributes chars, starts, ends, sizes): 1, or 0 with an error set. */
static int columns_open(PyObject *masks, MaskColumns *m)
{
    static const char *attr[4] = {"chars", "starts", "ends", "sizes"};
    static const Kind kinds[4] = {U8, I64, I64, I64};
    for (int i = 0; i < 4; i++) {
        PyObject *a = PyObject_GetAttrString(masks, attr[i]);
        if (a == NULL) {
            PyErr_SetString(PyExc_TypeError, "mask_iou: the masks must be tuples or RleMasks");
            return 0;
        }
        const int got = get_array(a, &m->v[i], kinds[i], 0, attr[i]);
        Py_DECREF(a);
        if (got < 0)
            return 0;
        m->held++;
    }
    m->n = count_of(&m->v[1]);
    if (count_of(&m->v[2]) != m->n || count_of(&m->v[3]) != 2 * m->n) {
        PyErr_SetString(PyExc_ValueError, "mask_iou: starts, ends and sizes need one entry (sizes two) a mask");
        return 0;
    }
    return 1;
}

/* Mask `row` of the columns as an Rle (the characters borrowed from the view): 1; 0 for a mask
 * of h*w >= 2**29 (the caller falls back to pycocotools); -1 with ValueError for a string
 * outside the characters. */
static int rle_of_columns(const MaskColumns *m, int64_t row, Rle *r)
{
    const int64_t s = ((const int64_t *)m->v[1].buf)[row], e = ((const int64_t *)m->v[2].buf)[row];
    if (s < 0 || s > e || e > (int64_t)m->v[0].len) {
        PyErr_SetString(PyExc_ValueError, "mask_iou: a mask's string lies outside the characters");
        return -1;
    }
    r->counts = (const unsigned char *)m->v[0].buf + s;
    r->len = (Py_ssize_t)(e - s);
    r->h = ((const int64_t *)m->v[3].buf)[2 * row];
    r->w = ((const int64_t *)m->v[3].buf)[2 * row + 1];
    return size_taken(r->h, r->w);
}

/* The string and size of one {"size": [h, w], "counts": str|bytes} mask from the dict's two
 * values (NULL: missing), with the GIL: 1, and *owner a new reference to the string; 0 for a
 * mask not of that form or of h*w >= 2**29 (the caller falls back to pycocotools). */
static int rle_source(PyObject *size, PyObject *counts, Rle *r, PyObject **owner)
{
    if (size == NULL || counts == NULL)
        return 0;
    PyObject *hw = PySequence_Fast(size, "size");
    if (hw == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (PySequence_Fast_GET_SIZE(hw) != 2) {
        Py_DECREF(hw);
        return 0;
    }
    r->h = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(hw, 0));
    r->w = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(hw, 1));
    Py_DECREF(hw);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (!size_taken(r->h, r->w))
        return 0;
    const char *s;
    if (PyBytes_Check(counts)) {
        s = PyBytes_AS_STRING(counts);
        r->len = PyBytes_GET_SIZE(counts);
    }
    else if (PyUnicode_Check(counts)) {
        if ((s = PyUnicode_AsUTF8AndSize(counts, &r->len)) == NULL) {
            PyErr_Clear();
            return 0;
        }
    }
    else
        return 0;
    r->counts = (const unsigned char *)s;
    *owner = Py_NewRef(counts);
    return 1;
}

/* Decodes r into m and its foreground intervals at `out` (room for r->len / 2 + 1 pairs: a
 * run takes a character at least, and every other run is foreground): 1, or 0 when the runs
 * are not all >= 0 and none 0 but the first, summing to h*w. pycocotools' string code: 5 bits
 * a character from '0', 0x20 = more, 0x10 on the last = negative; from the third count on,
 * each is stored as the difference to the one two back. */
static int decode_rle(const Rle *r, Mask *m, uint32_t *out)
{
    const unsigned char *u = r->counts, *end = u + r->len;
    uint32_t *o = out;
    int64_t prev2 = 0, prev1 = 0, pos = 0, total = r->h * r->w, area = 0;
    Py_ssize_t k = 0;
    m->h = r->h;
    m->w = r->w;
    m->first = m->last = m->x0 = m->x1 = 0;
    while (u < end) {
        unsigned c = (unsigned)*u++ - '0'; /* below '0' wraps to a large value */
        if (c > 63)
            return 0;
        int64_t x = c & 0x1f;
        int shift = 5;
        while (c & 0x20) {
            if (u >= end || shift == 30) /* cut short, or longer than 6 characters */
                return 0;
            c = (unsigned)*u++ - '0';
            if (c > 63)
                return 0;
            x |= (int64_t)(c & 0x1f) << shift;
            shift += 5;
        }
        if (c & 0x10)
            x -= INT64_C(1) << shift;
        if (k > 2)
            x += prev2;
        /* a run of 0 after the first: pycocotools never writes one, and its rleIou can stop
         * early at one (when both masks' current runs are then empty), short of the true IoU */
        if (x < 0 || x > total - pos || (x == 0 && k > 0))
            return 0;
        if ((k & 1) && x > 0) {
            if (area == 0)
                m->first = pos;
            m->last = pos + x;
            area += x;
            *o++ = (uint32_t)pos;
            *o++ = (uint32_t)(pos + x);
        }
        pos += x;
        prev2 = prev1;
        prev1 = x;
        k++;
    }
    if (pos != total)
        return 0;
    m->count = (o - out) / 2;
    m->area = area;
    if (area) {
        m->x0 = m->first / m->h;
        m->x1 = (m->last - 1) / m->h;
    }
    return 1;
}

static int64_t intersection(const uint32_t *a, Py_ssize_t na, const uint32_t *b, Py_ssize_t nb)
{
    int64_t inter = 0;
    Py_ssize_t i = 0, j = 0;
    while (i < na && j < nb) {
        uint32_t a0 = a[2 * i], a1 = a[2 * i + 1], b0 = b[2 * j], b1 = b[2 * j + 1];
        uint32_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
        if (hi > lo)
            inter += hi - lo;
        if (a1 < b1)
            i++;
        else
            j++;
    }
    return inter;
}

/* buf with room for `need` items of `size` bytes (at least one; doubled as it grows, *cap
 * updated), or NULL out of memory (buf is then still the caller's to free). */
static void *room(void *buf, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    if (need < 1)
        need = 1; /* never NULL for an empty block */
    if (need <= *cap)
        return buf;
    Py_ssize_t c = *cap > 0 ? *cap : 64;
    while (c < need)
        c = c > PY_SSIZE_T_MAX / 2 ? need : 2 * c;
    if ((size_t)c > SIZE_MAX / size)
        return NULL;
    void *p = realloc(buf, (size_t)c * size);
    if (p != NULL)
        *cap = c;
    return p;
}

/* The blocks cut into chunks of about equal cost, handed out in turn to whichever thread asks
 * next: a thread the machine holds back (other work on its core) then does fewer of them. */
typedef struct Chunks {
    pthread_mutex_t lock;
    Py_ssize_t next, n_chunks;
    const Py_ssize_t *ends; /* chunk k: blocks [k ? ends[k - 1] : 0, ends[k]) */
    int stop;               /* a thread found a mask not well-formed, or ran out of memory */
} Chunks;

typedef struct {
    /* shared, read-only */
    const Rle *rles;
    const int64_t *blk, *drow, *grow;
    const Py_ssize_t *slot_d, *slot_g; /* each row's Rle + 1 (0: a row no block names) */
    const Py_ssize_t *at;              /* where each block's IoUs start in `out` */
    const unsigned char *crowd;
    double *out;
    struct Chunks *chunks;
    /* this thread's buffers: the masks of a block and their intervals */
    Mask *dm, *gm;
    uint32_t *iv;
    Py_ssize_t cap_d, cap_g, cap_iv; /* cap_iv in pairs */
    int bad; /* a mask not well-formed, or a pair of different sizes: the call answers None */
    int oom;
} MaskJob;

/* Block b: its masks decoded (its detections, then its
 * ground truths) into the thread's buffers, then per pair pycocotools' rleIou: intersection
 * over union, or over the detection's own area against a crowd; 0 without overlap. 1, or 0
 * when the call must stop (j->bad or j->oom set). */
static int block_ious(MaskJob *j, Py_ssize_t b)
{
    const int64_t *q = j->blk + 4 * b;
    const Py_ssize_t d0 = q[0], nd = q[1], g0 = q[2], ng = q[3];
    Mask *dm = room(j->dm, &j->cap_d, nd, sizeof(Mask));
    if (dm != NULL)
        j->dm = dm;
    Mask *gm = room(j->gm, &j->cap_g, ng, sizeof(Mask));
    if (gm != NULL)
        j->gm = gm;
    if (dm == NULL || gm == NULL) {
        j->oom = 1;
        return 0;
    }
    Py_ssize_t used = 0; /* pairs of intervals */
    for (int side = 0; side < 2; side++) {
        const int64_t *rows = side ? j->grow + g0 : j->drow + d0;
        const Py_ssize_t *slot = side ? j->slot_g : j->slot_d;
        Mask *masks = side ? gm : dm;
        for (Py_ssize_t i = 0; i < (side ? ng : nd); i++) {
            const Rle *r = &j->rles[slot[rows[i]] - 1];
            uint32_t *iv = room(j->iv, &j->cap_iv, used + r->len / 2 + 1, 2 * sizeof(uint32_t));
            if (iv == NULL) {
                j->oom = 1;
                return 0;
            }
            j->iv = iv;
            if (!decode_rle(r, &masks[i], iv + 2 * used)) {
                j->bad = 1;
                return 0;
            }
            masks[i].start = used;
            used += masks[i].count;
        }
    }
    double *o = j->out + j->at[b];
    for (Py_ssize_t i = 0; i < nd; i++) {
        const Mask *a = &dm[i];
        for (Py_ssize_t k = 0; k < ng; k++) {
            const Mask *g = &gm[k];
            if (a->h != g->h || a->w != g->w) { /* pycocotools gives -1 or 0: its business */
                j->bad = 1;
                return 0;
            }
            double v = 0.0;
            if (a->area && g->area && a->first < g->last && g->first < a->last && a->x0 <= g->x1 &&
                g->x0 <= a->x1) {
                const int64_t inter =
                    intersection(j->iv + 2 * a->start, a->count, j->iv + 2 * g->start, g->count);
                if (inter > 0) {
                    const int64_t uni = j->crowd[j->grow[g0 + k]] ? a->area : a->area + g->area - inter;
                    v = (double)inter / (double)uni;
                }
            }
            *o++ = v;
        }
    }
    return 1;
}

/* One thread: chunk after chunk of blocks, until none is left (or one thread must stop). */
static void *iou_chunks(void *arg)
{
    MaskJob *j = arg;
    Chunks *c = j->chunks;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        const Py_ssize_t k = c->stop ? c->n_chunks : c->next++;
        pthread_mutex_unlock(&c->lock);
        if (k >= c->n_chunks)
            return NULL;
        for (Py_ssize_t b = k ? c->ends[k - 1] : 0; b < c->ends[k]; b++)
            if (!block_ious(j, b)) {
                pthread_mutex_lock(&c->lock);
                c->stop = 1;
                pthread_mutex_unlock(&c->lock);
                return NULL;
            }
    }
}

/* A block's cost in the units of a character decoded: its strings' characters, and what a
 * pair costs (the intersection walk included; measured on COCO-scale segm results). */
#define PAIR_COST 32.0
#define MASK_WORK_PER_THREAD 32768.0 /* below it, a thread costs more than it saves */
#define CHUNKS_PER_THREAD 16          /* enough for a thread held back to leave its share to others */

/* The blocks over the threads, in chunks of about equal cost. Without the GIL; the threads
 * run, or -1 out of memory. */
static int mask_iou_run(const MaskJob *proto, Py_ssize_t n_blocks, int threads, MaskJob *jobs)
{
    double *cost = malloc((size_t)(n_blocks ? n_blocks : 1) * sizeof(double));
    Py_ssize_t *ends = malloc((size_t)threads * CHUNKS_PER_THREAD * sizeof(Py_ssize_t));
    if (cost == NULL || ends == NULL) {
        free(cost);
        free(ends);
        return -1;
    }
    double total = 0.0;
    for (Py_ssize_t b = 0; b < n_blocks; b++) {
        const int64_t *q = proto->blk + 4 * b;
        double c = PAIR_COST * (double)q[1] * (double)q[3];
        for (int64_t i = 0; i < q[1]; i++)
            c += (double)proto->rles[proto->slot_d[proto->drow[q[0] + i]] - 1].len;
        for (int64_t i = 0; i < q[3]; i++)
            c += (double)proto->rles[proto->slot_g[proto->grow[q[2] + i]] - 1].len;
        cost[b] = c;
        total += c;
    }
    if (total < MASK_WORK_PER_THREAD * threads)
        threads = total >= 2 * MASK_WORK_PER_THREAD ? (int)(total / MASK_WORK_PER_THREAD) : 1;
    Chunks chunks = {.n_chunks = threads > 1 ? (Py_ssize_t)threads * CHUNKS_PER_THREAD : 1, .ends = ends};
    double sum = 0.0;
    Py_ssize_t b = 0;
    for (Py_ssize_t k = 0; k < chunks.n_chunks; k++) {
        const double want = total * (double)(k + 1) / (double)chunks.n_chunks;
        while (b < n_blocks && (k == chunks.n_chunks - 1 || sum + cost[b] / 2 < want))
            sum += cost[b++];
        ends[k] = b;
    }
    free(cost);
    for (int t = 0; t < threads; t++) {
        jobs[t] = *proto;
        jobs[t].chunks = &chunks;
    }
    pthread_mutex_init(&chunks.lock, NULL);
    run_threads(iou_chunks, jobs, sizeof(MaskJob), threads);
    pthread_mutex_destroy(&chunks.lock);
    free(ends);
    return threads;
}

/* mask_iou(dt_masks, gt_masks, dt_rows, gt_rows, blocks, crowd, threads) -> bytearray | None
 *   of float64: the IoUs of the blocks (pycocotools' values) on threads, or None (below).
 * dt_masks, gt_masks: tuples of {"size": [h, w], "counts": str|bytes} (compressed RLEs), or
 * RleMasks (their columns read directly, no Python object per mask);
 * dt_rows, gt_rows: int64 indices into them; blocks: (k, 4) int64 rows (d0, nd, g0, ng), the
 * detections dt_rows[d0:d0+nd] against the ground truths gt_rows[g0:g0+ng], each block's IoUs
 * detection-major, blocks in order; crowd: one byte per ground-truth mask (by its index).
 * The threads take the blocks in chunks of about equal cost (characters to decode, and 32 a
 * pair), one after another as each is done; a block's masks are decoded by its thread, once
 * (the plan names each row in one block: each RLE is decoded once in all). None when a mask a
 * block names is not a well-formed RLE (runs >= 0 summing to h*w, none 0 but the first,
 * h*w < 2**29) or a pair differs in size: pycocotools' answer is then the caller's. A block or
 * row out of range raises IndexError (all are checked before any mask is read), a wrong type
 * TypeError. The values do not depend on the thread count. */
static PyObject *mask_iou(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *dt_masks, *gt_masks, *o[4];
    int threads;
    if (!PyArg_ParseTuple(args, "OOOOOOi", &dt_masks, &gt_masks, &o[0], &o[1], &o[2], &o[3], &threads))
        return NULL;
    Py_buffer v[4];
    memset(v, 0, sizeof(v));
    MaskColumns cols[2];
    memset(cols, 0, sizeof(cols));
    static const char *names[3] = {"dt_rows", "gt_rows", "blocks"};
    for (int i = 0; i < 3; i++)
        if (get_array(o[i], &v[i], I64, 0, names[i]) < 0) {
            release_all(v, i);
            return NULL;
        }
    if (PyObject_GetBuffer(o[3], &v[3], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        release_all(v, 3);
        return NULL;
    }
    PyObject *out = NULL, **owners = NULL;
    Py_ssize_t *slot_d = NULL, *slot_g = NULL, *at = NULL;
    Rle *rles = NULL;
    MaskJob *jobs = NULL;
    Py_ssize_t n_rles = 0, held = 0;
    const int64_t *drow = v[0].buf, *grow = v[1].buf, *blk = v[2].buf;
    const Py_ssize_t n_dt_rows = count_of(&v[0]), n_gt_rows = count_of(&v[1]);
    PyObject *sides[2] = {dt_masks, gt_masks};
    int columnar[2] = {0, 0};
    Py_ssize_t count[2] = {0, 0};
    for (int side = 0; side < 2; side++) {
        columnar[side] = !PyTuple_Check(sides[side]);
        if (columnar[side] && !columns_open(sides[side], &cols[side]))
            goto done;
        count[side] = columnar[side] ? cols[side].n : PyTuple_GET_SIZE(sides[side]);
    }
    const Py_ssize_t n_dt = count[0], n_gt = count[1];
    const Py_ssize_t n_blocks = v[2].len / 32;
    if (v[2].len % 32 != 0) {
        PyErr_SetString(PyExc_ValueError, "mask_iou: blocks must be rows of 4 int64 (d0, nd, g0, ng)");
        goto done;
    }
    if (v[3].itemsize != 1) {
        PyErr_SetString(PyExc_TypeError, "mask_iou: crowd must be a contiguous array of 1-byte flags");
        goto done;
    }
    if (v[3].len < n_gt) {
        PyErr_SetString(PyExc_ValueError, "mask_iou: crowd needs one byte per ground-truth mask");
        goto done;
    }
    if ((at = malloc((size_t)(n_blocks + 1) * sizeof(Py_ssize_t))) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* the most IoUs the output can hold: (PY_SSIZE_T_MAX / 8) doubles */
    const int64_t max_total = (int64_t)(PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(double));
    Py_ssize_t total = 0;
    for (Py_ssize_t b = 0; b < n_blocks; b++) {
        const int64_t *q = blk + 4 * b;
        /* bounds compared without forming d0 + nd or g0 + ng, which can overflow: with every
         * value >= 0, n - nd cannot */
        if (q[0] < 0 || q[1] < 0 || q[2] < 0 || q[3] < 0 || q[0] > n_dt_rows - q[1] ||
            q[2] > n_gt_rows - q[3]) {
            PyErr_SetString(PyExc_IndexError, "mask_iou: a block lies outside the rows");
            goto done;
        }
        /* total + nd * ng <= max_total, checked without forming the product */
        if (q[3] > 0 && q[1] > (max_total - total) / q[3]) {
            PyErr_SetString(PyExc_ValueError, "mask_iou: the blocks hold more pairs than one buffer can");
            goto done;
        }
        at[b] = total;
        total += (Py_ssize_t)(q[1] * q[3]);
    }
    at[n_blocks] = total;
    Py_ssize_t named = 0; /* the rows the blocks name, up to the masks there are */
    for (Py_ssize_t b = 0; b < n_blocks; b++) { /* then every row, before any mask is read */
        const int64_t *q = blk + 4 * b;
        for (int64_t i = 0; i < q[1]; i++)
            if (drow[q[0] + i] < 0 || drow[q[0] + i] >= n_dt) {
                PyErr_SetString(PyExc_IndexError, "mask_iou: a detection row lies outside the masks");
                goto done;
            }
        for (int64_t i = 0; i < q[3]; i++)
            if (grow[q[2] + i] < 0 || grow[q[2] + i] >= n_gt) {
                PyErr_SetString(PyExc_IndexError, "mask_iou: a ground-truth row lies outside the masks");
                goto done;
            }
        named += (Py_ssize_t)(q[1] + q[3]);
        if (named > n_dt + n_gt)
            named = n_dt + n_gt;
    }
    slot_d = calloc((size_t)n_dt + 1, sizeof(Py_ssize_t));
    slot_g = calloc((size_t)n_gt + 1, sizeof(Py_ssize_t));
    rles = malloc((size_t)(named ? named : 1) * sizeof(Rle));
    owners = calloc((size_t)(named ? named : 1), sizeof(PyObject *));
    if (slot_d == NULL || slot_g == NULL || rles == NULL || owners == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* each named row's mask, once: a dict borrowed (read below), or read off its columns */
    for (Py_ssize_t b = 0; b < n_blocks; b++) {
        const int64_t *q = blk + 4 * b;
        for (int side = 0; side < 2; side++) {
            const int64_t *rows = side ? grow + q[2] : drow + q[0];
            Py_ssize_t *slot = side ? slot_g : slot_d;
            for (int64_t i = 0; i < q[1 + 2 * side]; i++) {
                if (slot[rows[i]])
                    continue;
                if (columnar[side]) {
                    const int got = rle_of_columns(&cols[side], rows[i], &rles[n_rles]);
                    if (got <= 0) {
                        if (got == 0)
                            out = Py_NewRef(Py_None);
                        goto done;
                    }
                    owners[n_rles] = NULL;
                }
                else {
                    owners[n_rles] = PyTuple_GET_ITEM(sides[side], rows[i]);
                }
                slot[rows[i]] = ++n_rles;
            }
        }
    }
    /* the dicts' strings and sizes (owners[k] then holds the string: held of them so far), a batch
     * at a time: the batch's lookups first, which start loading its strings and sizes (cold
     * in memory, most of the time under the GIL) while the others run, and the next batch's
     * dicts */
    enum { BATCH = 32 };
    for (Py_ssize_t lo = 0; lo < n_rles; lo += BATCH) {
        const Py_ssize_t hi = lo + BATCH < n_rles ? lo + BATCH : n_rles;
        PyObject *size[BATCH], *counts[BATCH];
        for (Py_ssize_t k = hi; k < hi + BATCH && k < n_rles; k++)
            if (owners[k] != NULL)
                PREFETCH(owners[k]);
        for (Py_ssize_t k = lo; k < hi; k++) {
            PyObject *rle = owners[k];
            size[k - lo] = counts[k - lo] = NULL;
            if (rle != NULL && PyDict_Check(rle)) {
                size[k - lo] = PyDict_GetItem(rle, KEY_SIZE);
                counts[k - lo] = PyDict_GetItem(rle, KEY_COUNTS);
                PREFETCH(size[k - lo]);
                PREFETCH(counts[k - lo]);
            }
        }
        for (Py_ssize_t k = lo; k < hi; k++) {
            if (owners[k] != NULL && !rle_source(size[k - lo], counts[k - lo], &rles[k], &owners[k])) {
                out = Py_NewRef(Py_None);
                goto done;
            }
            held++;
        }
    }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    jobs = calloc((size_t)threads, sizeof(MaskJob));
    if (jobs != NULL)
        out = PyByteArray_FromStringAndSize(NULL, total * (Py_ssize_t)sizeof(double));
    if (out == NULL) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    const MaskJob proto = {.rles = rles, .blk = blk, .drow = drow, .grow = grow, .slot_d = slot_d,
                           .slot_g = slot_g, .at = at, .crowd = v[3].buf,
                           .out = (double *)PyByteArray_AS_STRING(out)};
    int ran;
    Py_BEGIN_ALLOW_THREADS
    ran = mask_iou_run(&proto, n_blocks, threads, jobs);
    Py_END_ALLOW_THREADS
    int bad = 0, oom = ran < 0;
    for (int t = 0; t < ran; t++) {
        bad |= jobs[t].bad;
        oom |= jobs[t].oom;
        free(jobs[t].dm);
        free(jobs[t].gm);
        free(jobs[t].iv);
    }
    if (oom) {
        Py_CLEAR(out);
        PyErr_NoMemory();
    }
    else if (bad) {
        Py_DECREF(out);
        out = Py_NewRef(Py_None);
    }
done:
    for (Py_ssize_t k = 0; k < held; k++)
        Py_XDECREF(owners[k]);
    for (int side = 0; side < 2; side++)
        release_all(cols[side].v, cols[side].held);
    free(owners);
    free(rles);
    free(jobs);
    free(slot_d);
    free(slot_g);
    free(at);
    release_all(v, 4);
    return out;
}

static PyObject *repeated_rows(PyObject *self, PyObject *args); /* at the end */
static PyObject *gather_batch(PyObject *self, PyObject *args);

static PyMethodDef methods[] = {
    {"match", match, METH_VARARGS,
     "match(c_dt, c_gt, c_iou, det_group, thr, nonign, crowd, gt_rows, n_area, threads) -> "
     "(area, thr, det, gt row, ignored)"},
    {"accumulate", accumulate, METH_VARARGS,
     "accumulate(by_score, rank, cls, score, out_of_range, hit_area, hit_thr, hit_det, hit_ignored, "
     "npos, rec_thr, max_dets, precision, recall, scores, threads) -> None"},
    {"regroup", regroup, METH_VARARGS,
     "regroup(first, key, n_keys) -> bytearray of int64: first stably regrouped by key[first]"},
    {"curve_points", curve_points, METH_VARARGS,
     "curve_points(score, is_tp, order, seg_count) -> (thresholds, tp, fp, seg) of each run of equal scores"},
    {"kept_order", kept_order, METH_VARARGS,
     "kept_order(order, kept) -> bytearray: the kept entries of order, renumbered among the kept"},
    {"take_rows", take_rows, METH_VARARGS,
     "take_rows(order, columns, threads) -> list of bytearrays: each column's rows in order"},
    {"run_order", run_order, METH_VARARGS,
     "run_order(group, score, threads) -> bytearray of int64: np.lexsort((-score, group)) for grouped rows"},
    {"box_candidates", box_candidates, METH_VARARGS,
     "box_candidates(dt_box, gt_box, crowd, dt_rows, gt_rows, start, count, floor, inclusive, threads) -> "
     "(pair_dt, pair_gt, iou) bytearrays of the planned box pairs with IoU >= floor"},
    {"mask_iou", mask_iou, METH_VARARGS,
     "mask_iou(dt_masks, gt_masks, dt_rows, gt_rows, blocks, crowd, threads) -> "
     "bytearray of float64 or None"},
    {"repeated_rows", repeated_rows, METH_VARARGS,
     "repeated_rows(columns) -> (how many rows (the columns side by side) repeat an earlier one, "
     "the first of them or -1)"},
    {"gather_batch", gather_batch, METH_VARARGS,
     "gather_batch(targets, preds, target_spec, pred_spec, id_key, first_image_id, ndarray) -> "
     "(targets' (counts, fields) or None, preds' or None, int64 image ids bytearray or None)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "detrecall's compiled matching, accumulation and mask IoU.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void)
{
    if (KEY_SIZE == NULL && (KEY_SIZE = PyUnicode_InternFromString("size")) == NULL)
        return NULL;
    if (KEY_COUNTS == NULL && (KEY_COUNTS = PyUnicode_InternFromString("counts")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}

/* ---- repeated rows ------------------------------------------------------------------------ */

#define MAX_COLUMNS 64

/* The rows' values side by side: each column array is 1-d (one value a row) or (n, width),
 * float64 or int64 (read as the double numpy's astype(float64) gives). */
typedef struct {
    const void *buf[MAX_COLUMNS];
    Py_ssize_t width[MAX_COLUMNS];
    int is_int[MAX_COLUMNS];
    int n_columns;
} Columns;

static inline double column_value(const Columns *c, int col, Py_ssize_t i, Py_ssize_t j)
{
    const Py_ssize_t at = i * c->width[col] + j;
    return c->is_int[col] ? (double)((const int64_t *)c->buf[col])[at] : ((const double *)c->buf[col])[at];
}

/* The hash of row i (-0.0 hashed as 0.0: each value's bits times its own odd constant, the
 * products independent of each other, summed and finished by splitmix64's finalizer); *nan set
 * when one of its values is NaN. */
static inline uint64_t row_hash(const Columns *c, Py_ssize_t i, int *nan)
{
    uint64_t h = UINT64_C(0x9E3779B97F4A7C15), k = UINT64_C(0xBF58476D1CE4E5B9);
    int any_nan = 0;
    for (int col = 0; col < c->n_columns; col++)
        for (Py_ssize_t j = 0; j < c->width[col]; j++) {
            const double x = column_value(c, col, i, j) + 0.0; /* -0.0 + 0.0 is 0.0 */
            uint64_t b;
            memcpy(&b, &x, sizeof(b));
            any_nan |= x != x;
            h += (b ^ (b >> 29)) * k;
            k += UINT64_C(0x9E3779B97F4A7C16); /* odd constants, one a value */
        }
    h ^= h >> 31;
    h *= UINT64_C(0x94D049BB133111EB);
    h ^= h >> 29;
    *nan = any_nan;
    return h;
}

typedef struct {
    uint64_t hash;
    int64_t row; /* -1: empty */
} Slot;

/* Rows a and b equal value by value (as doubles: -0.0 equals 0.0). */
static inline int rows_equal(const Columns *c, Py_ssize_t a, Py_ssize_t b)
{
    for (int col = 0; col < c->n_columns; col++)
        for (Py_ssize_t j = 0; j < c->width[col]; j++)
            if (column_value(c, col, a, j) != column_value(c, col, b, j))
                return 0;
    return 1;
}

/* repeated_rows(columns) -> (count, first): of the rows made of the columns' values side by
 * side (a tuple of arrays of n rows each, float64 or int64, 1-d or (n, width), C order), how
 * many are equal to an earlier row, and the first such row (-1 if none). Equal is value by
 * value as doubles (-0.0 equals 0.0); a row holding a NaN is equal to none and repeats none:
 * np.unique(rows, axis=0)'s notion on np.column_stack of the columns as float64. One
 * open-addressing hash table of (hash, row), each row looked up once and compared exactly with
 * the rows of its hash chain that have its hash; when the first value never decreases row to
 * row, one small table per run of it (a repeat shares it). Reading the columns where
 * they are spares the caller a column_stack. Twin: io/_problems.py's numpy path
 * (tests/io/test_repeated_rows.py holds them equal). */
static PyObject *repeated_rows(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *tuple;
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &tuple))
        return NULL;
    const Py_ssize_t n_columns = PyTuple_GET_SIZE(tuple);
    if (n_columns < 1 || n_columns > MAX_COLUMNS) {
        PyErr_SetString(PyExc_ValueError, "repeated_rows: between 1 and 64 columns");
        return NULL;
    }
    Py_buffer v[MAX_COLUMNS];
    memset(v, 0, sizeof(v));
    Columns c;
    memset(&c, 0, sizeof(c));
    Py_ssize_t n = -1;
    for (Py_ssize_t col = 0; col < n_columns; col++) {
        PyObject *o = PyTuple_GET_ITEM(tuple, col);
        if (PyObject_GetBuffer(o, &v[col], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            goto fail;
        c.n_columns = (int)col + 1; /* the views held, released on failure */
        const char *f = v[col].format ? v[col].format : "B";
        const int is_int = v[col].itemsize == 8 && (strcmp(f, "q") == 0 || strcmp(f, "l") == 0);
        const int is_float = v[col].itemsize == 8 && strcmp(f, "d") == 0;
        const Py_ssize_t rows = v[col].ndim >= 1 ? v[col].shape[0] : -1;
        const Py_ssize_t width = v[col].ndim == 1 ? 1 : v[col].ndim == 2 ? v[col].shape[1] : -1;
        if (!(is_int || is_float) || rows < 0 || width < 1 || (n >= 0 && rows != n)) {
            PyErr_SetString(PyExc_TypeError,
                            "repeated_rows: columns must be float64 or int64 arrays, 1-d or 2-d (width >= 1), "
                            "of one number of rows");
            goto fail;
        }
        n = rows;
        c.buf[col] = v[col].buf;
        c.width[col] = width;
        c.is_int[col] = is_int;
    }
    /* rows sorted by their first value (a streaming flush's, by image): a repeat is in its row's
     * run of that value, so each run gets its own small table (cache-resident), else one table */
    int runs = 1;
    Py_ssize_t longest = 0;
    for (Py_ssize_t lo = 0, i = 1; i <= n && runs; i++) {
        if (i < n && column_value(&c, 0, i, 0) == column_value(&c, 0, lo, 0))
            continue;
        runs = i == n || column_value(&c, 0, lo, 0) < column_value(&c, 0, i, 0); /* NaN: not sorted */
        longest = i - lo > longest ? i - lo : longest;
        lo = i;
    }
    if (!runs)
        longest = n;
    size_t cap = 16;
    while (cap < 2 * (size_t)longest)
        cap *= 2;
    Slot *slot = malloc(cap * sizeof(Slot));
    if (slot == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t count = 0, first = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t lo = 0; lo < n;) {
        Py_ssize_t hi = n;
        if (runs) /* this run's rows */
            for (hi = lo + 1; hi < n && column_value(&c, 0, hi, 0) == column_value(&c, 0, lo, 0);)
                hi++;
        size_t size = 16;
        while (size < 2 * (size_t)(hi - lo))
            size *= 2;
        const size_t mask = size - 1;
        memset(slot, 0xff, size * sizeof(Slot)); /* row -1: empty */
        for (Py_ssize_t i = lo; i < hi; i++) {
            int nan;
            const uint64_t h = row_hash(&c, i, &nan);
            if (nan)
                continue;
            size_t at = (size_t)h & mask;
            int repeat = 0;
            while (slot[at].row >= 0) {
                if (slot[at].hash == h && rows_equal(&c, slot[at].row, i)) {
                    repeat = 1;
                    break;
                }
                at = (at + 1) & mask;
            }
            if (repeat) {
                count++;
                if (first < 0)
                    first = i;
            } else {
                slot[at].hash = h;
                slot[at].row = i;
            }
        }
        lo = hi;
    }
    Py_END_ALLOW_THREADS
    free(slot);
    release_all(v, c.n_columns);
    return Py_BuildValue("nn", count, first);
fail:
    release_all(v, c.n_columns);
    return NULL;
}


/* ---- gathering per-image arrays ----------------------------------------------------------- */

/* The formats whose bounds are kept (the rest are gathered with none). */
typedef enum { B_NONE, B_F64, B_F32, B_I64, B_I32, B_BOOL } BoundsKind;

enum { MAX_WIDTH = 8 }; /* columns of a gathered field: 1-d (width 0) or (rows, width <= 8) */

/* Each column's smallest and largest value so far, and whether a float one held a NaN. */
typedef struct {
    double flo[MAX_WIDTH], fhi[MAX_WIDTH];
    int64_t ilo[MAX_WIDTH], ihi[MAX_WIDTH];
    int nan[MAX_WIDTH];
} Bounds;

static BoundsKind bounds_kind(const char *format, Py_ssize_t itemsize)
{
    if (itemsize == 8 && strcmp(format, "d") == 0)
        return B_F64;
    if (itemsize == 4 && strcmp(format, "f") == 0)
        return B_F32;
    if (itemsize == 8 && (strcmp(format, "q") == 0 || strcmp(format, "l") == 0))
        return B_I64;
    if (itemsize == 4 && (strcmp(format, "i") == 0 || strcmp(format, "l") == 0))
        return B_I32;
    if (itemsize == 1 && strcmp(format, "?") == 0)
        return B_BOOL;
    return B_NONE;
}

static void bounds_start(Bounds *b)
{
    for (int j = 0; j < MAX_WIDTH; j++) {
        b->flo[j] = Py_HUGE_VAL, b->fhi[j] = -Py_HUGE_VAL, b->nan[j] = 0;
        b->ilo[j] = INT64_MAX, b->ihi[j] = INT64_MIN;
    }
}

/* Copies n rows of w columns from src to dst, and takes them into the bounds: one pass over
 * the (usually cold) input. W is the width when known at compile time (1 or 4: a loop the
 * compiler unrolls, its bounds in registers), else 0 and w is read. The bounds are kept in
 * locals of type A (double or int64_t) while copying: stores through dst cannot alias them. */
#define COPY_BOUNDS(T, A, LO, HI, NAN, W)                                                                              \
    do {                                                                                                               \
        const Py_ssize_t cols = (W) ? (W) : w;                                                                         \
        const T *s = (const T *)src;                                                                                   \
        T *d = (T *)dst;                                                                                               \
        A lo[MAX_WIDTH], hi[MAX_WIDTH];                                                                                \
        int nan[MAX_WIDTH];                                                                                            \
        for (Py_ssize_t j = 0; j < cols; j++)                                                                          \
            lo[j] = b->LO[j], hi[j] = b->HI[j], nan[j] = b->nan[j];                                                    \
        for (Py_ssize_t i = 0; i < n; i++, s += cols, d += cols) {                                                     \
            for (Py_ssize_t j = 0; j < cols; j++) {                                                                    \
                const T x = s[j];                                                                                      \
                d[j] = x;                                                                                              \
                if (NAN)                                                                                               \
                    nan[j] |= x != x;                                                                                  \
                lo[j] = x < lo[j] ? x : lo[j];                                                                         \
                hi[j] = x > hi[j] ? x : hi[j];                                                                         \
            }                                                                                                          \
        }                                                                                                              \
        for (Py_ssize_t j = 0; j < cols; j++)                                                                          \
            b->LO[j] = lo[j], b->HI[j] = hi[j], b->nan[j] = nan[j];                                                    \
    } while (0)

#define COPY_BOUNDS_WIDTHS(T, A, LO, HI, NAN)                                                                          \
    do {                                                                                                               \
        if (w == 1)                                                                                                    \
            COPY_BOUNDS(T, A, LO, HI, NAN, 1);                                                                         \
        else if (w == 4)                                                                                               \
            COPY_BOUNDS(T, A, LO, HI, NAN, 4);                                                                         \
        else                                                                                                           \
            COPY_BOUNDS(T, A, LO, HI, NAN, 0);                                                                         \
    } while (0)

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define BOUNDS_SSE2 1
/* COPY_BOUNDS of float64 with two columns a vector: per column the same comparisons, so the
 * same bounds (min_pd(x, lo) is x < lo ? x : lo, max_pd(x, hi) is x > hi ? x : hi); w is 4
 * (two vectors a row) or 1 (even and odd rows in the two lanes, folded at the end). */
static void copy_bounds_f64_sse2(double *d, const double *s, Py_ssize_t n, Py_ssize_t w, Bounds *b)
{
    const Py_ssize_t values = n * w, pairs = values / 2 * 2;
    __m128d lo[2], hi[2], nan[2];
    for (int k = 0; k < 2; k++) {
        lo[k] = w == 4 ? _mm_loadu_pd(b->flo + 2 * k) : _mm_set1_pd(b->flo[0]);
        hi[k] = w == 4 ? _mm_loadu_pd(b->fhi + 2 * k) : _mm_set1_pd(b->fhi[0]);
        nan[k] = _mm_setzero_pd();
    }
    Py_ssize_t i = 0;
    for (; i + 4 <= pairs; i += 4) { /* w 4: a row, its two vectors; w 1: four rows */
        const __m128d x0 = _mm_loadu_pd(s + i), x1 = _mm_loadu_pd(s + i + 2);
        _mm_storeu_pd(d + i, x0);
        _mm_storeu_pd(d + i + 2, x1);
        nan[0] = _mm_or_pd(nan[0], _mm_cmpunord_pd(x0, x0));
        nan[1] = _mm_or_pd(nan[1], _mm_cmpunord_pd(x1, x1));
        lo[0] = _mm_min_pd(x0, lo[0]), lo[1] = _mm_min_pd(x1, lo[1]);
        hi[0] = _mm_max_pd(x0, hi[0]), hi[1] = _mm_max_pd(x1, hi[1]);
    }
    double l[4], h[4], m[4];
    for (int k = 0; k < 2; k++) {
        _mm_storeu_pd(l + 2 * k, lo[k]);
        _mm_storeu_pd(h + 2 * k, hi[k]);
        _mm_storeu_pd(m + 2 * k, nan[k]);
    }
    if (w == 4) { /* values is a multiple of 4: no tail */
        for (int j = 0; j < 4; j++)
            b->flo[j] = l[j], b->fhi[j] = h[j], b->nan[j] |= m[j] != 0;
        return;
    }
    double lo1 = b->flo[0], hi1 = b->fhi[0];
    int nan1 = b->nan[0];
    for (int k = 0; k < 4; k++) {
        lo1 = l[k] < lo1 ? l[k] : lo1;
        hi1 = h[k] > hi1 ? h[k] : hi1;
        nan1 |= m[k] != 0;
    }
    for (; i < values; i++) { /* the last rows */
        const double x = s[i];
        d[i] = x;
        nan1 |= x != x;
        lo1 = x < lo1 ? x : lo1;
        hi1 = x > hi1 ? x : hi1;
    }
    b->flo[0] = lo1, b->fhi[0] = hi1, b->nan[0] = nan1;
}
#endif

static void copy_bounds(char *dst, const char *src, Py_ssize_t n, Py_ssize_t w, BoundsKind kind, Bounds *b)
{
    switch (kind) {
    case B_F64:
#ifdef BOUNDS_SSE2
        if (w == 1 || w == 4) {
            copy_bounds_f64_sse2((double *)dst, (const double *)src, n, w, b);
            break;
        }
#endif
        COPY_BOUNDS_WIDTHS(double, double, flo, fhi, 1);
        break;
    case B_F32:
        COPY_BOUNDS_WIDTHS(float, double, flo, fhi, 1);
        break;
    case B_I64:
        COPY_BOUNDS_WIDTHS(int64_t, int64_t, ilo, ihi, 0);
        break;
    case B_I32:
        COPY_BOUNDS_WIDTHS(int32_t, int64_t, ilo, ihi, 0);
        break;
    case B_BOOL: /* a bool's byte is 0 or 1 (numpy's), read as 0 or not */
        COPY_BOUNDS_WIDTHS(unsigned char, int64_t, ilo, ihi, 0);
        break;
    case B_NONE: /* no bounds kept: gather_field copies it alone */
        break;
    }
}
#undef COPY_BOUNDS_WIDTHS
#undef COPY_BOUNDS

/* A bound as a Python number: a float for float formats (NaN for a column that held one), an
 * int for integer and bool ones (0 or 1). */
static PyObject *bound_value(const Bounds *b, BoundsKind kind, Py_ssize_t j, int high)
{
    if (kind == B_F64 || kind == B_F32)
        return PyFloat_FromDouble(b->nan[j] ? Py_NAN : high ? b->fhi[j] : b->flo[j]);
    const int64_t v = high ? b->ihi[j] : b->ilo[j];
    return PyLong_FromLongLong(kind == B_BOOL ? v != 0 : v);
}

/* (lows, highs, low, high): each column's smallest and largest value (tuples) and the field's
 * (NaN for both if a column held a NaN, as np.minimum.reduce gives); all None for no rows or
 * a format without bounds. What the batch's checks would reduce the arrays to. */
static PyObject *bounds_tuple(const Bounds *b, BoundsKind kind, Py_ssize_t w, Py_ssize_t rows)
{
    if (kind == B_NONE || rows == 0)
        return Py_BuildValue("OOOO", Py_None, Py_None, Py_None, Py_None);
    PyObject *lows = PyTuple_New(w), *highs = PyTuple_New(w), *low = NULL, *high = NULL, *out = NULL;
    if (lows == NULL || highs == NULL)
        goto done;
    Py_ssize_t lo = 0, hi = 0, nan = 0; /* the columns of the field's smallest and largest */
    for (Py_ssize_t j = 0; j < w; j++) {
        PyObject *l = bound_value(b, kind, j, 0), *h = bound_value(b, kind, j, 1);
        if (l == NULL || h == NULL) {
            Py_XDECREF(l);
            Py_XDECREF(h);
            goto done;
        }
        PyTuple_SET_ITEM(lows, j, l);
        PyTuple_SET_ITEM(highs, j, h);
        nan |= b->nan[j];
        if (kind == B_F64 || kind == B_F32) {
            lo = b->flo[j] < b->flo[lo] ? j : lo;
            hi = b->fhi[j] > b->fhi[hi] ? j : hi;
        } else {
            lo = b->ilo[j] < b->ilo[lo] ? j : lo;
            hi = b->ihi[j] > b->ihi[hi] ? j : hi;
        }
    }
    if (nan) { /* the field's bounds NaN: the NaN column's */
        while (!b->nan[lo])
            lo++;
        hi = lo;
    }
    low = PyTuple_GET_ITEM(lows, lo);
    high = PyTuple_GET_ITEM(highs, hi);
    out = Py_BuildValue("OOOO", lows, highs, low, high);
done:
    Py_XDECREF(lows);
    Py_XDECREF(highs);
    return out;
}

/* Asks for the cache lines of len bytes at p (a training loop's arrays are not in cache). */
static void prefetch_lines(const void *p, Py_ssize_t len)
{
    for (Py_ssize_t k = 0; k < len; k += 64)
        PREFETCH((const char *)p + k);
}

/* A field's values in the side's dicts (values[i], NULL where a dict leaves it out) as views
 * (views[i]; *format, *itemsize their one format, *total their bytes): 1 when every dict
 * gives an exact `ndarray`, C contiguous, 1-d (width 0) or (rows, width), of one format and
 * item size; 0 when no dict gives it; -1 when the field is not plain (some dicts without it,
 * another type, shape or format). *held: the views taken (to release), also on failure. */
static int field_views(PyObject **values, Py_ssize_t n, Py_ssize_t width, PyTypeObject *ndarray, Py_buffer *views,
                       Py_ssize_t *held, const char **format, Py_ssize_t *itemsize, Py_ssize_t *total)
{
    Py_ssize_t absent = 0;
    *held = 0, *format = NULL, *itemsize = 0, *total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = values[i]; /* borrowed */
        if (value == NULL) {
            absent++;
            continue;
        }
        if (absent || Py_TYPE(value) != ndarray)
            return -1;
        if (PyObject_GetBuffer(value, &views[i], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            PyErr_Clear(); /* not contiguous, or no buffer: the numpy path reads it */
            return -1;
        }
        *held = i + 1;
        const Py_buffer *v = &views[i];
        const char *f = v->format ? v->format : "B";
        if (v->ndim != (width ? 2 : 1) || (width && v->shape[1] != width) ||
            (*format != NULL && (strcmp(f, *format) != 0 || v->itemsize != *itemsize)))
            return -1;
        *format = f, *itemsize = v->itemsize, *total += v->len;
    }
    return absent == n ? 0 : absent ? -1 : 1;
}

/* One field of the side gathered from its values (field_views'): (format, data, lows, highs,
 * low, high) (bounds_tuple's), Py_None when no dict gives it, NULL with no error set when it
 * is not plain (or its rows are not `rows`' when check_rows; else they are written there),
 * NULL with an error set. */
static PyObject *gather_field(PyObject **values, Py_ssize_t n, Py_ssize_t width, PyTypeObject *ndarray,
                              Py_buffer *views, int64_t *rows, int check_rows)
{
    const Py_ssize_t w = width ? width : 1;
    Py_ssize_t held = 0, itemsize = 0, total = 0;
    const char *format = NULL;
    PyObject *data = NULL, *bounds = NULL, *out = NULL;
    const int got = field_views(values, n, width, ndarray, views, &held, &format, &itemsize, &total);
    if (got == 0) {
        out = Py_None;
        Py_INCREF(out);
    }
    if (got != 1)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (check_rows && rows[i] != (int64_t)views[i].shape[0])
            goto done;
        rows[i] = (int64_t)views[i].shape[0];
    }
    if ((data = PyByteArray_FromStringAndSize(NULL, total)) == NULL)
        goto done;
    const BoundsKind kind = bounds_kind(format, itemsize);
    Bounds b;
    bounds_start(&b);
    char *at = PyByteArray_AS_STRING(data);
    if (n)
        prefetch_lines(views[0].buf, views[0].len);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + 1 < n) /* the next array on its way while this one is copied (they are cold) */
            prefetch_lines(views[i + 1].buf, views[i + 1].len);
        if (kind == B_NONE)
            memcpy(at, views[i].buf, (size_t)views[i].len);
        else
            copy_bounds(at, views[i].buf, views[i].len / itemsize / w, w, kind, &b);
        at += views[i].len;
    }
    if ((bounds = bounds_tuple(&b, kind, w, itemsize ? total / itemsize / w : 0)) == NULL)
        goto done;
    PyObject *l = PyTuple_GET_ITEM(bounds, 0), *h = PyTuple_GET_ITEM(bounds, 1);
    out = Py_BuildValue("sOOOOO", format, data, l, h, PyTuple_GET_ITEM(bounds, 2), PyTuple_GET_ITEM(bounds, 3));
done:
    Py_XDECREF(data);
    Py_XDECREF(bounds);
    for (Py_ssize_t i = 0; i < held; i++)
        if (views[i].obj != NULL)
            PyBuffer_Release(&views[i]);
    memset(views, 0, (size_t)n * sizeof(Py_buffer));
    return out;
}

/* Each dict's value of each key (values[k * n + i], borrowed; NULL where it has none): 1
 * when every dict of the list is an exact dict whose keys are all str among `keys` (a tuple
 * of str), else 0. One pass over the dicts' items, the keys compared by identity first (the
 * literals of the caller's code and of the dicts' are the same interned strings). */
static int dict_values(PyObject *dicts, PyObject *keys, PyObject **values)
{
    const Py_ssize_t n = PyList_GET_SIZE(dicts), n_keys = PyTuple_GET_SIZE(keys);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyList_GET_ITEM(dicts, i), *key, *value;
        if (!PyDict_CheckExact(d))
            return 0;
        Py_ssize_t pos = 0;
        if (i + 1 < n)
            PREFETCH(PyList_GET_ITEM(dicts, i + 1));
        while (PyDict_Next(d, &pos, &key, &value)) {
            PREFETCH(value); /* the array's header, read next */
            Py_ssize_t k = 0;
            while (k < n_keys && PyTuple_GET_ITEM(keys, k) != key)
                k++;
            if (k == n_keys && PyUnicode_CheckExact(key)) /* the same text, another object */
                for (k = 0; k < n_keys; k++) {
                    PyObject *known = PyTuple_GET_ITEM(keys, k);
                    if (PyUnicode_CheckExact(known) && PyObject_Hash(known) == PyObject_Hash(key) &&
                        PyUnicode_Compare(known, key) == 0) /* str hashes are kept: no error */
                        break;
                }
            if (k == n_keys) /* another key, or one not a str: the numpy path names it */
                return 0;
            values[k * n + i] = value;
        }
    }
    return 1;
}

/* One side gathered: (counts, fields) with counts the images' rows (int64 bytes, the first
 * field's: the labels) and a gather_field result per field (None for a field no dict holds,
 * not allowed for the first), or Py_None when the side is not plain; NULL with an error set. */
static PyObject *gather_side(PyObject *dicts, PyObject *keys, PyObject *widths, PyTypeObject *ndarray)
{
    const Py_ssize_t n = PyList_GET_SIZE(dicts), n_fields = PyTuple_GET_SIZE(widths);
    PyObject *counts = NULL, *fields = NULL, *out = NULL;
    Py_buffer *views = calloc((size_t)n + 1, sizeof(Py_buffer));
    PyObject **values = calloc((size_t)(n * PyTuple_GET_SIZE(keys)) + 1, sizeof(PyObject *));
    if (views == NULL || values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (n == 0 || !dict_values(dicts, keys, values))
        goto plain_no;
    if ((counts = PyByteArray_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t))) == NULL)
        goto done;
    if ((fields = PyTuple_New(n_fields)) == NULL)
        goto done;
    int64_t *rows = (int64_t *)PyByteArray_AS_STRING(counts);
    for (Py_ssize_t f = 0; f < n_fields; f++) {
        const Py_ssize_t width = PyLong_AsSsize_t(PyTuple_GET_ITEM(widths, f));
        if (width < 0 || width > MAX_WIDTH) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "gather_batch: width %zd (expected 0 to %d)", width, MAX_WIDTH);
            goto done;
        }
        PyObject *got = gather_field(values + f * n, n, width, ndarray, views, rows, f > 0);
        if (got == NULL && PyErr_Occurred())
            goto done;
        if (got == NULL || (f == 0 && got == Py_None)) {
            Py_XDECREF(got);
            goto plain_no;
        }
        PyTuple_SET_ITEM(fields, f, got);
    }
    out = PyTuple_Pack(2, counts, fields);
    goto done;
plain_no:
    out = Py_None;
    Py_INCREF(out);
done:
    Py_XDECREF(counts);
    Py_XDECREF(fields);
    free(views);
    free(values);
    return out;
}

static int compare_int64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* An image id as a target or pred gives it: 1 with *id set for an exact int in int64, 0 for
 * None or no id, -1 for anything else (io/arrays.py's _batch_ids decides), -2 with an error. */
static int plain_id(PyObject *d, PyObject *key, int64_t *id)
{
    PyObject *value = PyDict_GetItemWithError(d, key);
    if (value == NULL)
        return PyErr_Occurred() ? -2 : 0;
    if (value == Py_None)
        return 0;
    if (!PyLong_CheckExact(value))
        return -1;
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -2;
    *id = (int64_t)v;
    return overflow ? -1 : 1;
}

/* The images' ids (int64 bytes): a target's image id, else first + its position; Py_None
 * when an id is of another kind, a pred's disagrees, two are the same or a dict is not an
 * exact dict (then _batch_ids, the twin, decides); NULL with an error set. */
static PyObject *batch_ids(PyObject *targets, PyObject *preds, PyObject *key, PyObject *first_id)
{
    const Py_ssize_t n = PyList_GET_SIZE(targets);
    int overflow = 0;
    const long long first = PyLong_Check(first_id) ? PyLong_AsLongLongAndOverflow(first_id, &overflow) : 0;
    if (PyErr_Occurred())
        return NULL;
    if (!PyLong_Check(first_id) || overflow || n == 0 || PyList_GET_SIZE(preds) != n)
        Py_RETURN_NONE;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    int64_t *sorted = malloc((size_t)n * sizeof(int64_t));
    if (out == NULL || sorted == NULL) {
        Py_XDECREF(out);
        free(sorted);
        return sorted == NULL ? PyErr_NoMemory() : NULL;
    }
    int64_t *ids = (int64_t *)PyByteArray_AS_STRING(out);
    int plain = 1;
    for (Py_ssize_t i = 0; i < n && plain == 1; i++) {
        PyObject *t = PyList_GET_ITEM(targets, i), *p = PyList_GET_ITEM(preds, i);
        if (!PyDict_CheckExact(t) || !PyDict_CheckExact(p)) {
            plain = 0;
            break;
        }
        int64_t theirs = 0;
        plain = plain_id(t, key, &ids[i]);
        if (plain == 0) { /* no id given: first + i, if it is an int64 */
            plain = first <= INT64_MAX - (long long)i;
            ids[i] = plain ? first + (int64_t)i : 0;
        }
        const int pred = plain == 1 ? plain_id(p, key, &theirs) : 0;
        plain = pred == -2 ? -2 : pred < 0 || (pred == 1 && theirs != ids[i]) ? 0 : plain;
    }
    if (plain == 1) {
        memcpy(sorted, ids, (size_t)n * sizeof(int64_t));
        qsort(sorted, (size_t)n, sizeof(int64_t), compare_int64);
        for (Py_ssize_t i = 1; i < n && plain; i++)
            plain = sorted[i] != sorted[i - 1];
    }
    free(sorted);
    if (plain != 1) {
        Py_DECREF(out);
        if (plain == -2)
            return NULL;
        Py_RETURN_NONE;
    }
    return out;
}

/* gather_batch(targets, preds, target_spec, pred_spec, id_key, first_image_id, ndarray) ->
 * (targets' side, preds' side, image ids): a streaming update's batch read in one call. A spec
 * is (keys, widths): the keys a dict may hold (a tuple of str), the first len(widths) of them
 * the fields gathered, widths[f] 0 for a 1-d field or its columns (<= 8). A side is (counts,
 * fields), gather_side's, or None when it is not plain (a dict not an exact dict or with
 * another key, a field some dicts leave out, or not an exact `ndarray`, C contiguous, of one
 * format and shape, with the labels' rows); the ids are batch_ids'. Where a part is None, its
 * twin in io/arrays.py reads it (_side, _batch_ids: tests/io/test_arrays_gather.py holds them
 * equal); no Python call per image or field, and the bounds the checks need made while
 * copying, in one pass over the input. */
static PyObject *gather_batch(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *targets, *preds, *target_keys, *target_widths, *pred_keys, *pred_widths, *key, *first, *ndarray;
    if (!PyArg_ParseTuple(args, "O!O!(O!O!)(O!O!)UOO", &PyList_Type, &targets, &PyList_Type, &preds,
                          &PyTuple_Type, &target_keys, &PyTuple_Type, &target_widths, &PyTuple_Type, &pred_keys,
                          &PyTuple_Type, &pred_widths, &key, &first, &ndarray))
        return NULL;
    if (!PyType_Check(ndarray) || PyTuple_GET_SIZE(target_widths) > PyTuple_GET_SIZE(target_keys) ||
        PyTuple_GET_SIZE(pred_widths) > PyTuple_GET_SIZE(pred_keys) || PyTuple_GET_SIZE(target_widths) == 0 ||
        PyTuple_GET_SIZE(pred_widths) == 0) {
        PyErr_SetString(PyExc_TypeError, "gather_batch: ndarray must be a type, and each spec "
                                         "(keys, widths) at least one width and no more widths than keys");
        return NULL;
    }
    PyObject *gt = gather_side(targets, target_keys, target_widths, (PyTypeObject *)ndarray);
    PyObject *dt = gt == NULL ? NULL : gather_side(preds, pred_keys, pred_widths, (PyTypeObject *)ndarray);
    PyObject *ids = dt == NULL ? NULL : batch_ids(targets, preds, key, first);
    PyObject *out = ids == NULL ? NULL : PyTuple_Pack(3, gt, dt, ids);
    Py_XDECREF(gt);
    Py_XDECREF(dt);
    Py_XDECREF(ids);
    return out;
}
