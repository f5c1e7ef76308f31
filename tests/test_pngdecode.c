/*
 * test_pngdecode.c - the PNG decoding of the imagefolder source
 * (gpx_png_decode, core/pngdir.c) and the typed .npy arrays it sits beside
 * (gp_npy_array_create): every PNG colour type and bit depth, interlaced
 * or not, with and without tRNS, written here with libpng's writer into
 * memory and decoded to 1 and 3 channels, each pixel checked against what
 * the conversion must give; sizes, truncation and a bad signature refused
 * naming the file; a .npy of each dtype read from memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <png.h>

#include "core/source.h"
#include "gpool_nn.h"
#include "testutil.h"

enum { H = 6, W = 5 };

/* The test image: pixel (r, c) as RGB, no two alike. */
static void rgb_at(int r, int c, int rgb[3])
{
    rgb[0] = (40 * r + 10) & 255;
    rgb[1] = (30 * c + 20) & 255;
    rgb[2] = (200 + 25 * r + 3 * c) & 255;
}

/* libpng's default rgb_to_gray weights (Rec. 709 in 1/32768ths). */
static int grey_of(const int rgb[3])
{
    return (6968 * rgb[0] + 23434 * rgb[1] + 2366 * rgb[2] + 16384) >> 15;
}

typedef struct {
    unsigned char *bytes;
    size_t         len, cap;
} membuf;

static void mem_write(png_structp png, png_bytep data, size_t len)
{
    membuf *m = png_get_io_ptr(png);
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->bytes = realloc(m->bytes, m->cap);
        assert_non_null(m->bytes);
    }
    memcpy(m->bytes + m->len, data, len);
    m->len += len;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* What a sample of the test image is at depth bits: 8-bit values shifted down. */
static unsigned sample(int v8, int depth)
{
    return depth == 16 ? (unsigned)v8 * 257u : (unsigned)v8 >> (8 - depth);
}

/* The samples of pixel (r, c) in colour type ct at depth (palette: index r * W + c). */
static int pixel_samples(int ct, int depth, int r, int c, unsigned out[4])
{
    int rgb[3];
    rgb_at(r, c, rgb);
    int g = grey_of(rgb);
    switch (ct) {
    case PNG_COLOR_TYPE_GRAY:       out[0] = sample(g, depth); return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: out[0] = sample(g, depth); out[1] = sample(77, depth);
                                    return 2;
    case PNG_COLOR_TYPE_PALETTE:    out[0] = (unsigned)(r * W + c); return 1;
    case PNG_COLOR_TYPE_RGB_ALPHA:  out[3] = sample(99, depth); /* fall through */
    default:
        for (int k = 0; k < 3; k++)
            out[k] = sample(rgb[k], depth);
        return ct == PNG_COLOR_TYPE_RGB ? 3 : 4;
    }
}

/* One row packed at depth bits per sample, big-endian, as PNG stores it. */
static void pack_row(int ct, int depth, int r, unsigned char *row)
{
    size_t bit = 0;
    memset(row, 0, W * 8);
    for (int c = 0; c < W; c++) {
        unsigned s[4];
        int n = pixel_samples(ct, depth, r, c, s);
        for (int k = 0; k < n; k++, bit += (size_t)depth) {
            if (depth == 16) {
                row[bit / 8] = (unsigned char)(s[k] >> 8);
                row[bit / 8 + 1] = (unsigned char)s[k];
            } else {
                row[bit / 8] |= (unsigned char)(s[k] << (8 - depth - bit % 8));
            }
        }
    }
}

