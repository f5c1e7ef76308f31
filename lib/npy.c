/*
 * npy.c - .npy files, the format numpy.save writes.
 *
 * Checkpoints write and read float32 ('<f4'), C order, versions 1.0 and 2.0
 * on read, 1.0 on write. Data sets read arrays of the element types images
 * and labels come in (gp_npy_array_create: uint8, int32, int64, float32),
 * from a file or from bytes already in memory (a member of an .npz archive
 * its caller unpacked). The header is a Python dict literal; the reader
 * parses the subset numpy emits (three keys, string / bool / int-tuple
 * values) instead of trusting fixed offsets, so files written by any numpy
 * version load.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpi.h"
#include "gpool_nn.h"

#define GPI_NPY_MAGIC       "\x93NUMPY"
#define GPI_NPY_MAGIC_LEN   6
#define GPI_NPY_MAX_DIMS    8
/* numpy pads the header so the data starts on a 64-byte boundary (mmap and
 * aligned loads); matching it keeps our files byte-identical to numpy's. */
#define GPI_NPY_ALIGN       64
/* numpy's own reader refuses headers above 10 KB by default; anything
 * larger is corruption, and the limit keeps a bad length from asking for
 * gigabytes. */
#define GPI_NPY_MAX_HEADER  (1u << 16)

static int npy_host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Reverse the bytes of each of count elements of size bytes at p. */
static void npy_swap(unsigned char *p, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

static void npy_swap32(unsigned char *p, size_t count)
{
    npy_swap(p, count, 4);
}

/* ------------------------------------------------------------- writing */

/* "()", "(3,)" or "(2, 3)": Python's tuple repr, as numpy writes it. */
static size_t npy_format_shape(char *buf, size_t cap, const size_t *dims, int ndims)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndims && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%zu", i ? ", " : "", dims[i]);
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, ndims == 1 ? ",)" : ")");
    return n;
}

/* The dict, padded with spaces and ended by a newline so that magic (6) +
 * version (2) + length (2) + dict is a multiple of GPI_NPY_ALIGN. */
static gp_status npy_format_header(char *buf, size_t cap, const size_t *dims, int ndims,
                                   size_t *len)
{
    char shape[256];
    npy_format_shape(shape, sizeof shape, dims, ndims);
    size_t n = (size_t)snprintf(buf, cap, "{'descr': '<f4', 'fortran_order': False, "
                                "'shape': %s, }", shape);
    size_t padded = (10 + n + 1 + GPI_NPY_ALIGN - 1) / GPI_NPY_ALIGN * GPI_NPY_ALIGN - 10;
    if (padded >= cap)
        return gpi_fail(GP_ERR_ARG, "gp_npy_write: header too long");
    memset(buf + n, ' ', padded - n - 1);
    buf[padded - 1] = '\n';
    *len = padded;
    return GP_OK;
}

static gp_status npy_check_write_args(const char *path, const float *data,
                                      const size_t *dims, int ndims)
{
    if (!path || !data || (ndims > 0 && !dims))
        return gpi_fail(GP_ERR_ARG, "gp_npy_write: NULL argument");
    if (ndims < 0 || ndims > GPI_NPY_MAX_DIMS)
        return gpi_fail(GP_ERR_ARG, "gp_npy_write: %d dimensions (0 to %d supported)",
                        ndims, GPI_NPY_MAX_DIMS);
    return GP_OK;
}

/* Product of dims, refusing shapes whose byte size overflows size_t. */
static gp_status npy_count(const size_t *dims, int ndims, const char *path, size_t *count)
{
    *count = 1;
    for (int i = 0; i < ndims; i++) {
        if (dims[i] && *count > SIZE_MAX / sizeof(float) / dims[i])
            return gpi_fail(GP_ERR_PARSE, "%s: shape too large", path);
        *count *= dims[i];
    }
    return GP_OK;
}

