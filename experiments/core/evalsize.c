/*
 * evalsize.c - input-size transforms and evaluation at other input sizes
 * (see evalsize.h).
 */
#include "autoconfig.h"

#include "core/evalsize.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/train.h"
#include "util/util.h"

static const char *const method_names[GPX_SIZE_NMETHODS] = {
    "resize", "canvas_center", "canvas_random",
};

const char *gpx_size_method_name(gpx_size_method m)
{
    return (unsigned)m < GPX_SIZE_NMETHODS ? method_names[m] : "?";
}

int gpx_size_method_parse(const char *name, gpx_size_method *m)
{
    for (int i = 0; i < GPX_SIZE_NMETHODS; i++)
        if (name && !strcmp(name, method_names[i])) {
            *m = (gpx_size_method)i;
            return 0;
        }
    return -1;
}

/* ------------------------------------------------------------ bilinear */

/* Below this many output values a resize runs on one thread: starting the
 * team would cost more than the work. */
#define RESIZE_PARALLEL_MIN 65536

/* The two source taps of one output row or column, and their weights. */
typedef struct {
    int   i0, i1;
    float l0, l1;
} lin_tap;

/* PyTorch 1.13's compute_source_index_and_lambda (align_corners=False):
 * the scale is a float quotient, but the source index is formed in double
 * from it, and only the fraction is rounded to float (checked against torch
 * on up- and down-scaling, odd sizes included). The same size copies. */
static void lin_taps(int in, int out, lin_tap *t)
{
    float scale = (float)in / (float)out;
    for (int d = 0; d < out; d++) {
        if (in == out) {
            t[d] = (lin_tap){ d, d, 1.0f, 0.0f };
            continue;
        }
        /* scale has 24 significant bits and d + 0.5 few: the product is
         * exact in double, so contracting it into an fma changes nothing */
        double src = (double)scale * (d + 0.5) - 0.5;
        if (src < 0)
            src = 0;
        int i0 = (int)src < in - 1 ? (int)src : in - 1;
        double frac = src - i0;
        float l1 = (float)(frac < 0 ? 0 : frac > 1 ? 1 : frac);
        t[d] = (lin_tap){ i0, i0 + (i0 < in - 1), 1.0f - l1, l1 };
    }
}

/* torch takes its channels-last kernel whenever the NCHW tensor is also
 * channels-last contiguous (one channel, or a 1 x 1 image): the weights are
 * products of the lambdas rounded to float, and the four terms are summed
 * in double. Every product of two floats is exact in double, so this does
 * not depend on fma contraction either. */
static void resize_plane_cl(const float *x, int w, float *y, int oh, int ow,
                            const lin_tap *th, const lin_tap *tw)
{
    for (int r = 0; r < oh; r++) {
        const float *row0 = x + (size_t)th[r].i0 * w, *row1 = x + (size_t)th[r].i1 * w;
        for (int c = 0; c < ow; c++) {
            float w00 = th[r].l0 * tw[c].l0, w01 = th[r].l0 * tw[c].l1;
            float w10 = th[r].l1 * tw[c].l0, w11 = th[r].l1 * tw[c].l1;
            double s = (double)row0[tw[c].i0] * w00 + (double)row0[tw[c].i1] * w01 +
                       (double)row1[tw[c].i0] * w10 + (double)row1[tw[c].i1] * w11;
            y[(size_t)r * ow + c] = (float)s;
        }
    }
}

/* torch's generic NCHW kernel: interpolate along the width in each of the
 * two rows, then between the rows; its build contracts each t0*a + t1*b
 * into fma(t0, a, t1*b), which fmaf reproduces on any CPU. */
