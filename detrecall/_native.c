/* detrecall._native: the hot paths numpy cannot vectorize, each with a pure-Python twin that
 * gives the same results (tests/test_native.py holds them equal).
 *
 * 1. box_results / mask_results: a COCO results file (a JSON array of flat records) parsed
 *    straight into columns, with no Python object per record (a mask's RLE string goes to one
 *    character column, detrecall.types.RleMasks'), from a buffer or from a file a window at a
 *    time (a large file in parts on threads, without the GIL); every mask's RLE runs checked as
 *    it is read.
 *    Strict: anything outside the plain form (a missing key, a string id, an escaped key, an
 *    RLE string with a character pycocotools does not use, ...) returns None and the caller
 *    takes the general path, which reads every form and names any bad record.
 *    Numbers are correctly rounded: Clinger's exact fast path (mantissa <= 2^53 and a power of
 *    ten <= 1e22, one IEEE multiply or divide), else Python's own correctly rounded strtod.
 * 2. argsort: a stable LSD radix argsort of int64/float64 keys (numpy's stable sort is a
 *    timsort there), for the score and group sorts every evaluation does.
 * 3. rle_check: the first compressed RLE string whose runs are not all >= 0 summing to h*w
 *    (pycocotools reads such strings without a word and computes areas and IoUs of garbage).
 * 4. ground_truth: the "annotations" of a COCO instances file parsed straight into columns
 *    (ids, box, area, flags; segmentation and every other field checked and skipped), the rest
 *    of the file located for the caller's JSON parser. As strict as the results parser: what
 *    it does not take returns None and the general path reads the file. Asked for masks, it
 *    reads each segmentation too: polygons into flat coordinate columns (for
 *    _raster.flat_polygon_rles), compressed RLEs as their dicts (runs checked), uncompressed
 *    ones (crowds) as run columns.
 * Mask IoU is _kernels.mask_iou (on threads).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

/* ---------------------------------------------------------------- JSON scanning */

typedef struct {
    const char *p;
    const char *end;
    int nogil; /* parsing on a thread without the GIL: Python's own strtod takes it first */
} Cursor;

