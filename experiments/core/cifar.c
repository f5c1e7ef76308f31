/*
 * cifar.c - CIFAR-10's binary format (see core/source.h).
 *
 * The "binary version" of CIFAR-10 is six files of records, each one label
 * byte (0..9) and 3,072 pixel bytes: the red plane, then green, then blue,
 * of a 32 x 32 image, rows top to bottom. That is NCHW bytes as they are,
 * so a record's pixels are copied in one piece. The reader is strict: a
 * file whose size is not a whole number of records, or a label outside
 * 0..9, is an error naming the file, the record and its byte offset.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/source.h"
#include "util/util.h"

#define CIFAR_SIDE     32
#define CIFAR_CHANNELS 3
#define CIFAR_PIXELS   (CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD   (1 + CIFAR_PIXELS)
#define CIFAR_CLASSES  10
#define CIFAR_TRAIN_FILES 5
#define CIFAR_FILES    6
#define CIFAR_SUBDIR   "cifar-10-batches-bin"
#define CIFAR_HINT \
    "download the \"CIFAR-10 binary version\" from https://www.cs.toronto.edu/~kriz/cifar.html, " \
    "unpack it and point data.dir (or GPOOL_DATA) at it"

static const char *const cifar_names[CIFAR_FILES] = {
    "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
    "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
};

static int cifar_path(const char *dir, const char *name, char *path, size_t len)
{
    int n = snprintf(path, len, "%s%s%s", dir,
                     dir[0] && dir[strlen(dir) - 1] != '/' ? "/" : "", name);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

/* The first of the six files dir lacks, or NULL when it has all. */
static const char *cifar_missing(const char *dir)
{
    char path[4096];
    for (int i = 0; i < CIFAR_FILES; i++)
        if (cifar_path(dir, cifar_names[i], path, sizeof path) != 0 ||
            access(path, R_OK) != 0)
            return cifar_names[i];
    return NULL;
}

/* The directory to read: spec->dir, else the first candidate holding all
 * six files; the error names the missing file or every place searched. */
static int cifar_dir(const gpx_data_spec *spec, char *dir, size_t len, char *err,
                     size_t errlen)
{
    const char *given = spec->dir && spec->dir[0] ? spec->dir : NULL;
    const char *env = getenv("GPOOL_DATA");
    char cand[3][4096];
    int n = 0;
    if (given)
        snprintf(cand[n++], sizeof cand[0], "%s", given);
    else {
        if (env && env[0]) {
            snprintf(cand[n++], sizeof cand[0], "%s/%s", env, CIFAR_SUBDIR);
            snprintf(cand[n++], sizeof cand[0], "%s", env);
        }
        snprintf(cand[n++], sizeof cand[0], "./data/%s", CIFAR_SUBDIR);
    }
    for (int i = 0; i < n; i++)
        if (!cifar_missing(cand[i]))
            return snprintf(dir, len, "%s", cand[i]) < (int)len ? 0
                   : gpx_fail(err, errlen, "%s: directory name too long", cand[i]);
    if (given)
        return gpx_fail(err, errlen, "%s: no readable %s in this directory (CIFAR-10 needs "
                        "data_batch_1.bin .. data_batch_5.bin and test_batch.bin); %s", given,
                        cifar_missing(given), CIFAR_HINT);
    return gpx_fail(err, errlen, "CIFAR-10 not found: no directory holds data_batch_1.bin .. "
                    "data_batch_5.bin and test_batch.bin; searched %s%s%s%s%s%s; %s", cand[0],
                    n > 1 ? ", " : "", n > 1 ? cand[1] : "", n > 2 ? ", " : "",
                    n > 2 ? cand[2] : "", env && env[0] ? "" : " (GPOOL_DATA is unset)",
                    CIFAR_HINT);
}

