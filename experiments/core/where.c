/*
 * where.c - pointing, Zhou's boxes and their IoU, and the centre baseline
 * (see where.h).
 */
#include "autoconfig.h"

#include "core/where.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static int box_holds(gpx_box b, int row, int col)
{
    return row >= b.top && row < b.top + b.h && col >= b.left && col < b.left + b.w;
}

/* The first maximum's index; its value in *max. */
static size_t argmax(const float *map, size_t count, float *max)
{
    size_t at = 0;
    for (size_t k = 1; k < count; k++)
        if (map[k] > map[at])
            at = k;
    *max = map[at];
    return at;
}

int gpx_where_points(const float *map, int h, int w, gpx_box box)
{
    float max;
    size_t at = argmax(map, (size_t)h * (size_t)w, &max);
    return max > 0 && box_holds(box, (int)(at / (size_t)w), (int)(at % (size_t)w));
}

int gpx_where_centre_hits(int h, int w, gpx_box box)
{
    return box_holds(box, h / 2, w / 2);
}

double gpx_box_iou(gpx_box a, gpx_box b)
{
    int top = a.top > b.top ? a.top : b.top, left = a.left > b.left ? a.left : b.left;
    int bottom = a.top + a.h < b.top + b.h ? a.top + a.h : b.top + b.h;
    int right = a.left + a.w < b.left + b.w ? a.left + a.w : b.left + b.w;
    double inter = bottom > top && right > left ? (double)(bottom - top) * (right - left) : 0;
    double uni = (double)a.h * a.w + (double)b.h * b.w - inter;
    return uni > 0 ? inter / uni : 0.0;
}

/* Label the region of pixel start (label id) by a flood fill over 8
 * neighbours, using stack (h x w ints); its size and bounding box. */
static int flood(const float *map, int h, int w, float level, int *label, int start, int id,
                 int *stack, gpx_box *box)
{
    int n = 0, size = 0, top = h, left = w, bottom = -1, right = -1;
    label[start] = id;
    stack[n++] = start;
    while (n) {
        int p = stack[--n], r = p / w, c = p % w;
        size++;
        top = r < top ? r : top;
        bottom = r > bottom ? r : bottom;
        left = c < left ? c : left;
        right = c > right ? c : right;
        for (int dr = -1; dr <= 1; dr++)
            for (int dc = -1; dc <= 1; dc++) {
                int rr = r + dr, cc = c + dc, q = rr * w + cc;
                if (rr < 0 || rr >= h || cc < 0 || cc >= w || label[q] || !(map[q] > level))
                    continue;
                label[q] = id;
                stack[n++] = q;
            }
    }
    *box = (gpx_box){ top, left, bottom - top + 1, right - left + 1 };
    return size;
}

int gpx_where_box(const float *map, int h, int w, double fraction, gpx_box *box, int *scratch)
{
    size_t count = (size_t)h * (size_t)w;
    float max;
    argmax(map, count, &max);
    if (!(max > 0))
        return -1;
    float level = (float)(fraction * max);
    int *stack = malloc(count * sizeof *stack);
    if (!stack)
        return -1;
    memset(scratch, 0, count * sizeof *scratch);
    int best = 0, id = 0;
    for (size_t k = 0; k < count; k++) {
        gpx_box b;
        if (scratch[k] || !(map[k] > level))
            continue;
        int size = flood(map, h, w, level, scratch, (int)k, ++id, stack, &b);
        if (size > best) {
            best = size;
            *box = b;
        }
    }
    free(stack);
    return 0;
}

/* ------------------------------------------------------------ a split */

typedef struct {
    double hits, iou, centre, correct;
} where_sums;

/* Image i of the batch (its map, its box) added to the sums. */
static void add_image(where_sums *s, const float *map, int h, int w, gpx_box item, int *scratch)
{
    gpx_box found;
    s->hits += gpx_where_points(map, h, w, item);
    s->centre += gpx_where_centre_hits(h, w, item);
    if (gpx_where_box(map, h, w, GPX_WHERE_BOX_FRACTION, &found, scratch) == 0)
        s->iou += gpx_box_iou(found, item);
}

static int predicted(const float *logits, int classes)
{
    int best = 0;
    for (int c = 1; c < classes; c++)
        best = logits[c] > logits[best] ? c : best;
    return best;
}

/* One method over the whole split into row. */
static int evaluate_method(gp_net *net, const gpx_model_spec *spec, const gpx_split *test,
                           int batch, float *x, float *maps, float *logits, int *scratch,
                           gpx_where_row *row, char *err, size_t errlen)
{
    where_sums s = { 0 };
    size_t plane = (size_t)test->h * (size_t)test->w;
    for (int first = 0; first < test->count; first += batch) {
        int nb = test->count - first < batch ? test->count - first : batch;
        if (gpx_split_batch(test, NULL, first, nb, x))
            return gpx_fail(err, errlen, "cannot read test images %d..%d", first,
                            first + nb - 1);
        if (gpx_cam_maps(net, spec, nb, x, test->y + first, row->method, maps, logits, err,
                         errlen))
            return -1;
        for (int i = 0; i < nb; i++) {
            const int *at = test->place + 2 * (size_t)(first + i);
            gpx_box item = { at[0], at[1], test->images.h, test->images.w };
            add_image(&s, maps + i * plane, test->h, test->w, item, scratch);
            s.correct += predicted(logits + (size_t)i * test->classes, test->classes) ==
                         test->y[first + i];
        }
    }
    row->images = test->count;
    row->test_acc = s.correct / test->count;
    row->pointing = s.hits / test->count;
    row->iou = s.iou / test->count;
    row->centre = s.centre / test->count;
    return 0;
}

int gpx_where_evaluate(gp_net *net, const gpx_model_spec *spec, const gpx_split *test,
                       int batch, gpx_where_row *rows, char *err, size_t errlen)
{
    if (!test->place || test->count < 1)
        return gpx_fail(err, errlen, "the test images are not placed on a canvas "
                        "(data.canvas.size is 0), so there is no place to find");
    size_t plane = (size_t)test->h * (size_t)test->w;
    size_t img = plane * (size_t)test->c;
    float *x = malloc((size_t)batch * img * sizeof *x);
    float *maps = malloc((size_t)batch * plane * sizeof *maps);
    float *logits = malloc((size_t)batch * (size_t)test->classes * sizeof *logits);
    int *scratch = malloc(plane * sizeof *scratch);
    int n = x && maps && logits && scratch ? 0 : gpx_fail(err, errlen, "out of memory");
    char why[256];
    for (int m = 0; n >= 0 && m < GPX_CAM_NMETHODS; m++) {
        if (!gpx_cam_defined(spec, (gpx_cam_method)m, why, sizeof why))
            continue;
        rows[n].method = (gpx_cam_method)m;
        n = evaluate_method(net, spec, test, batch, x, maps, logits, scratch, &rows[n], err,
                            errlen) ? -1 : n + 1;
    }
    free(x);
    free(maps);
    free(logits);
    free(scratch);
    return n;
}
