/*
 * idx.c - IDX files (the MNIST family's format), raw or gzip-compressed.
 *
 * A file that starts with the gzip magic is inflated member by member; any
 * other file is read as it is. The reader always reads to the end: a damaged
 * gzip stream shows up only as an inflate error or a CRC mismatch at the end
 * of its member, and what follows the last member must be another member or
 * nothing. (zlib's gz* reader skips bytes after the gzip data without a word,
 * while the same bytes after a raw payload were refused: so it is not used.)
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
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
/* inflate takes an unsigned count; stay well inside it. */
#define GPI_IDX_CHUNK        ((size_t)1 << 20)
/* The payload buffer grows from here as data arrives, so a truncated file
 * whose header claims gigabytes costs little before it is found out. */
#define GPI_IDX_FIRST_ALLOC  ((size_t)1 << 20)
/* Bytes of the file read at a time (fewer read() calls than stdio's 4 KiB). */
#define GPI_IDX_INBUF        ((size_t)1 << 17)

/* An open IDX file: its bytes pass through in[], inflated when gzip. */
typedef struct {
    FILE         *f;
    const char   *path;
    int           gzip;        /* the file starts with the gzip magic 1f 8b */
    int           member_end;  /* inflate finished a member: another or nothing follows */
    int           file_end;    /* fread has reached the end of the file */
    z_stream      z;           /* next_in/avail_in: the unread bytes of in[], raw too */
    uint64_t      in_start;    /* file offset of in[0] */
    unsigned char in[GPI_IDX_INBUF];
} idx_stream;

/* Keep the unread bytes, then read as many more as in[] holds. */
static gp_status idx_fill(idx_stream *s)
{
    size_t keep = s->z.avail_in;
    s->in_start += (uint64_t)(s->z.next_in - s->in);
    memmove(s->in, s->z.next_in, keep);
    size_t got = fread(s->in + keep, 1, sizeof s->in - keep, s->f);
    if (got < sizeof s->in - keep) {
        if (ferror(s->f))
            return gpi_fail(GP_ERR_IO, "%s: read error: %s", s->path, strerror(errno));
        s->file_end = 1;
    }
    s->z.next_in = s->in;
    s->z.avail_in = (uInt)(keep + got);
    return GP_OK;
}

static gp_status idx_damaged(const idx_stream *s, const char *what)
{
    return gpi_fail(GP_ERR_PARSE, "%s: damaged gzip data (%s)", s->path,
                    what && what[0] ? what : "zlib error");
}

/* After a member, bytes that start no other member. */
static gp_status idx_after_gzip(const idx_stream *s)
{
    return gpi_fail(GP_ERR_PARSE, "%s: trailing bytes at offset %llu, after the end of the "
                    "gzip data (they start no gzip member)", s->path,
                    (unsigned long long)(s->in_start + (uint64_t)(s->z.next_in - s->in)));
}

static gp_status idx_read_raw(idx_stream *s, unsigned char *buf, size_t len, size_t *got)
{
    while (*got < len) {
        if (!s->z.avail_in) {
            if (s->file_end)
                break;
            gp_status st = idx_fill(s);
            if (st != GP_OK)
                return st;
            continue;
        }
        size_t n = len - *got < s->z.avail_in ? len - *got : s->z.avail_in;
        memcpy(buf + *got, s->z.next_in, n);
        s->z.next_in += n;
        s->z.avail_in -= (uInt)n;
        *got += n;
    }
    return GP_OK;
}

/* At a member's end: the next member, the end of the data, or an error. */
static gp_status idx_next_member(idx_stream *s, int *data_end)
{
    *data_end = s->z.avail_in == 0;
    if (*data_end)
        return GP_OK;
    if (s->z.avail_in < 2 || s->z.next_in[0] != 0x1f || s->z.next_in[1] != 0x8b)
        return idx_after_gzip(s);
    s->member_end = 0;
    return inflateReset(&s->z) == Z_OK ? GP_OK : idx_damaged(s, s->z.msg);
}