static void resize_plane_nchw(const float *x, int w, float *y, int oh, int ow,
                              const lin_tap *th, const lin_tap *tw)
{
    for (int r = 0; r < oh; r++) {
        const float *row0 = x + (size_t)th[r].i0 * w, *row1 = x + (size_t)th[r].i1 * w;
        for (int c = 0; c < ow; c++) {
            const lin_tap *t = &tw[c];
            float t0 = fmaf(row0[t->i0], t->l0, row0[t->i1] * t->l1);
            float t1 = fmaf(row1[t->i0], t->l0, row1[t->i1] * t->l1);
            y[(size_t)r * ow + c] = fmaf(t0, th[r].l0, t1 * th[r].l1);
        }
    }
}

int gpx_resize_bilinear(const float *src, int n, int c, int h, int w, float *dst,
                        int oh, int ow)
{
    if (n < 0 || c < 0 || h < 1 || w < 1 || oh < 1 || ow < 1)
        return -1;
    lin_tap *th = malloc(((size_t)oh + (size_t)ow) * sizeof *th);
    if (!th)
        return -1;
    lin_tap *tw = th + oh;
    lin_taps(h, oh, th);
    lin_taps(w, ow, tw);
    int channels_last = c == 1 || (h == 1 && w == 1);
    long planes = (long)n * c;
    size_t in_plane = (size_t)h * w, out_plane = (size_t)oh * ow;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if ((double)planes * out_plane >= RESIZE_PARALLEL_MIN)
#endif
    for (long p = 0; p < planes; p++) {
        if (channels_last)
            resize_plane_cl(src + p * in_plane, w, dst + p * out_plane, oh, ow, th, tw);
        else
            resize_plane_nchw(src + p * in_plane, w, dst + p * out_plane, oh, ow, th, tw);
    }
    free(th);
    return 0;
}

/* -------------------------------------------------------------- canvas */

/* One plane of h x w onto a size x size canvas of fill, its corner at row
 * oy, column ox. */
static void place_plane(const float *x, int h, int w, float *y, int size, float fill, int oy,
                        int ox)
{
    size_t canvas = (size_t)size * size;
    for (size_t k = 0; k < canvas; k++)
        y[k] = fill;
    for (int r = 0; r < h; r++)
        memcpy(y + (size_t)(oy + r) * size + ox, x + (size_t)r * w, w * sizeof *x);
}

/* The next image's offset: centred, or drawn from rng (row, then column). */
static void next_offset(int h, int w, int size, gpx_canvas_mode mode, gp_rng *rng, int *oy,
                        int *ox)
{
    *oy = (size - h) / 2;
    *ox = (size - w) / 2;
    if (mode == GPX_CANVAS_RANDOM) {
        *oy = (int)gp_rng_below(rng, (uint64_t)(size - h + 1));
        *ox = (int)gp_rng_below(rng, (uint64_t)(size - w + 1));
    }
}

/* Place n images, drawing random offsets from rng (which the caller may
 * keep across calls, so a split placed in pieces gets the places it would
 * get in one call). */
static void place_images(const float *src, int n, int c, int h, int w, float *dst, int size,
                         const float fill[], gpx_canvas_mode mode, gp_rng *rng)
{
    size_t canvas = (size_t)size * size, plane = (size_t)h * w;
    for (int i = 0; i < n; i++) {
        int oy, ox;
        next_offset(h, w, size, mode, rng, &oy, &ox);
        for (int ch = 0; ch < c; ch++) {
            size_t p = (size_t)i * c + ch;
            place_plane(src + p * plane, h, w, dst + p * canvas, size, fill[ch], oy, ox);
        }
    }
}

int gpx_canvas_offsets(int n, int h, int w, int size, uint64_t seed, int *place)
{
    if (n < 0 || h < 1 || w < 1 || size < h || size < w)
        return -1;
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++)
        next_offset(h, w, size, GPX_CANVAS_RANDOM, &rng, &place[2 * i], &place[2 * i + 1]);
    return 0;
}