static inline void skip_ws(Cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static inline int expect(Cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static inline int peek(Cursor *c)
{
    skip_ws(c);
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define IS_DIGIT(ch) ((ch) >= '0' && (ch) <= '9')

/* The x87 80-bit format (64-bit significand): up to 19 decimal digits times a power of ten
 * up to 1e27 are then exact operands, and one extended operation is correctly rounded; its
 * rounding to double is too, unless the 11 dropped bits sit exactly on the halfway point
 * (only there can the exact value lie across it), which goes to the slow path. This serves the
 * 17-digit reprs of float32 values that detectors write. */
#if (defined(__x86_64__) || defined(__i386__)) && LDBL_MANT_DIG == 64
#define EXTENDED_PATH 1
static const long double POW10L[28] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

enum { NUMBER_REAL, NUMBER_INTEGRAL, NUMBER_LONG_INTEGER };

/* A JSON number (RFC 8259 grammar) at the cursor. On success: *value (correctly rounded),
 * *kind: NUMBER_INTEGRAL (no fraction or exponent, at most 18 digits; *ivalue is set),
 * NUMBER_LONG_INTEGER (no fraction or exponent, more digits) or NUMBER_REAL. */
HOT int parse_number_kind(Cursor *c, double *value, int *kind, int64_t *ivalue)
{
    skip_ws(c);
    const char *start = c->p, *p = c->p, *end = c->end;
    int negative = 0, dropped = 0, digits = 0, has_frac_or_exp = 0;
    uint64_t mantissa = 0;
    long exp10 = 0;
    if (p < end && *p == '-') {
        negative = 1;
        p++;
    }
    if (p >= end)
        return 0;
    if (*p == '0') {
        p++;
    }
    else if (*p >= '1' && *p <= '9') {
        while (p < end && IS_DIGIT(*p)) {
            if (digits < 19) {
                mantissa = mantissa * 10 + (uint64_t)(*p - '0');
                digits++;
            }
            else {
                exp10++;
                dropped = 1;
            }
            p++;
        }
    }
    else {
        return 0;
    }
    if (p < end && *p == '.') {
        has_frac_or_exp = 1;
        p++;
        if (p >= end || !IS_DIGIT(*p))
            return 0;
        while (p < end && IS_DIGIT(*p)) {
            int d = *p - '0';
            if (mantissa == 0 && d == 0) {
                exp10--;
            }
            else if (digits < 19) {
                mantissa = mantissa * 10 + (uint64_t)d;
                digits++;
                exp10--;
            }
            else {
                dropped = 1;
            }
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        has_frac_or_exp = 1;
        p++;
        int sign = 1;
        long e = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            sign = *p == '-' ? -1 : 1;
            p++;
        }
        if (p >= end || !IS_DIGIT(*p))
            return 0;
        while (p < end && IS_DIGIT(*p)) {
            if (e < 100000)
                e = e * 10 + (*p - '0');
            p++;
        }
        exp10 += sign * e;
    }
    c->p = p;
    *kind = has_frac_or_exp ? NUMBER_REAL : !dropped && digits <= 18 ? NUMBER_INTEGRAL : NUMBER_LONG_INTEGER;
    if (*kind == NUMBER_INTEGRAL)
        *ivalue = negative ? -(int64_t)mantissa : (int64_t)mantissa;
    if (mantissa == 0 && !dropped) { /* "-0" is the integer 0, as json and orjson read it */
        *value = negative && has_frac_or_exp ? -0.0 : 0.0;
        return 1;
    }
    if (!dropped && mantissa <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double m = (double)mantissa;
        double v = exp10 < 0 ? m / POW10[-exp10] : m * POW10[exp10];
        *value = negative ? -v : v;
        return 1;
    }
#ifdef EXTENDED_PATH
    if (!dropped && exp10 >= -27 && exp10 <= 27) {
        long double m = (long double)mantissa;
        long double q = exp10 < 0 ? m / POW10L[-exp10] : m * POW10L[exp10];
        uint64_t significand;
        memcpy(&significand, &q, sizeof(significand)); /* the low 8 bytes, little-endian */
        if ((significand & 0x7FF) != 0x400) {
            double v = (double)q;
            *value = negative ? -v : v;
            return 1;
        }
    }
#endif
    char buf[128];
    size_t len = (size_t)(p - start);
    if (len >= sizeof(buf))
        return 0;
    memcpy(buf, start, len);
    buf[len] = 0;
    PyGILState_STATE gil = PyGILState_UNLOCKED;
    if (c->nogil)
        gil = PyGILState_Ensure();
    double v = PyOS_string_to_double(buf, NULL, NULL);
    int failed = v == -1.0 && PyErr_Occurred();
    if (failed)
        PyErr_Clear();
    if (c->nogil)
        PyGILState_Release(gil);
    if (failed)
        return 0;
    if (v > DBL_MAX || v < -DBL_MAX) /* out of range: orjson and msgspec refuse it, so do we */
        return 0;
    *value = v;
    return 1;
}

/* parse_number_kind, told only whether the number is integral (at most 18 digits). */
HOT int parse_number(Cursor *c, double *value, int *integral, int64_t *ivalue)
{
    int kind;
    int ok = parse_number_kind(c, value, &kind, ivalue);
    *integral = kind == NUMBER_INTEGRAL;
    return ok;
}

/* 1 for the bytes of a plain string: printable ASCII but the quote and the backslash (the
 * rest, 0x80 and up, is 0) */
static const unsigned char PLAIN[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* A string without escapes: its bytes in [*s, *s + *n). Escaped strings are refused (0). */
static int parse_plain_string(Cursor *c, const char **s, Py_ssize_t *n)
{
    if (!expect(c, '"'))
        return 0;
    const char *q = c->p;
    while (q < c->end && PLAIN[(unsigned char)*q])
        q++;
    if (q >= c->end || *q != '"')
        return 0;
    *s = c->p;
    *n = q - c->p;
    c->p = q + 1;
    return 1;
}

/* A compressed RLE string as a new str: pycocotools' characters '0'..'o' only, of the escapes
 * only '\\' (one of those characters). NULL (no Python error set) for anything else, so that
 * the general path names the record. */
/* The closing quote of a compressed RLE string whose opening one the cursor is at, its escapes
 * counted in *escapes: pycocotools' characters '0'..'o' only, of the escapes only '\\' (one of
 * those characters); NULL for anything else. */
static const char *rle_string_end(Cursor *c, Py_ssize_t *escapes)
{
    if (!expect(c, '"'))
        return NULL;
    const char *q = c->p;
    *escapes = 0;
    while (q < c->end && *q != '"') {
        if (*q == '\\') {
            if (q + 1 >= c->end || q[1] != '\\')
                return NULL;
            ++*escapes;
            q++;
        }
        else if (*q < '0' || *q > 'o') {
            return NULL;
        }
        q++;
    }
    return q < c->end ? q : NULL;
}

/* The string from the cursor to `end`, unescaped, into w (end - cursor - escapes bytes); the
 * cursor moves past the closing quote. */
static void take_rle_string(Cursor *c, const char *end, Py_ssize_t escapes, char *w)
{
    if (escapes == 0) {
        memcpy(w, c->p, (size_t)(end - c->p));
    }
    else {
        for (const char *r = c->p; r < end; r++)
            *w++ = *r == '\\' ? *++r : *r;
    }
    c->p = end + 1;
}

/* A compressed RLE string as a new str; NULL (no Python error set) for anything
 * rle_string_end refuses, so that the general path names the record. */
static PyObject *parse_rle_counts(Cursor *c)
{
    Py_ssize_t escapes;
    const char *end = rle_string_end(c, &escapes);
    if (end == NULL)
        return NULL;
    PyObject *out = PyUnicode_New(end - c->p - escapes, 127);
    if (out == NULL) {
        PyErr_Clear();
        return NULL;
    }
    take_rle_string(c, end, escapes, (char *)PyUnicode_DATA(out));
    return out;
}

static int skip_value(Cursor *c, int depth);

/* A string of printable ASCII and the simple escapes, skipped. Anything else (\\u escapes,
 * other bytes, which orjson and msgspec check for valid UTF-8) is refused: not worth a decoder. */
static int skip_string(Cursor *c)
{
    if (!expect(c, '"'))
        return 0;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"')
            return 1;
        if (ch < 0x20 || ch >= 0x80)
            return 0;
        if (ch == '\\') {
            if (c->p >= c->end || !strchr("\"\\/bfnrt", *c->p) || *c->p == 0)
                return 0;
            c->p++;
        }
    }
    return 0;
}

static int skip_literal(Cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* Any JSON value, checked for structure (strings, numbers, literals, nesting) and skipped. */
static int skip_value(Cursor *c, int depth)
{
    if (depth > 64)
        return 0;
    int ch = peek(c);
    double v;
    int integral;
    int64_t iv;
    switch (ch) {
    case '"':
        return skip_string(c);
    case 't':
        return skip_literal(c, "true");
    case 'f':
        return skip_literal(c, "false");
    case 'n':
        return skip_literal(c, "null");
    case '[':
        c->p++;
        if (expect(c, ']'))
            return 1;
        do {
            if (!skip_value(c, depth + 1))
                return 0;
        } while (expect(c, ','));
        return expect(c, ']');
    case '{':
        c->p++;
        if (expect(c, '}'))
            return 1;
        do {
            if (!skip_string(c) || !expect(c, ':') || !skip_value(c, depth + 1))
                return 0;
        } while (expect(c, ','));
        return expect(c, '}');
    default:
        return parse_number(c, &v, &integral, &iv);
    }
}

/* ---------------------------------------------------------------- growable columns */

/* A column written straight into the bytearray handed back: sized from a bound on the
 * record count up front (at most 64k records; doubled as it fills), trimmed to what was
 * written at the end. */
typedef struct {
    PyObject *array;
    char *mem; /* else: written at mem (a fixed slice of another's array; array NULL) */
    size_t used, cap;
    int fixed; /* filled without the GIL: never resized, a push past cap fails */
} Column;

static int column_init(Column *col, size_t cap)
{
    col->used = 0;
    col->fixed = 0;
    col->mem = NULL;
    col->cap = cap ? cap : 64;
    col->array = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)col->cap);
    return col->array != NULL;
}

/* Room for `size` more bytes at the column's end, taken (used grows): where to write them, or
 * NULL when a fixed column is full or memory is short (no Python error set). */
HOT char *column_room(Column *col, size_t size)
{
    if (col->used + size > col->cap) {
        if (col->fixed)
            return NULL;
        size_t cap = col->cap * 2;
        while (cap < col->used + size)
            cap *= 2;
        if (PyByteArray_Resize(col->array, (Py_ssize_t)cap) < 0) {
            PyErr_Clear();
            return NULL;
        }
        col->cap = cap;
    }
    char *at = (col->mem ? col->mem : PyByteArray_AS_STRING(col->array)) + col->used;
    col->used += size;
    return at;
}

HOT int column_push(Column *col, const void *item, size_t size)
{
    char *at = column_room(col, size);
    if (at == NULL)
        return 0;
    memcpy(at, item, size);
    return 1;
}

/* The column's bytearray, trimmed; the column lets go of it. */
static PyObject *column_release(Column *col)
{
    PyObject *array = col->array;
    col->array = NULL;
    if (PyByteArray_Resize(array, (Py_ssize_t)col->used) < 0) {
        Py_DECREF(array);
        return NULL;
    }
    return array;
}

static int key_is(const char *s, Py_ssize_t n, const char *name)
{
    return (size_t)n == strlen(name) && memcmp(s, name, (size_t)n) == 0;
}

/* An integer of at most 18 digits (what parse_number calls integral), read on its own: the
 * same numbers, the same refusals (a fraction, an exponent, more digits, a bad grammar). */
HOT int parse_int_field(Cursor *c, int64_t *out)
{
    skip_ws(c);
    const char *p = c->p, *end = c->end;
    int negative = p < end && *p == '-';
    p += negative;
    if (p >= end || !IS_DIGIT(*p))
        return 0;
    uint64_t v = 0;
    if (*p == '0') {
        p++;
    }
    else {
        const char *first = p;
        while (p < end && IS_DIGIT(*p)) {
            v = v * 10 + (uint64_t)(*p - '0');
            if (++p - first > 18)
                return 0;
        }
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return 0;
    c->p = p;
    *out = negative ? -(int64_t)v : (int64_t)v;
    return 1;
}

static int parse_float_field(Cursor *c, double *out)
{
    int integral;
    int64_t iv;
    return parse_number(c, out, &integral, &iv);
}

/* [x, y, w, h]: four numbers; with `reals`, an integer of 19 digits or more is refused, as
 * parse_real refuses it (the ground truth's float64 columns), else taken (results' boxes). */
static int parse_box(Cursor *c, double box[4], int reals)
{
    if (!expect(c, '['))
        return 0;
    for (int k = 0; k < 4; k++) {
        int kind;
        int64_t iv;
        if ((k && !expect(c, ',')) || !parse_number_kind(c, &box[k], &kind, &iv) ||
            (reals && kind == NUMBER_LONG_INTEGER))
            return 0;
    }
    return expect(c, ']');
}

/* check_counts' verdicts (see RLE validation below) */
enum { RLE_OK, RLE_CHAR, RLE_CUT, RLE_LONG, RLE_NEGATIVE, RLE_OVER, RLE_SHORT };
static int check_counts(const unsigned char *u, Py_ssize_t len, int64_t total);

enum { HAVE_IMAGE = 1, HAVE_CATEGORY = 2, HAVE_SCORE = 4, HAVE_BOX = 8, HAVE_SEGMENTATION = 16 };

/* A compressed RLE string's characters, unescaped, appended to `chars` (filled without the GIL
 * by a part: no Python object); parse_rle_counts' rules. */
static int parse_rle_chars(Cursor *c, Column *chars)
{
    Py_ssize_t escapes;
    const char *end = rle_string_end(c, &escapes);
    char *w = end ? column_room(chars, (size_t)(end - c->p - escapes)) : NULL;
    if (w == NULL)
        return 0;
    take_rle_string(c, end, escapes, w);
    return 1;
}

/* {"size": [h, w], "counts": ...}: the size, and the counts: a string as a new str in *counts
 * (unescaped only), or its characters appended to `chars` when given (*counts staying NULL);
 * with `runs` (else refused), a list of integers >= 0 appended to it, *n_runs of them, *counts
 * staying NULL. */
static int parse_rle(Cursor *c, int64_t size[2], PyObject **counts, Column *runs, int64_t *n_runs,
                     Column *chars)
{
    int have = 0;
    *counts = NULL;
    if (!expect(c, '{'))
        return 0;
    do {
        const char *key;
        Py_ssize_t n;
        if (!parse_plain_string(c, &key, &n) || !expect(c, ':'))
            goto fail;
        if (key_is(key, n, "size") && !(have & 1)) {
            if (!expect(c, '[') || !parse_int_field(c, &size[0]) || !expect(c, ',') ||
                !parse_int_field(c, &size[1]) || !expect(c, ']'))
                goto fail;
            have |= 1;
        }
        else if (key_is(key, n, "counts") && !(have & 2)) {
            if (runs != NULL && peek(c) == '[') {
                c->p++;
                if (!expect(c, ']')) {
                    do {
                        int64_t v;
                        if (!parse_int_field(c, &v) || v < 0 || !column_push(runs, &v, 8))
                            goto fail;
                        ++*n_runs;
                    } while (expect(c, ','));
                    if (!expect(c, ']'))
                        goto fail;
                }
            }
            else if (chars != NULL ? !parse_rle_chars(c, chars) : (*counts = parse_rle_counts(c)) == NULL) {
                goto fail;
            }
            have |= 2;
        }
        else {
            goto fail;
        }
    } while (expect(c, ','));
    if (!expect(c, '}') || have != 3)
        goto fail;
    return 1;
fail:
    Py_CLEAR(*counts);
    return 0;
}

typedef struct {
    Column image, category, score, box, size;
    /* mask results: every RLE's characters, one string after another, and where each starts
     * and ends (int64): the columns of a detrecall.types.RleMasks, no Python object per mask */
    Column chars, starts, ends;
    Py_ssize_t n, with_box;
    Py_ssize_t bad_rle; /* the first mask result whose RLE check_counts refuses, else -1 */
    int bad_code;
    int broken; /* a failure that is no JSON's (memory): never retried with more of the file */
} Results;

static void results_free(Results *r)
{
    Py_CLEAR(r->image.array);
    Py_CLEAR(r->category.array);
    Py_CLEAR(r->score.array);
    Py_CLEAR(r->box.array);
    Py_CLEAR(r->size.array);
    Py_CLEAR(r->chars.array);
    Py_CLEAR(r->starts.array);
    Py_CLEAR(r->ends.array);
}

/* `bytes`: the file's size, when known (else 0): the columns start sized for a record every
 * 24 bytes (the shortest plain box result is longer), at most 64k records, and grow by
 * doubling; a mask's characters for the file's bytes (never more: pages not written are never
 * touched). */
static int results_init(Results *r, size_t bytes, int masks)
{
    size_t bound = bytes ? bytes / 24 + 1 : 65536;
    if (bound > 65536)
        bound = 65536;
    r->bad_rle = -1;
    return column_init(&r->image, 8 * bound) && column_init(&r->category, 8 * bound) &&
           column_init(&r->score, 8 * bound) && column_init(&r->box, 32 * bound) &&
           column_init(&r->size, masks ? 16 * bound : 0) && column_init(&r->chars, masks ? bytes : 0) &&
           column_init(&r->starts, masks ? 8 * bound : 0) && column_init(&r->ends, masks ? 8 * bound : 0);
}

/* One record; masks: segmentation is a compressed RLE and bbox optional. */
static int parse_record(Cursor *c, Results *r, int masks)
{
    int have = 0;
    int64_t image = 0, category = 0, size[2] = {0, 0};
    double score = 0, box[4] = {0, 0, 0, 0};
    PyObject *counts = NULL; /* stays NULL: the characters go to r->chars */
    const size_t chars_at = r->chars.used; /* a record read again drops what it appended */
    if (!expect(c, '{'))
        return 0;
    if (peek(c) == '}')
        return 0;
    do {
        const char *key;
        Py_ssize_t n;
        int bit = 0, ok;
        if (!parse_plain_string(c, &key, &n) || !expect(c, ':'))
            goto fail;
        if (key_is(key, n, "image_id"))
            bit = HAVE_IMAGE;
        else if (key_is(key, n, "category_id"))
            bit = HAVE_CATEGORY;
        else if (key_is(key, n, "score"))
            bit = HAVE_SCORE;
        else if (key_is(key, n, "bbox"))
            bit = HAVE_BOX;
        else if (masks && key_is(key, n, "segmentation"))
            bit = HAVE_SEGMENTATION;
        if (have & bit) /* a repeated key: the general path decides */
            goto fail;
        switch (bit) {
        case HAVE_IMAGE:
            ok = parse_int_field(c, &image);
            break;
        case HAVE_CATEGORY:
            ok = parse_int_field(c, &category);
            break;
        case HAVE_SCORE:
            ok = parse_float_field(c, &score);
            break;
        case HAVE_BOX:
            ok = parse_box(c, box, 0);
            break;
        case HAVE_SEGMENTATION:
            ok = parse_rle(c, size, &counts, NULL, NULL, &r->chars);
            break;
        default:
            ok = skip_value(c, 0);
        }
        if (!ok)
            goto fail;
        have |= bit;
    } while (expect(c, ','));
    if (!expect(c, '}'))
        goto fail;
    int need = HAVE_IMAGE | HAVE_CATEGORY | HAVE_SCORE | (masks ? HAVE_SEGMENTATION : HAVE_BOX);
    if ((have & need) != need)
        goto fail;
    if (masks) {
        /* a box on some results and not others is for the general path (pycocotools' rule) */
        int with_box = (have & HAVE_BOX) != 0;
        if (r->n > 0 && (r->with_box > 0) != with_box)
            goto fail;
        /* what follows fails only for want of memory: not a record to read again */
        r->broken = 1;
        if (!column_push(&r->size, size, sizeof(size)))
            goto fail;
        const unsigned char *rle_chars =
            (unsigned char *)(r->chars.mem ? r->chars.mem : PyByteArray_AS_STRING(r->chars.array)) + chars_at;
        const Py_ssize_t rle_len = (Py_ssize_t)(r->chars.used - chars_at);
        if (r->bad_rle < 0) {
            /* a size check_counts cannot take is the caller's to name (it checks sizes first) */
            int code = size[0] <= 0 || size[1] <= 0 || size[0] > INT64_MAX / size[1]
                           ? RLE_SHORT
                           : check_counts(rle_chars, rle_len, size[0] * size[1]);
            if (code != RLE_OK) {
                r->bad_rle = r->n;
                r->bad_code = code;
            }
        }
        const int64_t start = (int64_t)chars_at, end = (int64_t)r->chars.used;
        if (!column_push(&r->starts, &start, 8) || !column_push(&r->ends, &end, 8))
            goto fail;
        r->with_box += with_box;
    }
    r->broken = 1;
    if (!column_push(&r->image, &image, 8) || !column_push(&r->category, &category, 8) ||
        !column_push(&r->score, &score, 8) || !column_push(&r->box, box, sizeof(box)))
        goto fail;
    r->broken = 0;
    r->n++;
    return 1;
fail:
    Py_XDECREF(counts);
    r->chars.used = chars_at;
    return 0;
}

/* The text a results parse reads: a buffer handed in whole (no file), or a window onto a
 * file read `step` bytes at a time, so that the file is never held whole: [buf, buf + len)
 * holds the file from offset `base` on. A file is a Python object with readinto, or a
 * descriptor read with pread (fd >= 0: no Python call, so a part can be parsed without the
 * GIL; a failure is left in `error` for the caller). */
typedef struct {
    PyObject *file;
    int fd;
    long long pos; /* fd: the offset of the next read */
    long long base;
    char *buf; /* owned (malloc) when reading a file */
    size_t len, cap, step;
    int eof;
    int error; /* fd: the errno of a failed read, or ENOMEM */
} Window;

/* Drops the window's text before `*mark`, reads on until `step` bytes more are held (or the
 * file ends), and moves the cursor and `*mark` (both in [mark, len]) with the text. 1, or 0
 * with a Python error set (fd: with `error` set instead). */
static int window_more(Window *w, Cursor *c, const char **mark)
{
    size_t from = (size_t)(*mark - w->buf), at = (size_t)(c->p - w->buf);
    if (from < w->len)
        memmove(w->buf, w->buf + from, w->len - from);
    w->len -= from;
    w->base += (long long)from;
    size_t want = w->len + w->step;
    if (want > w->cap) {
        char *grown = realloc(w->buf, want);
        if (grown == NULL) {
            if (w->fd >= 0)
                w->error = ENOMEM;
            else
                PyErr_NoMemory();
            return 0;
        }
        w->buf = grown;
        w->cap = want;
    }
    while (!w->eof && w->len < want) {
        Py_ssize_t n;
        if (w->fd >= 0) {
            n = pread(w->fd, w->buf + w->len, want - w->len, (off_t)w->pos);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                w->error = errno;
                return 0;
            }
        }
        else {
            PyObject *view =
                PyMemoryView_FromMemory(w->buf + w->len, (Py_ssize_t)(want - w->len), PyBUF_WRITE);
            if (view == NULL)
                return 0;
            PyObject *got = PyObject_CallMethod(w->file, "readinto", "O", view);
            Py_DECREF(view);
            if (got == NULL)
                return 0;
            n = got == Py_None ? -1 : PyLong_AsSsize_t(got);
            Py_DECREF(got);
            if (n < 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_OSError, "readinto read nothing from a blocking file");
                return 0;
            }
        }
        if (n == 0)
            w->eof = 1;
        w->len += (size_t)n;
        w->pos += n;
    }
    *mark = w->buf;
    c->p = w->buf + (at - from);
    c->end = w->buf + w->len;
    return 1;
}

/* Whitespace skipped, reading on while the window ends in it: then the next character (or the
 * end of the text) is in the window. 1, or 0 on a failure (see window_more). */
static int window_peek(Window *w, Cursor *c)
{
    skip_ws(c);
    while (c->p == c->end && !w->eof) {
        const char *mark = c->p;
        if (!window_more(w, c, &mark))
            return 0;
        skip_ws(c);
    }
    return 1;
}

/* The records of the text, into r: 1 when it is a plain results list, 0 when it is not (the
 * caller's general path decides), -1 on a failure (see window_more). A record cut by the
 * window's end fails to parse: it is read again, from its start, with `step` bytes more (a
 * record that fails for what it holds does so again, until the file's end).
 * A part of the list (parse_split): `first` when it holds the list's start; `stop_at` >= 0 the
 * file offset of the next part's first record, where this part ends: 1 and the offset of the
 * record start it reached at or past it in *stopped (equal when the split was between records). */
static int parse_window(Window *w, Results *r, int masks, int first, long long stop_at, long long *stopped)
{
    Cursor c = {w->buf, w->buf + w->len, w->fd >= 0};
    if (!window_peek(w, &c))
        return -1;
    if (first) {
        if (!expect(&c, '['))
            return 0;
        if (!window_peek(w, &c))
            return -1;
    }
    if (!first || !expect(&c, ']')) {
        for (;;) {
            const char *start = c.p;
            if (!parse_record(&c, r, masks)) {
                if (w->eof || r->broken)
                    return 0;
                if (!window_more(w, &c, &start))
                    return -1;
                c.p = start;
                continue;
            }
            if (!window_peek(w, &c))
                return -1;
            if (expect(&c, ',')) {
                if (stop_at >= 0) {
                    if (!window_peek(w, &c))
                        return -1;
                    long long at = w->base + (long long)(c.p - w->buf);
                    if (at >= stop_at) {
                        *stopped = at;
                        return 1;
                    }
                }
                continue;
            }
            if (!expect(&c, ']'))
                return 0;
            break;
        }
    }
    if (stop_at >= 0) /* the list ended before the next part's start: no split there */
        return 0;
    if (!window_peek(w, &c))
        return -1;
    return c.p == c.end;
}

/* The columns of one results parse as the tuple handed back. */
static PyObject *results_tuple(Results *r, int masks)
{
    PyObject *out = NULL;
    PyObject *image = column_release(&r->image), *category = column_release(&r->category),
             *score = column_release(&r->score), *box = column_release(&r->box),
             *size = column_release(&r->size), *bad = NULL, *chars = NULL, *starts = NULL, *ends = NULL;
    if (masks) {
        bad = r->bad_rle < 0 ? Py_NewRef(Py_None) : Py_BuildValue("(ni)", r->bad_rle, r->bad_code);
        chars = column_release(&r->chars);
        starts = column_release(&r->starts);
        ends = column_release(&r->ends);
    }
    if (image && category && score && box && size && (!masks || (bad && chars && starts && ends)))
        out = masks ? Py_BuildValue("(nOOOOOOOOOO)", r->n, image, category, score, size, box, chars, starts,
                                    ends, r->with_box == r->n ? Py_True : Py_False, bad)
                    : Py_BuildValue("(nOOOO)", r->n, image, category, score, box);
    Py_XDECREF(chars);
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    Py_XDECREF(image);
    Py_XDECREF(category);
    Py_XDECREF(score);
    Py_XDECREF(box);
    Py_XDECREF(size);
    Py_XDECREF(bad);
    return out;
}

/* ---------------------------------------------------------------- results on threads */

#define MAX_PARTS 64
#define PART_BYTES (Py_ssize_t)(4 << 20) /* the least a part is given */
#define SHORTEST_BOX_RECORD 56 /* {"image_id":0,"category_id":0,"score":0,"bbox":[0,0,0,0]}, */

typedef struct {
    Window w;
    Results r;
    int first, masks;
    long long start, stop_at, stopped;
    int status;
} Part;

static void *part_run(void *arg)
{
    Part *part = arg;
    part->status = parse_window(&part->w, &part->r, part->masks, part->first, part->stop_at, &part->stopped);
    return NULL;
}

/* The offset of a record start at or after `from`: the '{' of the first "}" "," "{" (whitespace
 * between) in the next 64 KiB; -1 if none (or the read failed). A guess: inside a string it
 * may be none, which the part before tells (it must reach it as a record start). */
static long long record_start_after(int fd, long long from)
{
    char buf[1 << 16];
    Py_ssize_t n;
    do
        n = pread(fd, buf, sizeof(buf), (off_t)from);
    while (n < 0 && errno == EINTR);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (buf[i] != '}')
            continue;
        Py_ssize_t j = i + 1;
        while (j < n && (buf[j] == ' ' || buf[j] == '\n' || buf[j] == '\r' || buf[j] == '\t'))
            j++;
        if (j >= n || buf[j] != ',')
            continue;
        j++;
        while (j < n && (buf[j] == ' ' || buf[j] == '\n' || buf[j] == '\r' || buf[j] == '\t'))
            j++;
        if (j < n && buf[j] == '{')
            return from + j;
    }
    return -1;
}