/* A PNG of the test image in colour type ct at depth, in memory. */
static membuf write_png(int ct, int depth, int interlace, int trns)
{
    membuf m = { NULL, 0, 0 };
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng could not write colour type %d at %d bits", ct, depth);
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, W, H, depth, ct, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color palette[H * W];
    for (int i = 0; i < H * W; i++) {
        int rgb[3];
        rgb_at(i / W, i % W, rgb);
        palette[i] = (png_color){ (png_byte)rgb[0], (png_byte)rgb[1], (png_byte)rgb[2] };
    }
    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_PLTE(png, info, palette, H * W);
    png_byte alpha[H * W];
    memset(alpha, 128, sizeof alpha);
    png_color_16 key = { 0, 0, 0, 0, 0 };
    if (trns)
        png_set_tRNS(png, info, alpha, ct == PNG_COLOR_TYPE_PALETTE ? H * W : 0, &key);
    png_write_info(png, info);
    unsigned char rows[H][W * 8];
    png_bytep ptrs[H];
    for (int r = 0; r < H; r++) {
        pack_row(ct, depth, r, rows[r]);
        ptrs[r] = rows[r];
    }
    png_write_image(png, ptrs);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return m;
}

/* The 8-bit RGB a decoder must give for pixel (r, c) of colour type ct. */
static void expected_rgb(int ct, int depth, int r, int c, int rgb[3])
{
    rgb_at(r, c, rgb);
    if (ct & PNG_COLOR_MASK_COLOR) {
        if (ct != PNG_COLOR_TYPE_PALETTE && depth < 8)
            abort();
        return;
    }
    unsigned s[4];
    pixel_samples(ct, depth, r, c, s);
    int g = depth == 16 ? (int)(s[0] / 257) : (int)(s[0] * 255 / ((1u << depth) - 1));
    rgb[0] = rgb[1] = rgb[2] = g;
}

/* Decode ct at depth to channels and compare every pixel (grey from colour
 * within 1 of the Rec. 709 weights, libpng's own rounding). */
static void expect_decoded(int ct, int depth, int interlace, int trns, int channels)
{
    membuf m = write_png(ct, depth, interlace, trns);
    unsigned char pix[H * W * 3];
    char err[512];
    int h = 0, w = 0;
    assert_int_equal(gpx_png_decode(m.bytes, m.len, "mem.png", channels, 0, 0, &h, &w, NULL,
                                    err, sizeof err), 0);
    assert_int_equal(h, H);
    assert_int_equal(w, W);
    if (gpx_png_decode(m.bytes, m.len, "mem.png", channels, H, W, &h, &w, pix, err,
                       sizeof err) != 0)
        fail_msg("colour type %d, %d bits, interlace %d: %s", ct, depth, interlace, err);
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {
            int rgb[3];
            expected_rgb(ct, depth, r, c, rgb);
            const unsigned char *p = pix + ((size_t)r * W + c) * (size_t)channels;
            int slack = channels == 1 && (ct & PNG_COLOR_MASK_COLOR) ? 1 : 0;
            for (int k = 0; k < channels; k++) {
                int want = channels == 1 && (ct & PNG_COLOR_MASK_COLOR) ? grey_of(rgb) : rgb[k];
                if (abs(p[k] - want) > slack)
                    fail_msg("colour type %d, %d bits, interlace %d, tRNS %d, to %d channels: "
                             "pixel (%d, %d) channel %d is %d, expected %d", ct, depth,
                             interlace, trns, channels, r, c, k, p[k], want);
            }
        }
    free(m.bytes);
}

