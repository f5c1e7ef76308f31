/*
 * images.c - stored images converted to a network's floats (see images.h).
 */
#include "autoconfig.h"

#include "core/images.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* How one stored element of a channel becomes a float: bytes through a
 * table of the 256 results (each computed once, as torchvision computes
 * it), floats directly. With one mean and std for every channel (or none)
 * only table 0 is filled and used. */
typedef struct {
    gpx_pixel_type type;
    int            normalize;
    int            per_channel;   /* mean, std and lut hold one entry per channel */
    float          mean[GPX_MAX_CHANNELS], std[GPX_MAX_CHANNELS];
    float          lut[GPX_MAX_CHANNELS][256];
} scaler;

/* The scale's values for c channels: 0, or -1 when it gives per-channel
 * values for another count. */
static int scaler_init(scaler *s, gpx_pixel_type type, const gpx_pixel_scale *scale, int c)
{
    s->type = type;
    s->normalize = scale && scale->normalize;
    s->per_channel = scale && scale->channels > 1;
    if (s->per_channel && (scale->channels != c || c > GPX_MAX_CHANNELS))
        return -1;
    int tables = s->per_channel ? c : 1;
    for (int ch = 0; ch < tables; ch++) {
        s->mean[ch] = s->normalize ? (float)scale->mean[ch] : 0.0f;
        s->std[ch] = s->normalize ? (float)scale->std[ch] : 1.0f;
        for (int p = 0; type == GPX_PIXEL_U8 && p < 256; p++) {
            float x = (float)p / 255.0f;
            s->lut[ch][p] = s->normalize ? (x - s->mean[ch]) / s->std[ch] : x;
        }
    }
    return 0;
}

/* count bytes of one channel, stride apart from p, into dst through lut;
 * the planar case is a loop of its own, the compiler's to unroll. */
static void convert_bytes(const float *lut, const uint8_t *p, size_t stride, size_t count,
                          float *dst)
{
    if (stride == 1) {
        for (size_t k = 0; k < count; k++)
            dst[k] = lut[p[k]];
        return;
    }
    for (size_t k = 0; k < count; k++)
        dst[k] = lut[p[k * stride]];
}

/* count elements of one channel, stride apart from data, into dst. */
static void convert_channel(const scaler *s, int ch, const void *data, size_t stride,
                            size_t count, float *dst)
{
    int t = s->per_channel ? ch : 0;
    if (s->type == GPX_PIXEL_U8) {
        convert_bytes(s->lut[t], data, stride, count, dst);
        return;
    }
    const float *x = data;
    float mean = s->normalize ? s->mean[t] : 0.0f, std = s->normalize ? s->std[t] : 1.0f;
    if (!s->normalize) {   /* copied as they are, NaN and -0 included */
        for (size_t k = 0; k < count; k++)
            dst[k] = x[k * stride];
        return;
    }
    if (stride == 1) {
        for (size_t k = 0; k < count; k++)
            dst[k] = (x[k] - mean) / std;
        return;
    }
    for (size_t k = 0; k < count; k++)
        dst[k] = (x[k * stride] - mean) / std;
}

/* One stored image (its first element at data) into dst as NCHW floats. */
static void convert_image(const scaler *s, const gpx_images *src, const char *data, float *dst)
{
    size_t plane = (size_t)src->h * (size_t)src->w, c = (size_t)src->c;
    size_t elem = gpx_pixel_size(src->type);
    int planar = src->layout == GPX_LAYOUT_NCHW;
    for (size_t ch = 0; ch < c; ch++)
        convert_channel(s, (int)ch, data + (planar ? ch * plane : ch) * elem,
                        planar ? 1 : c, plane, dst + ch * plane);
}

size_t gpx_pixel_size(gpx_pixel_type t)
{
    switch (t) {
    case GPX_PIXEL_U8:
        return 1;
    case GPX_PIXEL_F32:
        return sizeof(float);
    }
    return 0;
}

int gpx_images_to_floats(const gpx_images *src, const gpx_pixel_scale *scale,
                         const int *index, int first, int count, float *dst)
{
    size_t elem = gpx_pixel_size(src->type);
    if (!elem || (src->layout != GPX_LAYOUT_NCHW && src->layout != GPX_LAYOUT_NHWC) ||
        count < 0 || (!index && (first < 0 || first > src->n - count)))
        return -1;
    scaler s;
    if (scaler_init(&s, src->type, scale, src->c) != 0)
        return -1;
    size_t img = (size_t)src->c * (size_t)src->h * (size_t)src->w;
    for (int i = 0; i < count; i++) {
        int k = index ? index[i] : first + i;
        if (k < 0 || k >= src->n)
            return -1;
        const char *at = (const char *)src->data + (size_t)k * img * elem;
        convert_image(&s, src, at, dst + (size_t)i * img);
    }
    return 0;
}