static void part_free(Part *part)
{
    results_free(&part->r);
    free(part->w.buf);
}

/* Box or mask results of the file at descriptor fd (`bytes` long) parsed in up to `threads`
 * parts at once, each of its own byte range, without the GIL (the parts' columns joined after):
 * the same tuple as one parse, Py_None when
 * the file is not of the plain form (or not where the split guessed), NULL on a Python error.
 * A part ends at the record start where the next begins: found by a scan for "},{" (a guess)
 * and proven by the part before reaching it as a record boundary, the first part being right
 * from the file's start on. A failure anywhere gives Py_None: the caller parses the file whole. */
static PyObject *parse_split(int fd, long long bytes, int threads, size_t step, long long least, int masks)
{
    Part parts[MAX_PARTS];
    int k = 0;
    long long starts[MAX_PARTS + 1];
    starts[k++] = 0;
    for (int t = 1; t < threads && t < MAX_PARTS; t++) {
        long long at = record_start_after(fd, bytes / threads * t);
        if (at > starts[k - 1] + least / 2)
            starts[k++] = at;
    }
    if (k < 2)
        return Py_NewRef(Py_None);
    starts[k] = bytes;
    memset(parts, 0, sizeof(Part) * (size_t)k);
    PyObject *out = NULL;
    int made = 0;
    /* mask results: one array of the file's size for every part's characters, part t's written
     * from the file offset where it starts (its strings are shorter than its records, all
     * before the next part's start), moved down after the part before's in place: no second
     * array of them, and no characters between the strings */
    PyObject *shared = masks ? PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)bytes) : NULL;
    if (masks && shared == NULL)
        return NULL;
    for (; made < k; made++) {
        Part *part = &parts[made];
        part->w.fd = fd;
        part->w.pos = part->w.base = part->start = starts[made];
        part->w.step = step;
        part->first = made == 0;
        part->stop_at = made + 1 < k ? starts[made + 1] : -1;
        /* capacity for every record the part can hold, never touched beyond what it writes */
        size_t records = (size_t)(starts[made + 1] - starts[made] + (long long)step) / SHORTEST_BOX_RECORD + 2;
        part->r.bad_rle = -1;
        part->masks = masks;
        if (!column_init(&part->r.image, 8 * records) || !column_init(&part->r.category, 8 * records) ||
            !column_init(&part->r.score, 8 * records) || !column_init(&part->r.box, 32 * records) ||
            !column_init(&part->r.size, masks ? 16 * records : 0) ||
            !column_init(&part->r.starts, masks ? 8 * records : 0) ||
            !column_init(&part->r.ends, masks ? 8 * records : 0)) {
            made++;
            goto done;
        }
        if (masks) {
            part->r.chars.mem = PyByteArray_AS_STRING(shared) + starts[made];
            part->r.chars.cap = (size_t)(starts[made + 1] - starts[made]);
        }
        part->r.image.fixed = part->r.category.fixed = part->r.score.fixed = part->r.box.fixed = 1;
        part->r.size.fixed = part->r.chars.fixed = part->r.starts.fixed = part->r.ends.fixed = 1;
    }
    pthread_t ids[MAX_PARTS];
    int started[MAX_PARTS] = {0};
    Py_BEGIN_ALLOW_THREADS;
    for (int t = 1; t < k; t++)
        started[t] = pthread_create(&ids[t], NULL, part_run, &parts[t]) == 0;
    part_run(&parts[0]);
    for (int t = 1; t < k; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else
            part_run(&parts[t]);
    }
    Py_END_ALLOW_THREADS;
    for (int t = 0; t < k; t++) {
        if (parts[t].status != 1 || (t + 1 < k && parts[t].stopped != starts[t + 1])) {
            out = Py_NewRef(Py_None);
            goto done;
        }
    }
    /* mask results with a box on some and not others are for the general path */
    for (int t = 1; masks && t < k; t++)
        if (parts[t].r.n && parts[0].r.n && (parts[t].r.with_box > 0) != (parts[0].r.with_box > 0)) {
            out = Py_NewRef(Py_None);
            goto done;
        }
    /* the parts' columns, joined: part 0's grown to the whole, the others copied in after it
     * (each part's freed once copied); a part's characters moved down to follow the part
     * before's, and its string starts and ends by where they now begin */
    Results *all = &parts[0].r;
    Column *columns[5] = {&all->image, &all->category, &all->score, &all->box, &all->size};
    size_t chars = masks ? parts[0].r.chars.used : 0; /* the characters so far, at the start */
    for (int t = 1; t < k; t++) {
        Results *r = &parts[t].r;
        Column *theirs[5] = {&r->image, &r->category, &r->score, &r->box, &r->size};
        const int64_t shift = (int64_t)chars;
        if (masks && r->chars.used) {
            memmove(PyByteArray_AS_STRING(shared) + chars, r->chars.mem, r->chars.used);
            chars += r->chars.used;
        }
        for (int j = 0; j < (masks ? 5 : 4); j++) {
            columns[j]->fixed = 0;
            if (theirs[j]->used && !column_push(columns[j], PyByteArray_AS_STRING(theirs[j]->array), theirs[j]->used)) {
                PyErr_NoMemory();
                goto done;
            }
            Py_CLEAR(theirs[j]->array);
        }
        if (masks) {
            Column *mine[2] = {&all->starts, &all->ends}, *from[2] = {&r->starts, &r->ends};
            for (int j = 0; j < 2; j++) {
                mine[j]->fixed = 0;
                int64_t *to = (int64_t *)column_room(mine[j], (size_t)r->n * 8);
                if (to == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                const int64_t *at = (const int64_t *)PyByteArray_AS_STRING(from[j]->array);
                for (Py_ssize_t i = 0; i < r->n; i++)
                    to[i] = at[i] + shift;
                Py_CLEAR(from[j]->array);
            }
            if (all->bad_rle < 0 && r->bad_rle >= 0) {
                all->bad_rle = all->n + r->bad_rle;
                all->bad_code = r->bad_code;
            }
            all->with_box += r->with_box;
        }
        all->n += r->n;
    }
    if (masks) { /* the characters: the shared array, up to the last string */
        all->chars.array = shared;
        all->chars.mem = NULL;
        all->chars.used = chars;
        shared = NULL;
    }
    out = results_tuple(all, masks);
done:
    for (int t = 0; t < made; t++)
        part_free(&parts[t]);
    Py_XDECREF(shared);
    return out;
}