static gp_status npy_write_data(FILE *fp, const char *path, const float *data, size_t count)
{
    if (npy_host_is_little_endian()) {
        if (fwrite(data, sizeof(float), count, fp) != count)
            return gpi_fail(GP_ERR_IO, "%s: write error: %s", path, strerror(errno));
        return GP_OK;
    }
    unsigned char chunk[4096];
    for (size_t done = 0; done < count;) {
        size_t k = count - done < sizeof chunk / 4 ? count - done : sizeof chunk / 4;
        memcpy(chunk, data + done, 4 * k);
        npy_swap32(chunk, k);
        if (fwrite(chunk, 4, k, fp) != k)
            return gpi_fail(GP_ERR_IO, "%s: write error: %s", path, strerror(errno));
        done += k;
    }
    return GP_OK;
}

gp_status gp_npy_write(const char *path, const float *data, const size_t *dims, int ndims)
{
    gp_status st = npy_check_write_args(path, data, dims, ndims);
    size_t count = 0, hlen = 0;
    char header[512];
    if (st == GP_OK)
        st = npy_count(dims, ndims, path, &count);
    if (st == GP_OK)
        st = npy_format_header(header, sizeof header, dims, ndims, &hlen);
    if (st != GP_OK)
        return st;
    unsigned char pre[10];
    memcpy(pre, GPI_NPY_MAGIC, GPI_NPY_MAGIC_LEN);
    pre[6] = 1;     /* version 1.0: a 2-byte header length is plenty */
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);

    FILE *fp = fopen(path, "wb");
    if (!fp)
        return gpi_fail(GP_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    if (fwrite(pre, 1, sizeof pre, fp) != sizeof pre || fwrite(header, 1, hlen, fp) != hlen)
        st = gpi_fail(GP_ERR_IO, "%s: write error: %s", path, strerror(errno));
    if (st == GP_OK)
        st = npy_write_data(fp, path, data, count);
    if (fclose(fp) != 0 && st == GP_OK)
        st = gpi_fail(GP_ERR_IO, "%s: write error: %s", path, strerror(errno));
    if (st != GP_OK) {
        remove(path);
        return st;
    }
    gpi_clear_error();
    return GP_OK;
}

/* ------------------------------------------------------------- reading */

typedef struct {
    const char *s;      /* the header text (NUL-terminated copy) */
    const char *path;
} npy_lexer;

static void npy_skip_space(npy_lexer *lx)
{
    while (*lx->s == ' ' || *lx->s == '\t' || *lx->s == '\n' || *lx->s == '\r')
        lx->s++;
}

static int npy_accept(npy_lexer *lx, char c)
{
    npy_skip_space(lx);
    if (*lx->s != c)
        return 0;
    lx->s++;
    return 1;
}

/* A quoted Python string (either quote, no escapes: numpy never needs them
 * for these keys and values). */
static gp_status npy_string(npy_lexer *lx, char *out, size_t cap)
{
    npy_skip_space(lx);
    char q = *lx->s;
    if (q != '\'' && q != '"')
        return gpi_fail(GP_ERR_PARSE, "%s: malformed header (expected a string)", lx->path);
    const char *end = strchr(lx->s + 1, q);
    if (!end || (size_t)(end - lx->s - 1) >= cap)
        return gpi_fail(GP_ERR_PARSE, "%s: malformed header (bad string)", lx->path);
    memcpy(out, lx->s + 1, (size_t)(end - lx->s - 1));
    out[end - lx->s - 1] = '\0';
    lx->s = end + 1;
    return GP_OK;
}

static gp_status npy_bool(npy_lexer *lx, int *value)
{
    npy_skip_space(lx);
    if (strncmp(lx->s, "False", 5) == 0) {
        *value = 0;
        lx->s += 5;
    } else if (strncmp(lx->s, "True", 4) == 0) {
        *value = 1;
        lx->s += 4;
    } else {
        return gpi_fail(GP_ERR_PARSE, "%s: malformed header (fortran_order is not "
                        "True or False)", lx->path);
    }
    return GP_OK;
}