int gpx_place_at(const float *src, int n, int c, int h, int w, float *dst, int size,
                 const float *fill, const int *place)
{
    if (n < 0 || c < 0 || h < 1 || w < 1 || size < h || size < w)
        return -1;
    for (int i = 0; i < n; i++)
        if (place[2 * i] < 0 || place[2 * i] > size - h || place[2 * i + 1] < 0 ||
            place[2 * i + 1] > size - w)
            return -1;
    size_t canvas = (size_t)size * size, plane = (size_t)h * w;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            size_t p = (size_t)i * c + ch;
            place_plane(src + p * plane, h, w, dst + p * canvas, size, fill[ch], place[2 * i],
                        place[2 * i + 1]);
        }
    return 0;
}

int gpx_place_on_canvas(const float *src, int n, int c, int h, int w, float *dst,
                        int size, const float fill[], gpx_canvas_mode mode, uint64_t seed)
{
    if (n < 0 || c < 0 || h < 1 || w < 1 || size < h || size < w ||
        (mode != GPX_CANVAS_CENTER && mode != GPX_CANVAS_RANDOM))
        return -1;
    gp_rng rng;
    gp_rng_seed(&rng, seed);
    place_images(src, n, c, h, w, dst, size, fill, mode, &rng);
    return 0;
}

/* ---------------------------------------------------- evaluation sweep */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void row_not_applicable(gpx_size_row *row, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(row->reason, sizeof row->reason, fmt, ap);
    va_end(ap);
    row->applicable = 0;
    row->test_acc = row->test_loss = NAN;
}

/* Everything a size's rows share. */
typedef struct {
    gp_net                    *net;      /* the trained net, reshaped in turn */
    const gpx_split           *test;
    const gpx_eval_sizes_opts *o;
    float                     *fill;     /* a raw zero pixel after normalisation, per channel */
    float                     *native;   /* one batch as floats at the stored size */
    float                     *buf;      /* one transformed batch at the largest size */
    gpx_size_row              *rows;     /* rows[i * nmethods + j]: sizes[i] by methods[j] */
} sweep;

/* Append text to the string in buf (len bytes), cut to fit: a reason names
 * a config path of any length. */
static void append_cut(char *buf, size_t len, const char *text)
{
    if (!len)
        return;
    size_t end = strlen(buf);
    while (end + 1 < len && *text)
        buf[end++] = *text++;
    buf[end < len ? end : len - 1] = '\0';
}

/* Why the net cannot take a size x size input: layer i refuses the input
 * `at` it would get, with gp_last_error() saying why. */
static void refusal_reason(const sweep *s, int size, int i, gp_shape at, char *why, size_t len)
{
    const gpx_model_spec *m = s->o->model;
    const gp_layer *l = gp_net_layer(s->net, i);
    if ((m->design == GPX_HEAD_FLATTEN_DENSE || m->design == GPX_HEAD_FLATTEN_DROPOUT_DENSE) &&
        i == gp_net_layer_count(s->net) - 1) {
        snprintf(why, len, "%s's dense layer takes %zu features, a %dx%d input gives %zu",
                 m->head, gp_shape_image_size(l->in), size, size, gp_shape_image_size(at));
        return;
    }
    char origin[512], msg[256];
    snprintf(msg, sizeof msg, "%s", gp_last_error());
    gpx_model_layer_origin(m, i, origin, sizeof origin);
    snprintf(why, len, "the network cannot take a %dx%d input: ", size, size);
    append_cut(why, len, origin);
    append_cut(why, len, ": ");
    append_cut(why, len, msg);
}

/* Reshape the net for size x size inputs: 1 when done, 0 when it cannot take
 * them (why says why; the net is unchanged), -1 on a failed reshape. */