/* step: the window's growth when reading a file (the tests' small steps cut every record);
 * threads: results of a file with a descriptor, of 2 x part_bytes or more, parsed in parts
 * of at least about part_bytes each */
static PyObject *parse_results(PyObject *arg, Py_ssize_t step, int threads, Py_ssize_t least, int masks)
{
    Py_buffer view;
    Window w;
    memset(&w, 0, sizeof(w));
    w.fd = -1;
    if (PyObject_CheckBuffer(arg)) {
        if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        w.buf = view.buf;
        w.len = w.cap = (size_t)view.len;
        w.eof = 1;
    }
    else if (!PyObject_HasAttrString(arg, "readinto")) {
        PyErr_Format(PyExc_TypeError, "source must be a buffer or a binary file, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    else if (step <= 0 || threads <= 0 || least <= 0) {
        PyErr_SetString(PyExc_ValueError, "step, threads and part_bytes must be positive");
        return NULL;
    }
    else {
        w.file = arg;
        w.step = (size_t)step;
    }
    Results r;
    memset(&r, 0, sizeof(r));
    PyObject *out = NULL;
    /* a file's size, for the columns' first capacity */
    size_t bytes = w.len;
    if (w.file) {
        PyObject *size = PyObject_CallMethod(w.file, "seek", "ii", 0, 2);
        PyObject *back = size ? PyObject_CallMethod(w.file, "seek", "ii", 0, 0) : NULL;
        if (back == NULL) {
            Py_XDECREF(size);
            return NULL;
        }
        Py_DECREF(back);
        bytes = (size_t)PyLong_AsSize_t(size);
        Py_DECREF(size);
        if (PyErr_Occurred())
            return NULL;
        if (threads > 1 && bytes >= 2 * (size_t)least) {
            int fd = PyObject_AsFileDescriptor(w.file);
            if (fd < 0)
                PyErr_Clear();
            else {
                PyObject *split = parse_split(fd, (long long)bytes, threads, w.step, least, masks);
                if (split != Py_None)
                    return split;
                Py_DECREF(split);
            }
        }
    }
    if (!results_init(&r, bytes, masks))
        goto done;
    long long unused;
    int ok = parse_window(&w, &r, masks, 1, -1, &unused);
    if (ok < 0)
        goto done;
    out = ok ? results_tuple(&r, masks) : Py_NewRef(Py_None);
done:
    results_free(&r);
    if (w.file)
        free(w.buf);
    else
        PyBuffer_Release(&view);
    return out;
}

#define RESULTS_STEP (Py_ssize_t)(8 << 20)

static PyObject *results_entry(PyObject *args, PyObject *kwargs, int masks)
{
    static char *names[] = {"source", "step", "threads", "part_bytes", NULL};
    PyObject *source;
    Py_ssize_t step = RESULTS_STEP, least = PART_BYTES;
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|nin", names, &source, &step, &threads, &least))
        return NULL;
    return parse_results(source, step, threads, least, masks);
}

static PyObject *box_results(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    return results_entry(args, kwargs, 0);
}

static PyObject *mask_results(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    return results_entry(args, kwargs, 1);
}

/* ---------------------------------------------------------------- COCO ground truth */

/* The end of the string at p (its opening quote), escapes stepped over, the content not
 * checked; NULL when the text ends first. */
static const char *string_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\') {
            if (end - p < 2)
                return NULL;
            p++;
        }
    }
    return NULL;
}