/* "(d0, d1, ...)" with an optional trailing comma; "()" for a scalar. */
static gp_status npy_shape(npy_lexer *lx, size_t *dims, int *ndims)
{
    if (!npy_accept(lx, '('))
        return gpi_fail(GP_ERR_PARSE, "%s: malformed header (shape is not a tuple)", lx->path);
    *ndims = 0;
    while (!npy_accept(lx, ')')) {
        npy_skip_space(lx);
        if (*lx->s < '0' || *lx->s > '9')
            return gpi_fail(GP_ERR_PARSE, "%s: malformed header (bad shape entry)", lx->path);
        if (*ndims == GPI_NPY_MAX_DIMS)
            return gpi_fail(GP_ERR_PARSE, "%s: more than %d dimensions", lx->path,
                            GPI_NPY_MAX_DIMS);
        char *end;
        errno = 0;
        unsigned long long d = strtoull(lx->s, &end, 10);
        if (errno || d > SIZE_MAX)
            return gpi_fail(GP_ERR_PARSE, "%s: shape entry out of range", lx->path);
        dims[(*ndims)++] = (size_t)d;
        lx->s = end;
        if (!npy_accept(lx, ',')) {
            if (!npy_accept(lx, ')'))
                return gpi_fail(GP_ERR_PARSE, "%s: malformed header (shape)", lx->path);
            break;
        }
    }
    return GP_OK;
}

typedef struct {
    char   descr[32];
    int    fortran;
    size_t dims[GPI_NPY_MAX_DIMS];
    int    ndims;
    int    seen;        /* bit 0 descr, 1 fortran_order, 2 shape */
} npy_header;

static gp_status npy_entry(npy_lexer *lx, npy_header *h)
{
    char key[32];
    gp_status st = npy_string(lx, key, sizeof key);
    if (st != GP_OK)
        return st;
    if (!npy_accept(lx, ':'))
        return gpi_fail(GP_ERR_PARSE, "%s: malformed header (missing ':')", lx->path);
    if (strcmp(key, "descr") == 0) {
        h->seen |= 1;
        return npy_string(lx, h->descr, sizeof h->descr);
    }
    if (strcmp(key, "fortran_order") == 0) {
        h->seen |= 2;
        return npy_bool(lx, &h->fortran);
    }
    if (strcmp(key, "shape") == 0) {
        h->seen |= 4;
        return npy_shape(lx, h->dims, &h->ndims);
    }
    return gpi_fail(GP_ERR_PARSE, "%s: unexpected header key '%s'", lx->path, key);
}

static gp_status npy_parse_header(const char *text, const char *path, npy_header *h)
{
    npy_lexer lx = { text, path };
    memset(h, 0, sizeof *h);
    if (!npy_accept(&lx, '{'))
        return gpi_fail(GP_ERR_PARSE, "%s: malformed header (no dict)", path);
    while (!npy_accept(&lx, '}')) {
        gp_status st = npy_entry(&lx, h);
        if (st != GP_OK)
            return st;
        if (!npy_accept(&lx, ',')) {
            if (!npy_accept(&lx, '}'))
                return gpi_fail(GP_ERR_PARSE, "%s: malformed header (dict)", path);
            break;
        }
    }
    npy_skip_space(&lx);
    if (*lx.s != '\0')
        return gpi_fail(GP_ERR_PARSE, "%s: malformed header (text after the dict)", path);
    if (h->seen != 7)
        return gpi_fail(GP_ERR_PARSE, "%s: header lacks descr, fortran_order or shape", path);
    return GP_OK;
}

/* Magic, version and header length; leaves fp at the dict. */
static gp_status npy_read_preamble(FILE *fp, const char *path, size_t *hlen)
{
    unsigned char pre[12];
    if (fread(pre, 1, 8, fp) != 8)
        return gpi_fail(GP_ERR_PARSE, "%s: truncated header", path);
    if (memcmp(pre, GPI_NPY_MAGIC, GPI_NPY_MAGIC_LEN) != 0)
        return gpi_fail(GP_ERR_PARSE, "%s: not a .npy file (bad magic)", path);
    int major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2) || minor != 0)
        return gpi_fail(GP_ERR_PARSE, "%s: .npy format version %d.%d not supported "
                        "(1.0 and 2.0 are)", path, major, minor);
    size_t lenbytes = major == 1 ? 2 : 4;
    if (fread(pre + 8, 1, lenbytes, fp) != lenbytes)
        return gpi_fail(GP_ERR_PARSE, "%s: truncated header", path);
    *hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (major == 2)
        *hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    if (*hlen == 0 || *hlen > GPI_NPY_MAX_HEADER)
        return gpi_fail(GP_ERR_PARSE, "%s: implausible header length %zu", path, *hlen);
    return GP_OK;
}

