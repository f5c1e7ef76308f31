/*
 * tfevents.c - TensorBoard event files: TFRecord framing with CRC-32C, and
 * the few protobuf fields of Event and Summary a scalar needs, encoded here.
 *
 *   Event         { double wall_time = 1; int64 step = 2;
 *                   string file_version = 3; Summary summary = 5; }
 *   Summary       { repeated Value value = 1; }
 *   Summary.Value { string tag = 1; float simple_value = 2; }
 */
#include "records/tfevents.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

/* ------------------------------------------------------------ CRC-32C */

/* Bit by bit (reflected polynomial 0x82F63B78): a few hundred bytes an
 * epoch do not need a table. */
static uint32_t crc32c(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* TFRecord masks its checksums, so that a CRC of data holding CRCs stays strong. */
static uint32_t masked_crc(const void *data, size_t n)
{
    uint32_t crc = crc32c(data, n);
    return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

/* ---------------------------------------------------- protobuf encoding */

/* A message being encoded; a field that would not fit sets overflow. */
typedef struct {
    unsigned char buf[2048];
    size_t        len;
    int           overflow;
} pb_buf;

static void put_bytes(pb_buf *b, const void *data, size_t n)
{
    if (b->overflow || n > sizeof b->buf - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
}

static void put_varint(pb_buf *b, uint64_t v)
{
    unsigned char out[10];
    size_t n = 0;
    do {
        out[n] = (unsigned char)(v & 0x7F);
        v >>= 7;
        out[n++] |= v ? 0x80 : 0;
    } while (v);
    put_bytes(b, out, n);
}

/* little-endian, as protobuf's fixed32/fixed64 and TFRecord's framing are */
static void put_le(pb_buf *b, uint64_t v, int nbytes)
{
    unsigned char out[8];
    for (int i = 0; i < nbytes; i++)
        out[i] = (unsigned char)(v >> (8 * i));
    put_bytes(b, out, (size_t)nbytes);
}

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_BYTES = 2, WIRE_FIXED32 = 5 };

static void put_key(pb_buf *b, unsigned field, unsigned wire)
{
    put_varint(b, (uint64_t)field << 3 | wire);
}

static void put_length_delimited(pb_buf *b, unsigned field, const void *data, size_t n)
{
    put_key(b, field, WIRE_BYTES);
    put_varint(b, n);
    put_bytes(b, data, n);
}

static void put_double(pb_buf *b, unsigned field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_key(b, field, WIRE_FIXED64);
    put_le(b, bits, 8);
}

static void put_float(pb_buf *b, unsigned field, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_key(b, field, WIRE_FIXED32);
    put_le(b, bits, 4);
}

/* An Event's wall_time (now, seconds since the epoch) and step. */
static void put_event_head(pb_buf *ev, long long step)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    put_double(ev, 1, (double)ts.tv_sec + ts.tv_nsec * 1e-9);
    put_key(ev, 2, WIRE_VARINT);
    put_varint(ev, (uint64_t)step);
}

/* A Summary.Value { tag, simple_value } appended to summary; NaN (a split the
 * run does not have) is left out. */
static void put_scalar(pb_buf *summary, const char *tag, double v)
{
    if (isnan(v))
        return;
    pb_buf value = { .len = 0 };
    put_length_delimited(&value, 1, tag, strlen(tag));
    put_float(&value, 2, (float)v);
    if (value.overflow)
        summary->overflow = 1;
    put_length_delimited(summary, 1, value.buf, value.len);
}

/* ------------------------------------------------------------ records */

/* Event ev as one TFRecord, flushed so that a viewer sees it now; a failure
 * kept in tf->error. */
static void write_record(gpx_tfevents *tf, const pb_buf *ev)
{
    if (tf->error[0])
        return;
    if (ev->overflow) {
        snprintf(tf->error, sizeof tf->error, "an event over %zu bytes", sizeof ev->buf);
        return;
    }
    pb_buf head = { .len = 0 };
    put_le(&head, ev->len, 8);
    uint32_t len_crc = masked_crc(head.buf, 8), data_crc = masked_crc(ev->buf, ev->len);
    put_le(&head, len_crc, 4);
    pb_buf tail = { .len = 0 };
    put_le(&tail, data_crc, 4);
    if (fwrite(head.buf, 1, head.len, tf->fp) != head.len ||
        fwrite(ev->buf, 1, ev->len, tf->fp) != ev->len ||
        fwrite(tail.buf, 1, tail.len, tf->fp) != tail.len || fflush(tf->fp))
        snprintf(tf->error, sizeof tf->error, "write: %s", strerror(errno));
}

int gpx_tfevents_open(gpx_tfevents *tf, const char *run_dir, char *err, size_t errlen)
{
    memset(tf, 0, sizeof *tf);
    if (gpx_mkdir_p(run_dir, err, errlen))
        return -1;
    if (gpx_join(tf->path, sizeof tf->path, run_dir, GPX_TFEVENTS_NAME))
        return gpx_fail(err, errlen, "%s/%s: path too long", run_dir, GPX_TFEVENTS_NAME);
    tf->fp = fopen(tf->path, "wb");
    if (!tf->fp)
        return gpx_fail(err, errlen, "%s: %s", tf->path, strerror(errno));
    pb_buf ev = { .len = 0 };
    static const char version[] = "brain.Event:2";
    put_event_head(&ev, 0);
    put_length_delimited(&ev, 3, version, strlen(version));
    write_record(tf, &ev);
    if (!tf->error[0])
        return 0;
    gpx_fail(err, errlen, "%s: %s", tf->path, tf->error);
    fclose(tf->fp);
    tf->fp = NULL;
    return -1;
}

int gpx_tfevents_epoch(const gpx_epoch_row *row, void *ctx)
{
    gpx_tfevents *tf = ctx;
    pb_buf summary = { .len = 0 }, ev = { .len = 0 };
    put_scalar(&summary, "loss/train", row->train_loss);
    put_scalar(&summary, "loss/val", row->val_loss);
    put_scalar(&summary, "loss/test", row->test_loss);
    put_scalar(&summary, "accuracy/train", row->train_acc);
    put_scalar(&summary, "accuracy/val", row->val_acc);
    put_scalar(&summary, "accuracy/test", row->test_acc);
    put_scalar(&summary, "lr", row->lr);
    put_scalar(&summary, "img_per_s", row->img_per_s);
    put_event_head(&ev, row->epoch);
    if (summary.overflow)
        ev.overflow = 1;
    put_length_delimited(&ev, 5, summary.buf, summary.len);
    write_record(tf, &ev);
    return 0;
}

int gpx_tfevents_close(gpx_tfevents *tf, char *err, size_t errlen)
{
    if (!tf->fp)
        return 0;
    if (fclose(tf->fp) && !tf->error[0])
        snprintf(tf->error, sizeof tf->error, "close: %s", strerror(errno));
    tf->fp = NULL;
    return tf->error[0] ? gpx_fail(err, errlen, "%s: %s", tf->path, tf->error) : 0;
}