/* One value stepped over loosely: a string, an array or object by its brackets (strings in it
 * stepped over), a scalar up to the next delimiter. Its content is not checked: the caller hands
 * these bytes to a JSON parser afterwards, which does. On valid JSON the end found is the
 * value's own (a left-to-right lexer that reads strings and brackets as JSON does). */
static int skip_loosely(Cursor *c)
{
    skip_ws(c);
    const char *p = c->p, *end = c->end;
    if (p >= end)
        return 0;
    if (*p == '"') {
        if ((p = string_end(p, end)) == NULL)
            return 0;
        c->p = p;
        return 1;
    }
    if (*p == '[' || *p == '{') {
        size_t depth = 0;
        while (p < end) {
            char ch = *p;
            if (ch == '"') {
                if ((p = string_end(p, end)) == NULL)
                    return 0;
                continue;
            }
            if (ch == '[' || ch == '{') {
                depth++;
            }
            else if (ch == ']' || ch == '}') {
                if (--depth == 0) {
                    c->p = p + 1;
                    return 1;
                }
            }
            p++;
        }
        return 0;
    }
    const char *start = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ':' && *p != '"' && *p != '[' &&
           *p != '{' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
        p++;
    if (p == start)
        return 0;
    c->p = p;
    return 1;
}

/* A number for a float64 column: as parse_number, but an integer of 19 digits or more is
 * refused (orjson reads it as an int or a float by its size, and numpy converts a column mixing
 * those in its own ways: the general path decides). */
HOT int parse_real(Cursor *c, double *out)
{
    int kind;
    int64_t iv;
    return parse_number_kind(c, out, &kind, &iv) && kind != NUMBER_LONG_INTEGER;
}

/* A 0/1 flag as the general path takes it: the integers 0 and 1, true and false. */
static int parse_flag(Cursor *c, unsigned char *out)
{
    int ch = peek(c);
    if (ch == 't' || ch == 'f') {
        *out = ch == 't';
        return skip_literal(c, ch == 't' ? "true" : "false");
    }
    int64_t v;
    if (!parse_int_field(c, &v) || (v != 0 && v != 1))
        return 0;
    *out = (unsigned char)v;
    return 1;
}

enum {
    GT_ID = 1,
    GT_IMAGE = 2,
    GT_CATEGORY = 4,
    GT_BOX = 8,
    GT_AREA = 16,
    GT_CROWD = 32,
    GT_IGNORE = 64,
    GT_OTHER = 128,
    GT_SEGMENTATION = 256 /* read when masks are asked, else one of the others */
};
enum { PRESENT_ID = 1, PRESENT_AREA = 2, PRESENT_BOX = 4 }; /* bits of the `present` column */
enum { SEG_POLYGONS, SEG_COMPRESSED, SEG_UNCOMPRESSED };     /* the `kind` column's values */

typedef struct {
    Column id, image, category, box, area, crowd, ignore, present;
    /* masks only: each annotation's segmentation kind and RLE size (h, w; 0, 0 for polygons);
     * the polygons' coordinates (float64), each part's coordinate count and each polygon
     * annotation's part count; the uncompressed RLEs' runs and each one's run count (int64);
     * the compressed RLEs as {"size": [h, w], "counts": str} */
    Column kind, size, coords, part_len, parts, runs, run_len;
    PyObject *rles, *key_size, *key_counts;
    int masks;
    Py_ssize_t n;
} Truth;

static void truth_free(Truth *t)
{
    Py_CLEAR(t->id.array);
    Py_CLEAR(t->image.array);
    Py_CLEAR(t->category.array);
    Py_CLEAR(t->box.array);
    Py_CLEAR(t->area.array);
    Py_CLEAR(t->crowd.array);
    Py_CLEAR(t->ignore.array);
    Py_CLEAR(t->present.array);
    Py_CLEAR(t->kind.array);
    Py_CLEAR(t->size.array);
    Py_CLEAR(t->coords.array);
    Py_CLEAR(t->part_len.array);
    Py_CLEAR(t->parts.array);
    Py_CLEAR(t->runs.array);
    Py_CLEAR(t->run_len.array);
    Py_CLEAR(t->rles);
    Py_CLEAR(t->key_size);
    Py_CLEAR(t->key_counts);
}

static int truth_init(Truth *t, int masks)
{
    const size_t cap = 65536; /* records at first; the columns double as they fill */
    t->masks = masks;
    return column_init(&t->id, 8 * cap) && column_init(&t->image, 8 * cap) &&
           column_init(&t->category, 8 * cap) && column_init(&t->box, 32 * cap) &&
           column_init(&t->area, 8 * cap) && column_init(&t->crowd, cap) &&
           column_init(&t->ignore, cap) && column_init(&t->present, cap) &&
           (!masks || (column_init(&t->kind, cap) && column_init(&t->size, 16 * cap) &&
                       column_init(&t->coords, 64 * cap) && column_init(&t->part_len, 8 * cap) &&
                       column_init(&t->parts, 8 * cap) && column_init(&t->runs, 8 * 4096) &&
                       column_init(&t->run_len, 8 * 1024) && (t->rles = PyList_New(0)) != NULL &&
                       (t->key_size = PyUnicode_InternFromString("size")) != NULL &&
                       (t->key_counts = PyUnicode_InternFromString("counts")) != NULL));
}

/* Which field the key of an annotation is (GT_OTHER: one the reader does not read). */
static int annotation_key(const char *key, Py_ssize_t n, int read_ignore, int masks)
{
    switch (n) {
    case 2:
        return memcmp(key, "id", 2) == 0 ? GT_ID : GT_OTHER;
    case 4:
        return memcmp(key, "bbox", 4) == 0 ? GT_BOX : memcmp(key, "area", 4) == 0 ? GT_AREA : GT_OTHER;
    case 6:
        return read_ignore && memcmp(key, "ignore", 6) == 0 ? GT_IGNORE : GT_OTHER;
    case 7:
        return memcmp(key, "iscrowd", 7) == 0 ? GT_CROWD : GT_OTHER;
    case 8:
        return memcmp(key, "image_id", 8) == 0 ? GT_IMAGE : GT_OTHER;
    case 11:
        return memcmp(key, "category_id", 11) == 0 ? GT_CATEGORY : GT_OTHER;
    case 12:
        return masks && memcmp(key, "segmentation", 12) == 0 ? GT_SEGMENTATION : GT_OTHER;
    default:
        return GT_OTHER;
    }
}

#define MASK_PIXELS_MAX INT64_C(4294967295) /* masks.MAX_MASK_PIXELS: pycocotools' 32-bit runs */

/* An RLE size io.coco._check_raster_size takes: h, w >= 1, h * w < 2^32. */
static int mask_size_ok(const int64_t size[2])
{
    return size[0] >= 1 && size[1] >= 1 && size[0] <= MASK_PIXELS_MAX / size[1];
}

/* [[x1, y1, x2, y2, ...], ...]: one part or more, each an even number >= 6 of numbers (as
 * parse_real reads them), into the coordinate and part columns. What io.coco._check_polygons
 * names (no part, a short or odd part, a non-number) is 0; the vertices' bounds are the
 * rasterizer's (_raster.flat_polygon_rles: they need the image size). */
static int parse_polygons(Cursor *c, Truth *t)
{
    int64_t parts = 0;
    if (!expect(c, '['))
        return 0;
    do {
        int64_t n = 0;
        if (!expect(c, '['))
            return 0;
        do {
            double v;
            if (!parse_real(c, &v) || !column_push(&t->coords, &v, 8))
                return 0;
            n++;
        } while (expect(c, ','));
        if (!expect(c, ']') || n < 6 || n % 2 || !column_push(&t->part_len, &n, 8))
            return 0;
        parts++;
    } while (expect(c, ','));
    return expect(c, ']') && column_push(&t->parts, &parts, 8);
}

/* {"size": [h, w], "counts": ...} and nothing else, the size one io.coco._check_raster_size
 * takes: counts a compressed string (parse_rle_counts') whose runs check_counts takes, appended to
 * t->rles as {"size": [h, w], "counts": str} (the general path's dict, as parsed), or a list of
 * integer runs >= 0 adding up to h*w, into the runs columns. Anything else is 0. */
