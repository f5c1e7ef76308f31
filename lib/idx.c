/*
 * idx.c - IDX files (the MNIST family's format), raw or gzip-compressed.
 *
 * zlib's gz* reader passes raw files through unchanged, so one path serves
 * both. A damaged gzip stream shows up only as inflate errors or a CRC
 * mismatch at the end of the member, so the reader always reads to the end
 * and checks zlib's error state, not just the byte count.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "gpi.h"
#include "gpool_nn.h"

#define GPI_IDX_TYPE_UBYTE   0x08
/* No data set this library is meant for comes near 16 GiB; a header asking
 * for more is corrupt, and refusing it keeps the size arithmetic far from
 * overflow. */
#define GPI_IDX_MAX_BYTES    ((uint64_t)1 << 34)
/* gzread takes an unsigned count; stay well inside it. */
#define GPI_IDX_CHUNK        ((size_t)1 << 20)
/* The payload buffer grows from here as data arrives, so a truncated file
 * whose header claims gigabytes costs little before it is found out. */
#define GPI_IDX_FIRST_ALLOC  ((size_t)1 << 20)

/* The status and message for zlib's current error on gz. */
static gp_status idx_zlib_error(gzFile gz, const char *path)
{
    int code = Z_OK;
    const char *msg = gzerror(gz, &code);
    if (code == Z_ERRNO)
        return gpi_fail(GP_ERR_IO, "%s: read error: %s", path, strerror(errno));
    if (code == Z_MEM_ERROR)
        return gpi_fail(GP_ERR_NOMEM, "%s: out of memory while decompressing", path);
    /* zlib's message is "PATH: what"; we name the file ourselves */
    size_t plen = strlen(path);
    if (msg && strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
        msg += plen + 2;
    return gpi_fail(GP_ERR_PARSE, "%s: damaged gzip data (%s)", path,
                    msg && msg[0] ? msg : "zlib error");
}

/* Read up to len bytes into buf; *got says how many arrived (fewer only at
 * the end of the data). Any zlib error, including a gzip stream that ends
 * early, is an error even when some bytes arrived. */
static gp_status idx_read(gzFile gz, const char *path, void *buf, size_t len, size_t *got)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got < GPI_IDX_CHUNK ? len - *got : GPI_IDX_CHUNK;
        int n = gzread(gz, (unsigned char *)buf + *got, (unsigned)want);
        if (n < 0)
            return idx_zlib_error(gz, path);
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    int code = Z_OK;
    gzerror(gz, &code);
    return code == Z_OK ? GP_OK : idx_zlib_error(gz, path);
}

static uint32_t idx_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Read and check the header; fills out->ndims/dims and the payload size. */
static gp_status idx_read_header(gzFile gz, const char *path, gp_idx *out, size_t *bytes)
{
    unsigned char head[4], dimbuf[16];
    size_t got;
    gp_status st = idx_read(gz, path, head, sizeof head, &got);
    if (st != GP_OK)
        return st;
    if (got < sizeof head)
        return gpi_fail(GP_ERR_PARSE, "%s: truncated header: expected 4 bytes, got %zu",
                        path, got);
    if (head[0] != 0 || head[1] != 0)
        return gpi_fail(GP_ERR_PARSE, "%s: not an IDX file (magic 0x%02x 0x%02x, "
                        "expected 0x00 0x00)", path, head[0], head[1]);
    if (head[2] != GPI_IDX_TYPE_UBYTE)
        return gpi_fail(GP_ERR_PARSE, "%s: type 0x%02x not supported (only 0x08, "
                        "unsigned byte)", path, head[2]);
    int ndims = head[3];
    if (ndims < 1 || ndims > 4)
        return gpi_fail(GP_ERR_PARSE, "%s: %d dimensions not supported (1 to 4)",
                        path, ndims);
    size_t need = 4 * (size_t)ndims;
    st = idx_read(gz, path, dimbuf, need, &got);
    if (st != GP_OK)
        return st;
    if (got < need)
        return gpi_fail(GP_ERR_PARSE, "%s: truncated header: expected %zu dimension "
                        "bytes, got %zu", path, need, got);
    uint64_t total = 1;
    for (int i = 0; i < ndims; i++) {
        uint32_t d = idx_be32(dimbuf + 4 * i);
        if (d == 0)
            return gpi_fail(GP_ERR_PARSE, "%s: dimension %d is zero", path, i);
        if (total > GPI_IDX_MAX_BYTES / d)
            return gpi_fail(GP_ERR_PARSE, "%s: dimensions ask for more than %llu bytes "
                            "(corrupt header?)", path, (unsigned long long)GPI_IDX_MAX_BYTES);
        total *= d;
        out->dims[i] = d;
    }
    if (total > SIZE_MAX)
        return gpi_fail(GP_ERR_PARSE, "%s: payload of %llu bytes does not fit in memory",
                        path, (unsigned long long)total);
    out->ndims = ndims;
    *bytes = (size_t)total;
    return GP_OK;
}

