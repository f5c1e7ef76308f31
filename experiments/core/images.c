/*
 * images.c - stored images converted to a network's floats (see images.h).
 */
#include "autoconfig.h"

#include "core/images.h"

#include <stdint.h>

/* How one stored element becomes a float: bytes through a table of the 256
 * results (each computed once, as torchvision computes it), floats directly. */
typedef struct {
    gpx_pixel_type type;
    int            normalize;
    float          mean, std;
    float          lut[256];
} scaler;

static void scaler_init(scaler *s, gpx_pixel_type type, const gpx_pixel_scale *scale)
{
    s->type = type;
    s->normalize = scale && scale->normalize;
    s->mean = s->normalize ? (float)scale->mean : 0.0f;
    s->std = s->normalize ? (float)scale->std : 1.0f;
    if (type != GPX_PIXEL_U8)
        return;
    for (int p = 0; p < 256; p++) {
        float x = (float)p / 255.0f;
        s->lut[p] = s->normalize ? (x - s->mean) / s->std : x;
    }
}

static inline float scaled(const scaler *s, const void *data, size_t k)
{
    if (s->type == GPX_PIXEL_U8)
        return s->lut[((const uint8_t *)data)[k]];
    float x = ((const float *)data)[k];
    return s->normalize ? (x - s->mean) / s->std : x;
}

/* One stored image (its first element at data) into dst as NCHW floats. */
static void convert_image(const scaler *s, const gpx_images *src, const void *data, float *dst)
{
    size_t plane = (size_t)src->h * (size_t)src->w, c = (size_t)src->c;
    if (src->layout == GPX_LAYOUT_NCHW) {
        for (size_t k = 0; k < c * plane; k++)
            dst[k] = scaled(s, data, k);
        return;
    }
    for (size_t ch = 0; ch < c; ch++)
        for (size_t p = 0; p < plane; p++)
            dst[ch * plane + p] = scaled(s, data, p * c + ch);
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
    scaler_init(&s, src->type, scale);
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