static gp_status npy_read_header(FILE *fp, const char *path, npy_header *h)
{
    size_t hlen = 0;
    gp_status st = npy_read_preamble(fp, path, &hlen);
    if (st != GP_OK)
        return st;
    char *text = malloc(hlen + 1);
    if (!text)
        return gpi_fail(GP_ERR_NOMEM, "%s: out of memory", path);
    if (fread(text, 1, hlen, fp) != hlen) {
        free(text);
        return gpi_fail(GP_ERR_PARSE, "%s: truncated header", path);
    }
    text[hlen] = '\0';
    if (strlen(text) != hlen)
        st = gpi_fail(GP_ERR_PARSE, "%s: NUL byte in header", path);
    else
        st = npy_parse_header(text, path, h);
    free(text);
    return st;
}

/* The header must describe exactly count little-endian float32 in C order. */
static gp_status npy_check_header(const npy_header *h, const char *path, size_t count)
{
    if (strcmp(h->descr, "<f4") != 0)
        return gpi_fail(GP_ERR_PARSE, "%s: dtype '%s' not supported (only '<f4')",
                        path, h->descr);
    if (h->fortran)
        return gpi_fail(GP_ERR_PARSE, "%s: Fortran-order data not supported", path);
    size_t have = 0;
    gp_status st = npy_count(h->dims, h->ndims, path, &have);
    if (st != GP_OK)
        return st;
    if (have != count) {
        char shape[256];
        npy_format_shape(shape, sizeof shape, h->dims, h->ndims);
        return gpi_fail(GP_ERR_PARSE, "%s: shape %s holds %zu floats, expected %zu",
                        path, shape, have, count);
    }
    return GP_OK;
}

static gp_status npy_read_data(FILE *fp, const char *path, float *data, size_t count)
{
    size_t got = fread(data, sizeof(float), count, fp);
    if (got != count)
        return gpi_fail(ferror(fp) ? GP_ERR_IO : GP_ERR_PARSE,
                        "%s: truncated data: expected %zu floats, got %zu", path, count, got);
    if (fgetc(fp) != EOF)
        return gpi_fail(GP_ERR_PARSE, "%s: trailing bytes after %zu floats", path, count);
    if (!npy_host_is_little_endian())
        npy_swap32((unsigned char *)data, count);
    return GP_OK;
}