static int reshape_for(sweep *s, int size, char *why, size_t len, char *err, size_t errlen)
{
    gp_shape in = { s->o->batch, s->test->c, size, size }, at;
    int layer = -1;
    if (gp_net_reshape_check(s->net, in, &layer, &at) != GP_OK) {
        if (layer < 0)
            return gpx_fail(err, errlen, "reshaping to %dx%d: %s", size, size, gp_last_error());
        refusal_reason(s, size, layer, at, why, len);
        return 0;
    }
    if (gp_net_reshape(s->net, in) != GP_OK)
        return gpx_fail(err, errlen, "reshaping to %dx%d: %s", size, size, gp_last_error());
    return 1;
}

/* Bring test images [first, first + count), as stored, to size x size in
 * s->buf. 0, or -1 (a bad range). */
static int transform_batch(const sweep *s, gpx_size_method m, int first, int count, int size,
                           gp_rng *rng)
{
    const gpx_images *im = &s->test->images;
    if (gpx_images_to_floats(im, &s->test->scale, NULL, first, count, s->native) != 0)
        return -1;
    if (m == GPX_SIZE_RESIZE)
        return gpx_resize_bilinear(s->native, count, im->c, im->h, im->w, s->buf, size, size);
    place_images(s->native, count, im->c, im->h, im->w, s->buf, size, s->fill,
                 m == GPX_SIZE_CANVAS_RANDOM ? GPX_CANVAS_RANDOM : GPX_CANVAS_CENTER, rng);
    return 0;
}

/* Evaluate the net on the test split transformed batch by batch. The sums
 * reproduce gpx_evaluate's over the whole split exactly: per batch it
 * returns l*n/n with l a float mean and n small, which is l itself, so
 * loss * n gives back the term gpx_evaluate adds, and acc * n the hits. */
static int eval_method(const sweep *s, gpx_size_method m, int size, gpx_size_row *row,
                       char *err, size_t errlen)
{
    const gpx_split *t = s->test;
    gp_rng rng;
    gp_rng_seed(&rng, s->o->seed);
    double loss_sum = 0;
    long hits = 0;
    for (int i = 0; i < t->count; i += s->o->batch) {
        int nb = t->count - i < s->o->batch ? t->count - i : s->o->batch;
        if (transform_batch(s, m, i, nb, size, &rng) != 0)
            return gpx_fail(err, errlen, "converting test images %d to %d", i, i + nb - 1);
        /* the transformed floats, taken as they are */
        gpx_split chunk = { .count = nb, .c = t->c, .h = size, .w = size,
                            .classes = t->classes, .y = t->y + i };
        chunk.images = (gpx_images){ GPX_PIXEL_F32, GPX_LAYOUT_NCHW, nb, t->c, size, size,
                                     s->buf };
        double l, a;
        gp_status st = gpx_evaluate(s->net, &chunk, s->o->sigmoid_loss, &l, &a);
        if (st != GP_OK)
            return gpx_fail(err, errlen, "evaluating at %dx%d by %s: %s", size, size,
                           gpx_size_method_name(m), gpx_status_message(st));
        loss_sum += l * nb;
        hits += lround(a * nb);
    }
    row->applicable = 1;
    row->test_loss = t->count ? loss_sum / t->count : NAN;
    row->test_acc = t->count ? (double)hits / t->count : NAN;
    return 0;
}

/* The rows of one size: the net is reshaped once, and only if some method
 * can run at this size. */
static int eval_size(sweep *s, int size, gpx_size_row *rows, char *err, size_t errlen)
{
    const gpx_images *t = &s->test->images;
    char why[256] = "";
    int ready = 0;
    for (int j = 0; j < s->o->nmethods && ready >= 0; j++) {
        gpx_size_method m = s->o->methods[j];
        gpx_size_row *row = &rows[j];
        row->size = size;
        row->method = m;
        row->reason[0] = '\0';
        if (m != GPX_SIZE_RESIZE && (size < t->h || size < t->w)) {
            row_not_applicable(row, "canvas smaller than the %dx%d image", t->h, t->w);
            continue;
        }
        if (!ready && !why[0])
            ready = reshape_for(s, size, why, sizeof why, err, errlen);
        if (ready == 0)
            row_not_applicable(row, "%s", why);
        else if (ready > 0 && eval_method(s, m, size, row, err, errlen) != 0)
            ready = -1;
    }
    return ready < 0 ? -1 : 0;
}