int gpx_pixel_zero(const gpx_pixel_scale *scale, int c, float fill[])
{
    int per_channel = scale && scale->channels > 1;
    if (per_channel && scale->channels != c)
        return -1;
    for (int ch = 0; ch < c; ch++) {
        int t = per_channel ? ch : 0;
        /* as the byte table computes it for p = 0: (0 / 255 - mean) / std in float */
        fill[ch] = scale && scale->normalize
                   ? (0.0f - (float)scale->mean[t]) / (float)scale->std[t] : 0.0f;
    }
    return 0;
}

/* Mean and std of the bytes p / 255 of one channel, from its histogram of
 * n values: exact sums of at most 256 terms. */
static void histogram_stats(const uint64_t hist[256], size_t n, double *mean, double *std)
{
    double sum = 0.0;
    for (int v = 0; v < 256; v++)
        sum += (double)hist[v] * (v / 255.0);
    double m = sum / (double)n, var = 0.0;
    for (int v = 0; v < 256; v++)
        var += (double)hist[v] * (v / 255.0 - m) * (v / 255.0 - m);
    *mean = m;
    *std = sqrt(var / (double)n);
}

/* Where channel ch of image i starts and how far apart its elements are. */
static const char *channel_start(const gpx_images *src, size_t i, size_t ch, size_t *stride)
{
    size_t c = (size_t)src->c, plane = (size_t)src->h * (size_t)src->w;
    int planar = src->layout == GPX_LAYOUT_NCHW;
    *stride = planar ? 1 : c;
    return (const char *)src->data +
           (i * c * plane + (planar ? ch * plane : ch)) * gpx_pixel_size(src->type);
}

static int byte_stats(const gpx_images *src, int first, int count, double mean[],
                      double std[])
{
    size_t plane = (size_t)src->h * (size_t)src->w;
    uint64_t hist[256];
    for (size_t ch = 0; ch < (size_t)src->c; ch++) {
        memset(hist, 0, sizeof hist);
        for (size_t i = (size_t)first; i < (size_t)first + (size_t)count; i++) {
            size_t stride;
            const uint8_t *p = (const uint8_t *)channel_start(src, i, ch, &stride);
            for (size_t k = 0; k < plane; k++)
                hist[p[k * stride]]++;
        }
        histogram_stats(hist, (size_t)count * plane, &mean[ch], &std[ch]);
    }
    return 0;
}

/* Two passes in double, in storage order within the channel. */
static int float_stats(const gpx_images *src, int first, int count, double mean[],
                       double std[])
{
    size_t plane = (size_t)src->h * (size_t)src->w, n = (size_t)count * plane, stride;
    for (size_t ch = 0; ch < (size_t)src->c; ch++) {
        double sum = 0.0, var = 0.0;
        for (size_t i = (size_t)first; i < (size_t)first + (size_t)count; i++) {
            const float *x = (const float *)channel_start(src, i, ch, &stride);
            for (size_t k = 0; k < plane; k++)
                sum += x[k * stride];
        }
        double m = sum / (double)n;
        for (size_t i = (size_t)first; i < (size_t)first + (size_t)count; i++) {
            const float *x = (const float *)channel_start(src, i, ch, &stride);
            for (size_t k = 0; k < plane; k++)
                var += (x[k * stride] - m) * (x[k * stride] - m);
        }
        mean[ch] = m;
        std[ch] = sqrt(var / (double)n);
    }
    return 0;
}

int gpx_images_channel_stats(const gpx_images *src, int first, int count, double mean[],
                             double std[])
{
    if (!gpx_pixel_size(src->type) ||
        (src->layout != GPX_LAYOUT_NCHW && src->layout != GPX_LAYOUT_NHWC) || count < 1 ||
        first < 0 || first > src->n - count || src->c < 1 || src->h < 1 || src->w < 1)
        return -1;
    return src->type == GPX_PIXEL_U8 ? byte_stats(src, first, count, mean, std)
                                     : float_stats(src, first, count, mean, std);
}