static void test_every_colour_type(void **state)
{
    (void)state;
    static const struct { int ct, depth; } kinds[] = {
        { PNG_COLOR_TYPE_GRAY, 1 }, { PNG_COLOR_TYPE_GRAY, 2 }, { PNG_COLOR_TYPE_GRAY, 4 },
        { PNG_COLOR_TYPE_GRAY, 8 }, { PNG_COLOR_TYPE_GRAY, 16 },
        { PNG_COLOR_TYPE_GRAY_ALPHA, 8 }, { PNG_COLOR_TYPE_GRAY_ALPHA, 16 },
        { PNG_COLOR_TYPE_PALETTE, 8 }, { PNG_COLOR_TYPE_RGB, 8 }, { PNG_COLOR_TYPE_RGB, 16 },
        { PNG_COLOR_TYPE_RGB_ALPHA, 8 }, { PNG_COLOR_TYPE_RGB_ALPHA, 16 },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        for (int channels = 1; channels <= 3; channels += 2)
            for (int interlace = 0; interlace <= 1; interlace++)
                expect_decoded(kinds[i].ct, kinds[i].depth, interlace, 0, channels);
    /* tRNS: transparency of a palette, or a grey / RGB key colour, dropped */
    expect_decoded(PNG_COLOR_TYPE_PALETTE, 8, 0, 1, 3);
    expect_decoded(PNG_COLOR_TYPE_GRAY, 8, 0, 1, 3);
    expect_decoded(PNG_COLOR_TYPE_RGB, 8, 1, 1, 1);
}

static void test_bad_pngs(void **state)
{
    (void)state;
    membuf m = write_png(PNG_COLOR_TYPE_RGB, 8, 0, 0);
    unsigned char pix[H * W * 3];
    char err[512];
    int h, w;
    assert_int_equal(gpx_png_decode(m.bytes, m.len, "odd.png", 3, H, W + 1, &h, &w, pix, err,
                                    sizeof err), -1);
    assert_non_null(strstr(err, "odd.png: 6 x 5 pixels (height x width), the first image is "
                                "6 x 6"));
    assert_int_equal(gpx_png_decode(m.bytes, m.len - 20, "cut.png", 3, H, W, &h, &w, pix, err,
                                    sizeof err), -1);
    assert_non_null(strstr(err, "cut.png: "));
    m.bytes[1] = 'X';
    assert_int_equal(gpx_png_decode(m.bytes, m.len, "sig.png", 3, H, W, &h, &w, pix, err,
                                    sizeof err), -1);
    assert_non_null(strstr(err, "sig.png: not a PNG file"));
    free(m.bytes);
}

/* A .npy in memory: numpy's header for descr and shape, then data. */
static size_t npy_bytes(unsigned char *buf, const char *descr, const char *shape,
                        const void *data, size_t len)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    size_t hlen = (size_t)((10 + n + 1 + 63) / 64 * 64 - 10);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 255);
    buf[9] = (unsigned char)(hlen >> 8);
    memset(buf + 10, ' ', hlen);
    memcpy(buf + 10, dict, (size_t)n);
    buf[10 + hlen - 1] = '\n';
    memcpy(buf + 10 + hlen, data, len);
    return 10 + hlen + len;
}

static void test_npy_dtypes(void **state)
{
    (void)state;
    unsigned char buf[512];
    uint8_t u8[6] = { 3, 250, 7, 0, 128, 9 };
    int64_t i64[3] = { 5, -4, 1LL << 40 };
    gp_npy_array *a = NULL;
    size_t len = npy_bytes(buf, "|u1", "(2, 3)", u8, sizeof u8);
    assert_int_equal(gp_npy_array_create(&a, "u8.npy", buf, len), GP_OK);
    assert_int_equal(a->dtype, GP_NPY_U8);
    assert_int_equal(a->ndims, 2);
    assert_int_equal(a->dims[1], 3);
    assert_memory_equal(a->data, u8, sizeof u8);
    gp_npy_array_destroy(a);
    len = npy_bytes(buf, "<i8", "(3,)", i64, sizeof i64);
    assert_int_equal(gp_npy_array_create(&a, "i64.npy", buf, len), GP_OK);
    assert_int_equal(a->dtype, GP_NPY_I64);
    assert_memory_equal(a->data, i64, sizeof i64);
    gp_npy_array_destroy(a);
    assert_int_equal(gp_npy_array_create(&a, "short.npy", buf, len - 1), GP_ERR_PARSE);
    assert_null(a);
    assert_non_null(strstr(gp_last_error(), "short.npy: shape (3,) of 8-byte elements needs 24 "
                                            "bytes of data, the file has 23"));
    len = npy_bytes(buf, "<f8", "(3,)", i64, sizeof i64);
    assert_int_equal(gp_npy_array_create(&a, "f8.npy", buf, len), GP_ERR_PARSE);
    assert_non_null(strstr(gp_last_error(), "f8.npy: dtype '<f8' not supported"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_colour_type),
        cmocka_unit_test(test_bad_pngs),
        cmocka_unit_test(test_npy_dtypes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