static int parse_gt_rle(Cursor *c, Truth *t, unsigned char *kind, int64_t size[2])
{
    PyObject *counts = NULL, *rle = NULL;
    size_t first_run = t->runs.used;
    int64_t runs = 0;
    if (!parse_rle(c, size, &counts, &t->runs, &runs, NULL) || !mask_size_ok(size))
        goto fail;
    *kind = counts != NULL ? SEG_COMPRESSED : SEG_UNCOMPRESSED;
    int64_t total = size[0] * size[1];
    if (*kind == SEG_COMPRESSED) {
        if (check_counts(PyUnicode_DATA(counts), PyUnicode_GET_LENGTH(counts), total) != RLE_OK)
            goto fail;
        PyObject *hw = Py_BuildValue("[LL]", (long long)size[0], (long long)size[1]);
        rle = PyDict_New();
        int put = hw != NULL && rle != NULL && PyDict_SetItem(rle, t->key_size, hw) == 0 &&
                  PyDict_SetItem(rle, t->key_counts, counts) == 0 && PyList_Append(t->rles, rle) == 0;
        Py_XDECREF(hw);
        if (!put) {
            PyErr_Clear();
            goto fail;
        }
        Py_DECREF(rle);
        Py_DECREF(counts);
        return 1;
    }
    const int64_t *run = (const int64_t *)(PyByteArray_AS_STRING(t->runs.array) + first_run);
    int64_t sum = 0;
    for (int64_t k = 0; k < runs; k++) {
        if (run[k] > total - sum)
            goto fail;
        sum += run[k];
    }
    if (sum != total || !column_push(&t->run_len, &runs, 8))
        goto fail;
    return 1;
fail:
    Py_XDECREF(counts);
    Py_XDECREF(rle);
    return 0;
}

/* One annotation into the columns: image_id, category_id and bbox required, id (default -1),
 * area (missing or null: w*h, computed by the caller), iscrowd and ignore (default 0) optional,
 * every other field checked as JSON and skipped (segmentation, keypoints, ...). Anything the
 * general path might read otherwise or refuse (a repeated field, a null id, a float id, a flag
 * of 2, an escaped key, a negative width, a negative area, ...) is 0. With t->masks, the
 * segmentation is required and read (parse_polygons, parse_gt_rle), and bbox is optional
 * (missing or null: the mask's box, computed by the caller). */
static int parse_annotation(Cursor *c, Truth *t, int read_ignore)
{
    int have = 0;
    int64_t id = -1, image = 0, category = 0, size[2] = {0, 0};
    double box[4] = {0, 0, 0, 0}, area = 0;
    unsigned char crowd = 0, ignore = 0, present = 0, kind = SEG_POLYGONS;
    if (!expect(c, '{') || peek(c) == '}')
        return 0;
    do {
        const char *key;
        Py_ssize_t n;
        int ok;
        if (!parse_plain_string(c, &key, &n) || !expect(c, ':'))
            return 0;
        int bit = annotation_key(key, n, read_ignore, t->masks);
        if (have & bit & ~GT_OTHER) /* a repeated field: the general path decides */
            return 0;
        switch (bit) {
        case GT_ID:
            ok = parse_int_field(c, &id);
            present |= PRESENT_ID;
            break;
        case GT_IMAGE:
            ok = parse_int_field(c, &image);
            break;
        case GT_CATEGORY:
            ok = parse_int_field(c, &category);
            break;
        case GT_BOX:
            if (t->masks && peek(c) == 'n') { /* null: as if missing */
                ok = skip_literal(c, "null");
            }
            else {
                ok = parse_box(c, box, 1);
                present |= t->masks ? PRESENT_BOX : 0;
            }
            break;
        case GT_SEGMENTATION:
            ok = peek(c) == '[' ? parse_polygons(c, t) : parse_gt_rle(c, t, &kind, size);
            break;
        case GT_AREA:
            if (peek(c) == 'n') { /* null: as if missing */
                ok = skip_literal(c, "null");
            }
            else {
                ok = parse_real(c, &area);
                present |= PRESENT_AREA;
            }
            break;
        case GT_CROWD:
            ok = parse_flag(c, &crowd);
            break;
        case GT_IGNORE:
            ok = parse_flag(c, &ignore);
            break;
        default:
            ok = skip_value(c, 0);
        }
        if (!ok)
            return 0;
        have |= bit;
    } while (expect(c, ','));
    if (!expect(c, '}'))
        return 0;
    int need = GT_IMAGE | GT_CATEGORY | (t->masks ? GT_SEGMENTATION : GT_BOX);
    if ((have & need) != need)
        return 0;
    /* what the general path refuses (io._records.check_boxes, the area check): w, h >= 0 with
     * x + w, y + h and w * h finite, an area >= 0 */
    if (!(box[2] >= 0 && box[3] >= 0 && isfinite(box[0] + box[2]) && isfinite(box[1] + box[3]) &&
          isfinite(box[2] * box[3]) && area >= 0))
        return 0;
    if (!column_push(&t->id, &id, 8) || !column_push(&t->image, &image, 8) ||
        !column_push(&t->category, &category, 8) || !column_push(&t->box, box, sizeof(box)) ||
        !column_push(&t->area, &area, 8) || !column_push(&t->crowd, &crowd, 1) ||
        !column_push(&t->ignore, &ignore, 1) || !column_push(&t->present, &present, 1) ||
        (t->masks && (!column_push(&t->kind, &kind, 1) || !column_push(&t->size, size, sizeof(size)))))
        return 0;
    t->n++;
    return 1;
}

enum { IM_ID = 1, IM_WIDTH = 2, IM_HEIGHT = 4, IM_NAME = 8, IM_OTHER = 16 };

typedef struct {
    Column id, width, height;
    PyObject *names; /* list of str, "" for a missing or null file_name */
    PyObject *empty;
    Py_ssize_t n;
} ImageTable;

static void images_free(ImageTable *t)
{
    Py_CLEAR(t->id.array);
    Py_CLEAR(t->width.array);
    Py_CLEAR(t->height.array);
    Py_CLEAR(t->names);
    Py_CLEAR(t->empty);
}

static int images_init(ImageTable *t)
{
    const size_t cap = 4096;
    t->n = 0;
    return column_init(&t->id, 8 * cap) && column_init(&t->width, 8 * cap) &&
           column_init(&t->height, 8 * cap) && (t->names = PyList_New(0)) != NULL &&
           (t->empty = PyUnicode_New(0, 0)) != NULL;
}

static int image_key(const char *key, Py_ssize_t n)
{
    if (key_is(key, n, "id"))
        return IM_ID;
    if (key_is(key, n, "width"))
        return IM_WIDTH;
    if (key_is(key, n, "height"))
        return IM_HEIGHT;
    if (key_is(key, n, "file_name"))
        return IM_NAME;
    return IM_OTHER;
}

/* A string without escapes or control characters as a new str, decoded as strict UTF-8 (which
 * refuses what orjson refuses: overlong forms, surrogates, cut sequences); NULL (no Python
 * error set) for anything else. */
static PyObject *parse_text(Cursor *c)
{
    if (!expect(c, '"'))
        return NULL;
    const char *q = c->p;
    while (q < c->end && *q != '"') {
        if (*q == '\\' || (unsigned char)*q < 0x20)
            return NULL;
        q++;
    }
    if (q >= c->end)
        return NULL;
    PyObject *text = PyUnicode_DecodeUTF8(c->p, q - c->p, NULL);
    if (text == NULL) {
        PyErr_Clear();
        return NULL;
    }
    c->p = q + 1;
    return text;
}

/* One image into the table, as io.coco._read_images reads it: id required, width and height
 * (default 0) integers >= 0, file_name a string or null (""), every other field checked as JSON
 * and skipped. Anything else (a repeated field, a float width, a numeric file_name, ...) is 0. */
static int parse_image(Cursor *c, ImageTable *t)
{
    int have = 0;
    int64_t id = 0, width = 0, height = 0;
    PyObject *name = NULL;
    if (!expect(c, '{') || peek(c) == '}')
        return 0;
    do {
        const char *key;
        Py_ssize_t n;
        int ok;
        if (!parse_plain_string(c, &key, &n) || !expect(c, ':'))
            goto fail;
        int bit = image_key(key, n);
        if (have & bit & ~IM_OTHER)
            goto fail;
        switch (bit) {
        case IM_ID:
            ok = parse_int_field(c, &id);
            break;
        case IM_WIDTH:
            ok = parse_int_field(c, &width) && width >= 0;
            break;
        case IM_HEIGHT:
            ok = parse_int_field(c, &height) && height >= 0;
            break;
        case IM_NAME:
            if (peek(c) == 'n')
                ok = skip_literal(c, "null");
            else
                ok = (name = parse_text(c)) != NULL;
            break;
        default:
            ok = skip_value(c, 0);
        }
        if (!ok)
            goto fail;
        have |= bit;
    } while (expect(c, ','));
    if (!expect(c, '}') || !(have & IM_ID))
        goto fail;
    if (!column_push(&t->id, &id, 8) || !column_push(&t->width, &width, 8) ||
        !column_push(&t->height, &height, 8) || PyList_Append(t->names, name ? name : t->empty) < 0) {
        PyErr_Clear();
        goto fail;
    }
    Py_XDECREF(name);
    t->n++;
    return 1;
fail:
    Py_XDECREF(name);
    return 0;
}

/* The "images" array at the cursor into the table; 0 (the table emptied) when one of them is
 * not of the plain form parse_image takes. */
static int parse_images(Cursor *c, ImageTable *t)
{
    int ok = expect(c, '[');
    if (ok && !expect(c, ']')) {
        do {
            ok = parse_image(c, t);
        } while (ok && expect(c, ','));
        ok = ok && expect(c, ']');
    }
    if (!ok) {
        t->n = 0;
        t->id.used = t->width.used = t->height.used = 0;
        if (PyList_SetSlice(t->names, 0, PyList_GET_SIZE(t->names), NULL) < 0)
            PyErr_Clear();
        return 0;
    }
    return 1;
}