/* Read exactly `bytes` payload bytes into a new buffer. */
static gp_status idx_read_payload(gzFile gz, const char *path, size_t bytes, uint8_t **data)
{
    size_t cap = bytes < GPI_IDX_FIRST_ALLOC ? bytes : GPI_IDX_FIRST_ALLOC;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return gpi_fail(GP_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, cap);
    size_t have = 0;
    for (;;) {
        size_t got;
        gp_status st = idx_read(gz, path, buf + have, cap - have, &got);
        have += got;
        if (st != GP_OK) {
            free(buf);
            return st;
        }
        if (have < cap || cap == bytes)
            break;
        size_t next = cap > bytes / 2 ? bytes : 2 * cap;
        uint8_t *grown = realloc(buf, next);
        if (!grown) {
            free(buf);
            return gpi_fail(GP_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, next);
        }
        buf = grown;
        cap = next;
    }
    if (have < bytes) {
        free(buf);
        return gpi_fail(GP_ERR_PARSE, "%s: truncated payload: expected %zu bytes, got %zu",
                        path, bytes, have);
    }
    *data = buf;
    return GP_OK;
}

/* After the payload there must be nothing; reading on also makes zlib check
 * the gzip trailer (CRC and length). */
static gp_status idx_expect_end(gzFile gz, const char *path, size_t bytes)
{
    unsigned char extra[64];
    size_t got;
    gp_status st = idx_read(gz, path, extra, sizeof extra, &got);
    if (st != GP_OK)
        return st;
    if (got > 0)
        return gpi_fail(GP_ERR_PARSE, "%s: trailing bytes after the %zu-byte payload",
                        path, bytes);
    return GP_OK;
}

static gp_status idx_read_open(gzFile gz, const char *path, gp_idx *out)
{
    size_t bytes = 0;
    gp_status st = idx_read_header(gz, path, out, &bytes);
    if (st == GP_OK)
        st = idx_read_payload(gz, path, bytes, &out->data);
    if (st == GP_OK)
        st = idx_expect_end(gz, path, bytes);
    return st;
}

gp_status gp_idx_create(gp_idx **out, const char *path)
{
    if (!out)
        return gpi_fail(GP_ERR_ARG, "gp_idx_create: out is NULL");
    *out = NULL;
    if (!path)
        return gpi_fail(GP_ERR_ARG, "gp_idx_create: path is NULL");
    gp_idx *idx = calloc(1, sizeof *idx);
    if (!idx)
        return gpi_fail(GP_ERR_NOMEM, "%s: out of memory", path);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        free(idx);
        return gpi_fail(errno == 0 ? GP_ERR_NOMEM : GP_ERR_IO, "%s: cannot open: %s", path,
                        errno == 0 ? "out of memory" : strerror(errno));
    }
    gzbuffer(gz, 1u << 17);   /* fewer read() calls than the 8 KiB default */
    gp_status st = idx_read_open(gz, path, idx);
    int closed = gzclose_r(gz);
    if (st == GP_OK && closed != Z_OK)
        st = closed == Z_ERRNO
                 ? gpi_fail(GP_ERR_IO, "%s: error closing: %s", path, strerror(errno))
                 : gpi_fail(GP_ERR_PARSE, "%s: damaged gzip data (zlib code %d at close)",
                            path, closed);
    if (st != GP_OK) {
        gp_idx_destroy(idx);
        return st;
    }
    *out = idx;
    gpi_clear_error();
    return GP_OK;
}

void gp_idx_destroy(gp_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    free(idx);
}