/* The number of records of path, from its size: a whole, positive number. */
static int cifar_records(const char *path, int *records, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return gpx_fail(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
    long long size = (long long)st.st_size;
    if (size == 0)
        return gpx_fail(err, errlen, "%s: empty file (CIFAR-10 records are %d bytes)", path,
                        CIFAR_RECORD);
    if (size % CIFAR_RECORD != 0)
        return gpx_fail(err, errlen, "%s: %lld bytes is not a whole number of %d-byte records "
                        "(1 label byte + 3072 pixel bytes): record %lld, at byte offset %lld, "
                        "is cut after %lld bytes", path, size, CIFAR_RECORD,
                        size / CIFAR_RECORD, size / CIFAR_RECORD * CIFAR_RECORD,
                        size % CIFAR_RECORD);
    if (size / CIFAR_RECORD > INT_MAX / CIFAR_FILES)
        return gpx_fail(err, errlen, "%s: %lld records are too many", path,
                        size / CIFAR_RECORD);
    *records = (int)(size / CIFAR_RECORD);
    return 0;
}

/* Records of fp (count of them, path for messages) into r from image at. */
static int cifar_read_records(FILE *fp, const char *path, int count, gpx_raw *r, int at,
                              char *err, size_t errlen)
{
    unsigned char rec[CIFAR_RECORD];
    unsigned char *pix = r->pix;
    for (int k = 0; k < count; k++) {
        if (fread(rec, 1, sizeof rec, fp) != sizeof rec)
            return gpx_fail(err, errlen, "%s: read error at record %d (byte offset %lld)%s%s",
                            path, k, (long long)k * CIFAR_RECORD, ferror(fp) ? ": " : "",
                            ferror(fp) ? strerror(errno) : ": the file shrank");
        if (rec[0] >= CIFAR_CLASSES)
            return gpx_fail(err, errlen, "%s: record %d (byte offset %lld): label %d outside "
                            "0..9", path, k, (long long)k * CIFAR_RECORD, rec[0]);
        r->y[at + k] = rec[0];
        memcpy(pix + (size_t)(at + k) * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
    }
    return 0;
}

int gpx_cifar10_read(const char *const *path, int nfiles, gpx_raw *r, gpx_data *out,
                     char *err, size_t errlen)
{
    int records[CIFAR_FILES], total = 0;
    if (nfiles < 1 || nfiles > CIFAR_FILES)
        return gpx_fail(err, errlen, "CIFAR-10: %d files to read (1 to %d)", nfiles,
                        CIFAR_FILES);
    for (int i = 0; i < nfiles; i++) {
        if (cifar_records(path[i], &records[i], err, errlen) != 0)
            return -1;
        total += records[i];
    }
    if (gpx_raw_alloc(r, GPX_PIXEL_U8, GPX_LAYOUT_NCHW, total, CIFAR_CHANNELS, CIFAR_SIDE,
                      CIFAR_SIDE, err, errlen) != 0)
        return -1;
    for (int i = 0, at = 0; i < nfiles; at += records[i], i++) {
        FILE *fp = fopen(path[i], "rb");
        if (!fp)
            return gpx_fail(err, errlen, "%s: cannot open: %s", path[i], strerror(errno));
        int rc = cifar_read_records(fp, path[i], records[i], r, at, err, errlen);
        fclose(fp);
        if (rc != 0 || gpx_data_add_file(out, path[i], err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Files [first, first + nfiles) of dir, in order, into r. */
static int cifar_read_split(const char *dir, int first, int nfiles, gpx_raw *r, gpx_data *out,
                            char *err, size_t errlen)
{
    char path[CIFAR_FILES][4096];
    const char *p[CIFAR_FILES];
    for (int i = 0; i < nfiles; i++) {
        cifar_path(dir, cifar_names[first + i], path[i], sizeof path[i]);
        p[i] = path[i];
    }
    return gpx_cifar10_read(p, nfiles, r, out, err, errlen);
}

int gpx_cifar10_load(const gpx_data_spec *spec, gpx_data *out, gpx_raw *train, gpx_raw *test,
                     char *err, size_t errlen)
{
    char dir[4096];
    if (cifar_dir(spec, dir, sizeof dir, err, errlen) != 0)
        return -1;
    if (cifar_read_split(dir, 0, CIFAR_TRAIN_FILES, train, out, err, errlen) != 0)
        return -1;
    return cifar_read_split(dir, CIFAR_TRAIN_FILES, 1, test, out, err, errlen);
}