/* ground_truth(buffer, read_ignore, masks=False) -> (n, start, end, id, image_id, category_id,
 * bbox, area, iscrowd, ignore, present, images[, segmentations]) or None.
 * A COCO instances file: a top-level object whose one "annotations" member (buffer[start:end],
 * the array) is parsed strictly into columns (bytearrays: int64 id, image_id, category_id;
 * float64 bbox (n x 4), area (0 where not present); uint8 iscrowd, ignore (0 unless
 * read_ignore), present (bit 1: the id was given, bit 2: the area was)). images: its one
 * "images" member as (start, end, id, width, height, file names) (int64 bytearrays and a list
 * of str) when every image is of the plain form (see parse_image), else None. The other members
 * (and "images" when None) are only stepped over: the caller parses the file with those
 * members cut out with its JSON parser, which checks the rest (categories, info, ...). None
 * for a form left to the general path: no or two "annotations" or "images" members, an
 * escaped top-level key, an annotation the strict parser does not take (see
 * parse_annotation), anything after the object.
 * With masks, every annotation's segmentation is read (parse_annotation), bit 3 of present is
 * the bbox given (not missing or null), and segmentations is (kind, size, coords, part_len,
 * parts, runs, run_len, rles): uint8 kind (SEG_POLYGONS 0, SEG_COMPRESSED 1, SEG_UNCOMPRESSED
 * 2), int64 size (n x 2), then in file order: float64 coords of the polygon annotations, int64
 * part_len (coordinates of each part), parts (parts of each polygon annotation), runs of the
 * uncompressed RLEs, run_len (runs of each), and rles: the compressed RLEs' dicts. */
static PyObject *ground_truth(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *obj;
    int read_ignore, masks = 0;
    if (!PyArg_ParseTuple(args, "Op|p", &obj, &read_ignore, &masks))
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Truth t;
    ImageTable im;
    memset(&t, 0, sizeof(t));
    memset(&im, 0, sizeof(im));
    PyObject *out = NULL;
    if (!truth_init(&t, masks) || !images_init(&im))
        goto done;
    const char *buf = (const char *)view.buf;
    Cursor c = {buf, buf + view.len, 0};
    Py_ssize_t start = -1, end = -1, im_start = -1, im_end = -1;
    int seen_images = 0;
    int ok = expect(&c, '{') && !expect(&c, '}');
    while (ok) {
        skip_ws(&c);
        if (c.p >= c.end || *c.p != '"') {
            ok = 0;
            break;
        }
        const char *key = c.p + 1, *q = key;
        while (q < c.end && *q != '"' && *q != '\\')
            q++;
        if (q >= c.end || *q != '"' || !(c.p = q + 1, expect(&c, ':'))) {
            ok = 0; /* an escaped key might spell "annotations" */
            break;
        }
        if (key_is(key, q - key, "annotations")) {
            if (start >= 0) {
                ok = 0;
                break;
            }
            skip_ws(&c);
            start = c.p - buf;
            ok = expect(&c, '[');
            if (ok && !expect(&c, ']')) {
                do {
                    ok = parse_annotation(&c, &t, read_ignore);
                } while (ok && expect(&c, ','));
                ok = ok && expect(&c, ']');
            }
            end = c.p - buf;
        }
        else if (key_is(key, q - key, "images")) {
            if (seen_images) {
                ok = 0;
                break;
            }
            seen_images = 1;
            skip_ws(&c);
            Cursor at = c;
            if (parse_images(&c, &im)) {
                im_start = at.p - buf;
                im_end = c.p - buf;
            }
            else {
                c = at;
                ok = skip_loosely(&c);
            }
        }
        else {
            ok = skip_loosely(&c);
        }
        if (ok && !expect(&c, ','))
            break;
    }
    ok = ok && expect(&c, '}');
    skip_ws(&c);
    if (!ok || c.p != c.end || start < 0) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *cols[8] = {column_release(&t.id),   column_release(&t.image),
                         column_release(&t.category), column_release(&t.box),
                         column_release(&t.area), column_release(&t.crowd),
                         column_release(&t.ignore), column_release(&t.present)};
    PyObject *images = NULL;
    if (im_start < 0) {
        images = Py_NewRef(Py_None);
    }
    else {
        PyObject *ids = column_release(&im.id), *width = column_release(&im.width),
                 *height = column_release(&im.height);
        if (ids && width && height)
            images = Py_BuildValue("(nnOOOO)", im_start, im_end, ids, width, height, im.names);
        Py_XDECREF(ids);
        Py_XDECREF(width);
        Py_XDECREF(height);
    }
    int released = images != NULL;
    for (int k = 0; k < 8; k++)
        released = released && cols[k] != NULL;
    PyObject *segs = NULL;
    if (released && masks) {
        PyObject *m[7] = {column_release(&t.kind),     column_release(&t.size),
                          column_release(&t.coords),   column_release(&t.part_len),
                          column_release(&t.parts),    column_release(&t.runs),
                          column_release(&t.run_len)};
        if (m[0] && m[1] && m[2] && m[3] && m[4] && m[5] && m[6])
            segs = Py_BuildValue("(OOOOOOOO)", m[0], m[1], m[2], m[3], m[4], m[5], m[6], t.rles);
        for (int k = 0; k < 7; k++)
            Py_XDECREF(m[k]);
        released = segs != NULL;
    }
    if (released)
        out = masks ? Py_BuildValue("(nnnOOOOOOOOOO)", t.n, start, end, cols[0], cols[1], cols[2],
                                    cols[3], cols[4], cols[5], cols[6], cols[7], images, segs)
                    : Py_BuildValue("(nnnOOOOOOOOO)", t.n, start, end, cols[0], cols[1], cols[2],
                                    cols[3], cols[4], cols[5], cols[6], cols[7], images);
    for (int k = 0; k < 8; k++)
        Py_XDECREF(cols[k]);
    Py_XDECREF(images);
    Py_XDECREF(segs);
done:
    truth_free(&t);
    images_free(&im);
    PyBuffer_Release(&view);
    return out;
}

/* ---------------------------------------------------------------- RLE validation */

/* What is wrong with one compressed RLE string of an h x w mask, as pycocotools' rleFrString
 * reads it (5 bits a character from '0', 0x20 = more, 0x10 on the last = negative; from the
 * third count on, each is the difference to the one two back): RLE_OK (0) when its runs are
 * all >= 0 and add up to h*w exactly. Zero runs are allowed (pycocotools reads them). A count
 * takes at most 7 characters (35 bits: any difference of two 32-bit counts). The twin is
 * geometry.masks.rle_counts_problem; the codes (RLE_OK, ...) are listed there. */
static int check_counts(const unsigned char *u, Py_ssize_t len, int64_t total)
{
    const unsigned char *end = u + len;
    int64_t prev2 = 0, prev1 = 0, pos = 0;
    Py_ssize_t k = 0;
    while (u < end) {
        unsigned c = (unsigned)*u++ - '0';
        if (c > 63)
            return RLE_CHAR;
        int64_t x = c & 0x1f;
        int shift = 5;
        while (c & 0x20) {
            if (u >= end)
                return RLE_CUT;
            if (shift == 35)
                return RLE_LONG;
            c = (unsigned)*u++ - '0';
            if (c > 63)
                return RLE_CHAR;
            x |= (int64_t)(c & 0x1f) << shift;
            shift += 5;
        }
        if (c & 0x10)
            x -= INT64_C(1) << shift;
        if (k > 2)
            x += prev2;
        if (x < 0)
            return RLE_NEGATIVE;
        if (x > total - pos)
            return RLE_OVER;
        pos += x;
        prev2 = prev1;
        prev1 = x;
        k++;
    }
    return pos == total ? RLE_OK : RLE_SHORT;
}

static int get_int64s(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return 0;
    if (view->itemsize != 8 || view->format == NULL || (strcmp(view->format, "q") != 0 &&
                                                        strcmp(view->format, "l") != 0)) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous int64 array", what);
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

/* rle_check(counts, sizes) -> (index, code) of the first string that is not a well-formed RLE
 * of its (h, w) (sizes: (N, 2) int64, h, w > 0 and h*w < 2**63 checked by the caller), or None
 * when all are. counts: a list or tuple of str (ASCII) or bytes. */
static PyObject *rle_check(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *seq, *sizes_obj;
    if (!PyArg_ParseTuple(args, "OO", &seq, &sizes_obj))
        return NULL;
    PyObject *fast = PySequence_Fast(seq, "counts must be a list or tuple");
    if (fast == NULL)
        return NULL;
    Py_buffer sizes;
    if (!get_int64s(sizes_obj, &sizes, "sizes")) {
        Py_DECREF(fast);
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *out = NULL;
    if (sizes.len != n * 16) {
        PyErr_SetString(PyExc_ValueError, "sizes must hold one (h, w) pair per string");
        goto done;
    }
    const int64_t *hw = sizes.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        const char *s;
        Py_ssize_t len;
        if (PyBytes_Check(item)) {
            s = PyBytes_AS_STRING(item);
            len = PyBytes_GET_SIZE(item);
        }
        else if (PyUnicode_Check(item) && PyUnicode_IS_ASCII(item)) {
            s = (const char *)PyUnicode_DATA(item);
            len = PyUnicode_GET_LENGTH(item);
        }
        else {
            out = Py_BuildValue("(ni)", i, RLE_CHAR);
            goto done;
        }
        int64_t h = hw[2 * i], w = hw[2 * i + 1];
        if (h <= 0 || w <= 0 || h > INT64_MAX / w) {
            PyErr_SetString(PyExc_ValueError, "sizes must be positive, h*w below 2**63");
            goto done;
        }
        int code = check_counts((const unsigned char *)s, len, h * w);
        if (code != RLE_OK) {
            out = Py_BuildValue("(ni)", i, code);
            goto done;
        }
    }
    out = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&sizes);
    Py_DECREF(fast);
    return out;
}

/* ---------------------------------------------------------------- stable argsort */

#define RADIX_BITS 11
#define RADIX_SIZE (1 << RADIX_BITS)
#define RADIX_PASSES 6 /* 6 * 11 >= 64 */