static gp_status idx_read_gzip(idx_stream *s, unsigned char *buf, size_t len, size_t *got)
{
    while (*got < len) {
        gp_status st = GP_OK;
        int data_end = 0;
        if (s->z.avail_in < 2 && !s->file_end)
            st = idx_fill(s);
        else if (s->member_end)
            st = idx_next_member(s, &data_end);
        if (st != GP_OK || data_end)
            return st;
        if (s->member_end || (s->z.avail_in < 2 && !s->file_end))
            continue;
        size_t want = len - *got < GPI_IDX_CHUNK ? len - *got : GPI_IDX_CHUNK;
        s->z.next_out = buf + *got;
        s->z.avail_out = (uInt)want;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        *got += want - s->z.avail_out;
        if (rc == Z_STREAM_END)
            s->member_end = 1;
        else if (rc == Z_MEM_ERROR)
            return gpi_fail(GP_ERR_NOMEM, "%s: out of memory while decompressing", s->path);
        else if (rc == Z_BUF_ERROR && !s->z.avail_in && s->file_end)
            return idx_damaged(s, "unexpected end of file");
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return idx_damaged(s, s->z.msg);
    }
    return GP_OK;
}

/* Read up to len bytes into buf; *got says how many arrived (fewer only at
 * the end of the data). A damaged or cut gzip stream is an error even when
 * some bytes arrived. */
static gp_status idx_read(idx_stream *s, void *buf, size_t len, size_t *got)
{
    *got = 0;
    return s->gzip ? idx_read_gzip(s, buf, len, got) : idx_read_raw(s, buf, len, got);
}

static uint32_t idx_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Read and check the header; fills out->ndims/dims and the payload size. */
static gp_status idx_read_header(idx_stream *s, const char *path, gp_idx *out, size_t *bytes)
{
    unsigned char head[4], dimbuf[16];
    size_t got;
    gp_status st = idx_read(s, head, sizeof head, &got);
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
    st = idx_read(s, dimbuf, need, &got);
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
static gp_status idx_read_payload(idx_stream *s, const char *path, size_t bytes, uint8_t **data)
{
    size_t cap = bytes < GPI_IDX_FIRST_ALLOC ? bytes : GPI_IDX_FIRST_ALLOC;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return gpi_fail(GP_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, cap);
    size_t have = 0;
    for (;;) {
        size_t got;
        gp_status st = idx_read(s, buf + have, cap - have, &got);
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

/* After the payload there must be nothing; reading on also makes inflate
 * check the gzip trailer (CRC and length) and what follows the member. */
static gp_status idx_expect_end(idx_stream *s, const gp_idx *idx, size_t bytes)
{
    unsigned char extra[64];
    size_t got;
    gp_status st = idx_read(s, extra, sizeof extra, &got);
    if (st != GP_OK || got == 0)
        return st;
    unsigned long long offset = 4 + 4 * (unsigned long long)idx->ndims + bytes;
    return gpi_fail(GP_ERR_PARSE, "%s: trailing bytes at offset %llu%s, after the %zu-byte "
                    "payload", s->path, offset, s->gzip ? " of the decompressed data" : "",
                    bytes);
}

static gp_status idx_read_open(idx_stream *s, gp_idx *out)
{
    size_t bytes = 0;
    gp_status st = idx_fill(s);
    if (st != GP_OK)
        return st;
    s->gzip = s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (s->gzip && inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)   /* 16: gzip only */
        return gpi_fail(GP_ERR_NOMEM, "%s: out of memory for the decompressor", s->path);
    st = idx_read_header(s, s->path, out, &bytes);
    if (st == GP_OK)
        st = idx_read_payload(s, s->path, bytes, &out->data);
    if (st == GP_OK)
        st = idx_expect_end(s, out, bytes);
    if (s->gzip)
        inflateEnd(&s->z);
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
    idx_stream *s = calloc(1, sizeof *s);
    if (!idx || !s) {
        free(idx);
        free(s);
        return gpi_fail(GP_ERR_NOMEM, "%s: out of memory", path);
    }
    s->path = path;
    s->z.next_in = s->in;
    gp_status st = GP_OK;
    if (!(s->f = fopen(path, "rb")))
        st = gpi_fail(GP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (st == GP_OK)
        st = idx_read_open(s, idx);
    if (s->f && fclose(s->f) != 0 && st == GP_OK)
        st = gpi_fail(GP_ERR_IO, "%s: error closing: %s", path, strerror(errno));
    free(s);
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