gp_status gp_npy_read(const char *path, float *data, size_t count, size_t *dims, int *ndims)
{
    if (!path || (!data && count))
        return gpi_fail(GP_ERR_ARG, "gp_npy_read: NULL argument");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return gpi_fail(GP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    npy_header h;
    gp_status st = npy_read_header(fp, path, &h);
    if (st == GP_OK)
        st = npy_check_header(&h, path, count);
    if (st == GP_OK)
        st = npy_read_data(fp, path, data, count);
    fclose(fp);
    if (st != GP_OK)
        return st;
    if (dims)
        memcpy(dims, h.dims, (size_t)h.ndims * sizeof *dims);
    if (ndims)
        *ndims = h.ndims;
    gpi_clear_error();
    return GP_OK;
}

/* ------------------------------------------------------ typed arrays */

/* numpy's descr of each gp_npy_dtype, little-endian ('|' for one byte:
 * numpy writes '|u1'; '<u1' is accepted too), and its element size. */
static const struct {
    const char  *descr, *alias;
    size_t       size;
} npy_dtypes[] = {
    [GP_NPY_F32] = { "<f4", NULL, 4 },
    [GP_NPY_U8]  = { "|u1", "<u1", 1 },
    [GP_NPY_I32] = { "<i4", NULL, 4 },
    [GP_NPY_I64] = { "<i8", NULL, 8 },
};

size_t gp_npy_dtype_size(gp_npy_dtype t)
{
    return (unsigned)t < sizeof npy_dtypes / sizeof npy_dtypes[0] ? npy_dtypes[t].size : 0;
}

static gp_status npy_dtype_of(const npy_header *h, const char *path, gp_npy_dtype *t)
{
    for (size_t i = 0; i < sizeof npy_dtypes / sizeof npy_dtypes[0]; i++)
        if (strcmp(h->descr, npy_dtypes[i].descr) == 0 ||
            (npy_dtypes[i].alias && strcmp(h->descr, npy_dtypes[i].alias) == 0)) {
            *t = (gp_npy_dtype)i;
            return GP_OK;
        }
    return gpi_fail(GP_ERR_PARSE, "%s: dtype '%s' not supported (uint8 '|u1', int32 '<i4', "
                    "int64 '<i8' or float32 '<f4')", path, h->descr);
}

/* The bytes of fp from where it stands to its end; fp is left where it was. */
static gp_status npy_bytes_left(FILE *fp, const char *path, size_t *left)
{
    long at = ftell(fp);
    if (at < 0 || fseek(fp, 0, SEEK_END) != 0)
        return gpi_fail(GP_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    long end = ftell(fp);
    if (end < at || fseek(fp, at, SEEK_SET) != 0)
        return gpi_fail(GP_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
    *left = (size_t)(end - at);
    return GP_OK;
}

/* The array's data: exactly the shape's bytes must follow the header, so
 * a bad shape is refused before anything is allocated for it. */
static gp_status npy_array_data(FILE *fp, const char *path, gp_npy_array *a)
{
    size_t count = 0, left = 0, size = gp_npy_dtype_size(a->dtype);
    gp_status st = npy_count(a->dims, a->ndims, path, &count);
    if (st == GP_OK && count > SIZE_MAX / size)
        st = gpi_fail(GP_ERR_PARSE, "%s: shape too large", path);
    if (st == GP_OK)
        st = npy_bytes_left(fp, path, &left);
    if (st != GP_OK)
        return st;
    if (left != count * size) {
        char shape[256];
        npy_format_shape(shape, sizeof shape, a->dims, a->ndims);
        return gpi_fail(GP_ERR_PARSE, "%s: shape %s of %zu-byte elements needs %zu bytes of "
                        "data, the file has %zu after its header (at byte offset %ld)%s", path,
                        shape, size, count * size, left, ftell(fp),
                        left < count * size ? ": truncated" : ": trailing bytes");
    }
    a->count = count;
    a->data = malloc(count * size + 1);
    if (!a->data)
        return gpi_fail(GP_ERR_NOMEM, "%s: out of memory for %zu bytes", path, count * size);
    if (fread(a->data, 1, count * size, fp) != count * size)
        return gpi_fail(GP_ERR_IO, "%s: read error: %s", path, strerror(errno));
    if (!npy_host_is_little_endian() && size > 1)
        npy_swap(a->data, count, size);
    return GP_OK;
}

static gp_status npy_array_read(FILE *fp, const char *path, gp_npy_array *a)
{
    npy_header h;
    gp_status st = npy_read_header(fp, path, &h);
    if (st == GP_OK)
        st = npy_dtype_of(&h, path, &a->dtype);
    if (st == GP_OK && h.fortran)
        st = gpi_fail(GP_ERR_PARSE, "%s: Fortran-order data not supported (save a C-order "
                      "array: numpy.ascontiguousarray)", path);
    if (st != GP_OK)
        return st;
    a->ndims = h.ndims;
    memcpy(a->dims, h.dims, sizeof a->dims);
    return npy_array_data(fp, path, a);
}

gp_status gp_npy_array_create(gp_npy_array **out, const char *path, const void *bytes,
                              size_t len)
{
    if (!out || !path)
        return gpi_fail(GP_ERR_ARG, "gp_npy_array_create: NULL argument");
    *out = NULL;
    if (bytes && len < 10)   /* fmemopen refuses an empty buffer; no header fits anyway */
        return gpi_fail(GP_ERR_PARSE, "%s: truncated header", path);
    FILE *fp = bytes ? fmemopen((void *)bytes, len, "rb") : fopen(path, "rb");
    if (!fp)
        return gpi_fail(GP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    gp_npy_array *a = calloc(1, sizeof *a);
    gp_status st = a ? npy_array_read(fp, path, a)
                     : gpi_fail(GP_ERR_NOMEM, "%s: out of memory", path);
    fclose(fp);
    if (st != GP_OK) {
        gp_npy_array_destroy(a);
        return st;
    }
    *out = a;
    gpi_clear_error();
    return GP_OK;
}

void gp_npy_array_destroy(gp_npy_array *a)
{
    if (!a)
        return;
    free(a->data);
    free(a);
}