/* argsort(keys, descending) -> bytearray of int64: the stable order of a 1-d contiguous int64 or
 * float64 array (ties keep their input order; -0.0 equals 0.0; NaN is the caller's to refuse).
 * An LSD radix sort on order-preserving unsigned keys, 11 bits a pass, skipping the passes whose
 * digit is the same for every key: a few linear passes where numpy's stable sort is a timsort. */
static PyObject *argsort(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *obj;
    int descending = 0;
    if (!PyArg_ParseTuple(args, "O|p", &obj, &descending))
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    const char *f = view.format ? view.format : "B";
    int is_float = strcmp(f, "d") == 0;
    int is_int = view.itemsize == 8 && (strcmp(f, "q") == 0 || strcmp(f, "l") == 0);
    if (!is_float && !is_int) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "argsort takes a contiguous int64 or float64 array");
        return NULL;
    }
    Py_ssize_t n = view.len / 8;
    if ((uint64_t)n >= (UINT64_C(1) << 32)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "argsort takes fewer than 2**32 keys");
        return NULL;
    }
    PyObject *out = PyByteArray_FromStringAndSize(NULL, n * 8);
    uint64_t *k0 = malloc((size_t)(n ? n : 1) * 8), *k1 = malloc((size_t)(n ? n : 1) * 8);
    uint32_t *i0 = malloc((size_t)(n ? n : 1) * 4), *i1 = malloc((size_t)(n ? n : 1) * 4);
    size_t (*hist)[RADIX_SIZE] = calloc(RADIX_PASSES, sizeof(*hist));
    if (out == NULL || !k0 || !k1 || !i0 || !i1 || !hist) {
        Py_XDECREF(out);
        out = out ? PyErr_NoMemory() : NULL;
        goto done;
    }
    const uint64_t *raw = view.buf;
    uint64_t flip = descending ? ~UINT64_C(0) : 0, sign = UINT64_C(1) << 63;
    int64_t *o = (int64_t *)PyByteArray_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS /* only this call's buffers, and the keys' held view */
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t b = raw[i];
        if (is_float) {
            if ((b << 1) == 0) /* +0.0 and -0.0 */
                b = 0;
            b = (b & sign) ? ~b : (b | sign);
        }
        else {
            b ^= sign;
        }
        b ^= flip;
        k0[i] = b;
        i0[i] = (uint32_t)i;
        for (int pass = 0; pass < RADIX_PASSES; pass++)
            hist[pass][(b >> (pass * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
    }
    for (int pass = 0; pass < RADIX_PASSES; pass++) {
        size_t *h = hist[pass];
        int shift = pass * RADIX_BITS;
        if (n == 0 || h[(k0[0] >> shift) & (RADIX_SIZE - 1)] == (size_t)n)
            continue; /* one digit for all: this pass moves nothing */
        size_t sum = 0;
        for (int d = 0; d < RADIX_SIZE; d++) {
            size_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            size_t at = h[(k0[i] >> shift) & (RADIX_SIZE - 1)]++;
            k1[at] = k0[i];
            i1[at] = i0[i];
        }
        uint64_t *kt = k0;
        k0 = k1;
        k1 = kt;
        uint32_t *it = i0;
        i0 = i1;
        i1 = it;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        o[i] = i0[i];
    Py_END_ALLOW_THREADS
done:
    free(k0);
    free(k1);
    free(i0);
    free(i1);
    free(hist);
    PyBuffer_Release(&view);
    return out;
}

/* box_check(boxes) -> -1 when io._records.check_boxes takes every [x, y, w, h] row (finite,
 * w, h >= 0, x + w, y + h and w * h finite), else the first row it may refuse (the sum of the
 * three can overflow alone: the twin, seven array passes, then decides and names the row). One
 * pass without the GIL. */
static PyObject *box_check(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "O", &obj))
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (view.itemsize != 8 || strcmp(view.format ? view.format : "B", "d") != 0 || view.len % 32) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "box_check takes a contiguous float64 array of rows of 4");
        return NULL;
    }
    const double *b = view.buf;
    const Py_ssize_t n = view.len / 32;
    Py_ssize_t bad = -1;
    Py_BEGIN_ALLOW_THREADS for (Py_ssize_t i = 0; i < n; i++)
    {
        const double x = b[4 * i], y = b[4 * i + 1], w = b[4 * i + 2], h = b[4 * i + 3];
        /* finite(v) is v - v == 0: false for an infinity and for NaN */
        const double sum = (x + w) + (y + h) + w * h;
        if (!(sum - sum == 0) || !(x - x == 0 && y - y == 0 && w - w == 0 && h - h == 0) || w < 0 || h < 0) {
            bad = i;
            break;
        }
    }
    Py_END_ALLOW_THREADS PyBuffer_Release(&view);
    return PyLong_FromSsize_t(bad);
}

/* positions(values, known) -> (pos, found) bytearrays of int64 and bool: each value's index in
 * `known` (int64, sorted, distinct; 0 where it is absent) and whether it is there, as
 * _sort.positions gives them: one pass without the GIL, through a table of known's span when
 * it is short (ids are mostly dense), else a binary search a value. */
static PyObject *positions(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[2];
    if (!PyArg_ParseTuple(args, "OO", &o[0], &o[1]))
        return NULL;
    Py_buffer v[2];
    if (!get_int64s(o[0], &v[0], "values"))
        return NULL;
    if (!get_int64s(o[1], &v[1], "known")) {
        PyBuffer_Release(&v[0]);
        return NULL;
    }
    const int64_t *val = v[0].buf, *known = v[1].buf;
    const Py_ssize_t n = v[0].len / 8, m = v[1].len / 8;
    PyObject *pos = PyByteArray_FromStringAndSize(NULL, n * 8), *found = PyByteArray_FromStringAndSize(NULL, n);
    PyObject *out = NULL;
    int64_t *table = NULL;
    if (pos == NULL || found == NULL)
        goto done;
    int64_t *p = (int64_t *)PyByteArray_AS_STRING(pos);
    uint8_t *f = (uint8_t *)PyByteArray_AS_STRING(found);
    for (Py_ssize_t k = 1; k < m; k++)
        if (known[k] <= known[k - 1]) {
            PyErr_SetString(PyExc_ValueError, "positions: known must be sorted and distinct");
            goto done;
        }
    if (m == 0) {
        memset(p, 0, (size_t)n * 8);
        memset(f, 0, (size_t)n);
        out = Py_BuildValue("(OO)", pos, found);
        goto done;
    }
    const int64_t lo = known[0];
    /* the span in unsigned arithmetic: known[m - 1] - lo may pass INT64_MAX */
    const uint64_t span = (uint64_t)known[m - 1] - (uint64_t)lo + 1;
    if (span != 0 && span <= (uint64_t)(4 * (n + m) + 1024)) {
        table = malloc((size_t)span * sizeof(int64_t));
        if (table == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        Py_BEGIN_ALLOW_THREADS;
        for (uint64_t x = 0; x < span; x++)
            table[x] = -1;
        for (Py_ssize_t k = 0; k < m; k++)
            table[(uint64_t)known[k] - (uint64_t)lo] = k;
        for (Py_ssize_t i = 0; i < n; i++) {
            const uint64_t x = (uint64_t)val[i] - (uint64_t)lo; /* below lo wraps past span */
            const int64_t at = x < span ? table[x] : -1;
            f[i] = at >= 0;
            p[i] = at >= 0 ? at : 0;
        }
        Py_END_ALLOW_THREADS;
    }
    else {
        Py_BEGIN_ALLOW_THREADS;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t a = 0, b = m; /* the first known >= the value */
            while (a < b) {
                const Py_ssize_t mid = a + (b - a) / 2;
                if (known[mid] < val[i])
                    a = mid + 1;
                else
                    b = mid;
            }
            const Py_ssize_t at = a < m ? a : m - 1; /* numpy: searchsorted clipped into range */
            p[i] = at;
            f[i] = known[at] == val[i];
        }
        Py_END_ALLOW_THREADS;
    }
    out = Py_BuildValue("(OO)", pos, found);
done:
    free(table);
    Py_XDECREF(pos);
    Py_XDECREF(found);
    PyBuffer_Release(&v[0]);
    PyBuffer_Release(&v[1]);
    return out;
}

static PyMethodDef methods[] = {
    {"box_results", (PyCFunction)(void (*)(void))box_results, METH_VARARGS | METH_KEYWORDS,
     "box_results(source, step=8 MiB, threads=1, part_bytes=4 MiB) -> (n, image_id, category_id, "
     "score, bbox) as bytearrays, or None; source: a buffer, or a binary file read step bytes at a "
     "time (one with a descriptor, of 2 part_bytes or more, in up to `threads` parts at once)"},
    {"mask_results", (PyCFunction)(void (*)(void))mask_results, METH_VARARGS | METH_KEYWORDS,
     "mask_results(source, step=8 MiB, threads=1, part_bytes=4 MiB) -> (n, image_id, category_id, "
     "score, size, bbox, chars, starts, ends, all_boxes, bad) or None; chars: the RLE strings, one "
     "after another; starts, ends: int64, where each is in chars; bad: (index, code) of the first RLE "
     "that rle_check refuses; a file parsed in parts as box_results"},
    {"ground_truth", ground_truth, METH_VARARGS,
     "ground_truth(buffer, read_ignore, masks=False) -> (n, start, end, id, image_id, category_id, "
     "bbox, area, iscrowd, ignore, present, images[, segmentations]) or None"},
    {"rle_check", rle_check, METH_VARARGS,
     "rle_check(counts, sizes) -> (index, code) of the first malformed compressed RLE, or None"},
    {"argsort", argsort, METH_VARARGS,
     "argsort(keys, descending=False) -> bytearray of int64: stable order of int64/float64 keys"},
    {"positions", positions, METH_VARARGS,
     "positions(values, known) -> (pos, found): int64 and bool bytearrays, as _sort.positions"},
    {"box_check", box_check, METH_VARARGS,
     "box_check(boxes) -> -1 if check_boxes takes every xywh row, else the first it may refuse"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "detrecall's compiled hot paths.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    return PyModule_Create(&module);
}
