/* pycocotools' box IoU (bbIou), operation for operation in float64 (built without contraction),
 * so every compiled caller gives geometry/boxes.py's numpy IoUs to the bit: boxes are xywh;
 * against a crowd the union is the detection's own area; `inclusive`: pixel-inclusive widths
 * (+1), as the VOC devkit counts them. Shared by _kernels.c and _stream.c. */
#ifndef DETRECALL_BOX_IOU_H
#define DETRECALL_BOX_IOU_H

/* numpy's minimum and maximum: a NaN wins */
static inline double np_min(double a, double b) { return a != a ? a : b != b ? b : a < b ? a : b; }
static inline double np_max(double a, double b) { return a != a ? a : b != b ? b : a > b ? a : b; }

/* The IoU of two boxes overlapping by w x h, of areas d_area (the detection's) and g_area. */
static inline double iou_of_overlap(double w, double h, double d_area, double g_area, int crowd)
{
    if (!(w > 0 && h > 0))
        return 0.0;
    const double inter = w * h;
    const double sum = d_area + g_area;
    return inter / (crowd ? d_area : sum - inter);
}

static inline double box_iou(const double *d, const double *g, int crowd, int inclusive)
{
    double w = np_min(d[2] + d[0], g[2] + g[0]) - np_max(d[0], g[0]);
    double h = np_min(d[3] + d[1], g[3] + g[1]) - np_max(d[1], g[1]);
    double dw = d[2], dh = d[3], gw = g[2], gh = g[3];
    if (inclusive) {
        w += 1, h += 1, dw += 1, dh += 1, gw += 1, gh += 1;
    }
    return iou_of_overlap(w, h, dw * dh, gw * gh, crowd);
}

#endif