static int check_opts(gp_net *net, const gpx_data *data, const gpx_eval_sizes_opts *o,
                      gpx_size_row *rows, char *err, size_t errlen)
{
    if (!net || !data || !o || !rows || !o->model || (o->nsizes > 0 && !o->sizes) ||
        (o->nmethods > 0 && !o->methods))
        return gpx_fail(err, errlen, "gpx_eval_at_sizes: NULL argument");
    if (o->nsizes < 0 || o->nmethods < 0 || o->batch < 1)
        return gpx_fail(err, errlen, "gpx_eval_at_sizes: %d sizes, %d methods, batch %d",
                       o->nsizes, o->nmethods, o->batch);
    for (int i = 0; i < o->nsizes; i++)
        if (o->sizes[i] < 1)
            return gpx_fail(err, errlen, "input size %d is not positive", o->sizes[i]);
    for (int j = 0; j < o->nmethods; j++)
        if ((unsigned)o->methods[j] >= GPX_SIZE_NMETHODS)
            return gpx_fail(err, errlen, "unknown size method %d", (int)o->methods[j]);
    if (gp_net_layer_count(net) < 1 || gp_net_layer(net, 0)->in.c != data->test.c)
        return gpx_fail(err, errlen, "the network takes %d channels, the test images have %d",
                       gp_net_layer_count(net) > 0 ? gp_net_layer(net, 0)->in.c : 0,
                       data->test.c);
    return 0;
}

/* The sweep over every size, then the net back at its own input shape
 * (even after a failed size: the caller's net must stay usable). */
static int sweep_sizes(sweep *s, char *err, size_t errlen)
{
    const gpx_eval_sizes_opts *o = s->o;
    gp_shape own = gp_net_layer(s->net, 0)->in;
    int rc = 0;
    for (int i = 0; i < o->nsizes && rc == 0; i++)
        rc = eval_size(s, o->sizes[i], s->rows + (size_t)i * o->nmethods, err, errlen);
    if (gp_net_reshape(s->net, own) != GP_OK && rc == 0)
        rc = gpx_fail(err, errlen, "reshaping back to %dx%d: %s", own.h, own.w, gp_last_error());
    return rc;
}

int gpx_eval_at_sizes(gp_net *net, const gpx_data *data, const gpx_eval_sizes_opts *o,
                      gpx_size_row *rows, char *err, size_t errlen)
{
    if (check_opts(net, data, o, rows, err, errlen) != 0)
        return -1;
    sweep s = { .net = net, .test = &data->test, .o = o, .rows = rows };
    int largest = 0;
    for (int i = 0; i < o->nsizes; i++)
        largest = o->sizes[i] > largest ? o->sizes[i] : largest;
    const gpx_images *im = &data->test.images;
    s.native = malloc((size_t)o->batch * im->c * im->h * im->w * sizeof *s.native + 1);
    s.buf = malloc((size_t)o->batch * data->test.c * largest * largest * sizeof *s.buf + 1);
    s.fill = malloc((size_t)im->c * sizeof *s.fill + 1);
    int rc = !s.native || !s.buf || !s.fill
             ? gpx_fail(err, errlen, "out of memory for a batch of %d images of %dx%d",
                        o->batch, largest, largest)
             /* as data.c turns a 0 pixel into a float: (0/255 - mean) / std in float */
             : gpx_pixel_zero(&data->test.scale, im->c, s.fill) != 0
             ? gpx_fail(err, errlen, "the test split's normalisation is not for %d channels",
                        im->c)
             : sweep_sizes(&s, err, errlen);
    free(s.native);
    free(s.buf);
    free(s.fill);
    return rc;
}
