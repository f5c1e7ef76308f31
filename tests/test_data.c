/*
 * test_data.c - IDX reading (raw and gzip, and every kind of damage), the
 * data sets built on it (splits, limits, normalisation, FashionMNIST by
 * name, the synthetic set), and sha256. Labels against the classes are
 * tested end to end by tests/data-classes.sh.
 *
 * Files are written into a fresh mkdtemp() directory under $TMPDIR, removed
 * at the end. Damaged files must fail cleanly with GP_ERR_PARSE or GP_ERR_IO
 * and a message that names the file.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include "gpool_nn.h"
#include "core/data.h"
#include "util/sha256.h"
#include "testutil.h"

static uint64_t seed;
static char tmpdir[4096];

/* ------------------------------------------------------------ helpers */

static void fail_with_seed(const char *what)
{
    print_error("%s (rerun with GPOOL_TEST_SEED=%llu)\n", what, (unsigned long long)seed);
    fail();
}

static void path_in(char *buf, size_t len, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", tmpdir, name);
    assert_true(n > 0 && (size_t)n < len);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void write_gzip(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(gz), Z_OK);
}

static unsigned char *read_bytes(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    assert_true(size > 0);
    rewind(fp);
    unsigned char *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    *len = (size_t)size;
    return buf;
}

/* An IDX image in memory: header (magic, type, ndims, big-endian dims) then
 * the payload. payload may be NULL for random bytes (never all zero). */
static unsigned char *make_idx(int type, int ndims, const uint32_t *dims,
                               const unsigned char *payload, size_t *len)
{
    size_t n = 1;
    for (int i = 0; i < ndims; i++)
        n *= dims[i];
    size_t head = 4 + 4 * (size_t)ndims;
    unsigned char *buf = malloc(head + n);
    assert_non_null(buf);
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndims;
    for (int i = 0; i < ndims; i++)
        for (int b = 0; b < 4; b++)
            buf[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    for (size_t i = 0; i < n; i++)
        buf[head + i] = payload ? payload[i] : (unsigned char)(tu_next() & 0xff);
    if (n > 0 && !payload)
        buf[head] |= 1;   /* never all zero */
    *len = head + n;
    return buf;
}

/* Write an images file (count x h x w) and a labels file. */
static void write_image_set(const char *images, const char *labels, uint32_t count,
                            uint32_t h, uint32_t w, const unsigned char *pix,
                            const unsigned char *lab, uint32_t nlabels, int gz)
{
    uint32_t idims[3] = { count, h, w }, ldims[1] = { nlabels };
    size_t ilen, llen;
    unsigned char *ib = make_idx(0x08, 3, idims, pix, &ilen);
    unsigned char *lb = make_idx(0x08, 1, ldims, lab, &llen);
    if (gz) {
        write_gzip(images, ib, ilen);
        write_gzip(labels, lb, llen);
    } else {
        write_bytes(images, ib, ilen);
        write_bytes(labels, lb, llen);
    }
    free(ib);
    free(lb);
}

/* gp_idx_create must fail with PARSE or IO, name the file, mention `word`
 * (when not NULL), and leave out NULL. */
static void expect_idx_failure(const char *path, const char *word)
{
    gp_idx untouched, *idx = &untouched;   /* not NULL, so that a missed reset shows */
    gp_status st = gp_idx_create(&idx, path);
    if (st != GP_ERR_PARSE && st != GP_ERR_IO) {
        print_error("%s: status %d, message \"%s\"\n", path, (int)st, gp_last_error());
        fail_with_seed("damaged file not refused");
    }
    if (!strstr(gp_last_error(), path)) {
        print_error("message \"%s\" does not name %s\n", gp_last_error(), path);
        fail();
    }
    if (word && !strstr(gp_last_error(), word)) {
        print_error("message \"%s\" lacks \"%s\"\n", gp_last_error(), word);
        fail();
    }
    assert_null(idx);
}

static int remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    char path[4096 + 256];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    return rmdir(dir);
}

static int group_setup(void **state)
{
    (void)state;
    seed = tu_seed();
    const char *base = getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/gpool-test-data-XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return remove_tree(tmpdir);
}

/* ------------------------------------------------------------ sha256 */

static void test_sha256_vectors(void **state)
{
    (void)state;
    /* FIPS 180-4 / NIST examples */
    static const struct { const char *msg; const char *hex; } v[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };
    char hex[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        gpx_sha256_buffer(v[i].msg, strlen(v[i].msg), hex);
        assert_string_equal(hex, v[i].hex);
    }
    /* one million 'a': many blocks, and the file path's chunking */
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    gpx_sha256_buffer(a, n, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    char path[4096];
    path_in(path, sizeof path, "million-a");
    write_bytes(path, a, n);
    assert_int_equal(gpx_sha256_file(path, hex), 0);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    unlink(path);
    free(a);
}

/* Lengths around the padding boundaries (55, 56, 64 ...) against sha256sum. */
static void test_sha256_matches_sha256sum(void **state)
{
    (void)state;
    if (system("command -v sha256sum >/dev/null 2>&1") != 0) {
        print_message("sha256sum not installed\n");
        skip();
    }
    static const size_t lens[] = { 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 70001 };
    char path[4096], cmd[4200 + 64], hex[65], want[65];
    path_in(path, sizeof path, "sha-input");
    unsigned char *buf = malloc(70001);
    assert_non_null(buf);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t j = 0; j < lens[i]; j++)
            buf[j] = (unsigned char)(tu_next() | 1);
        write_bytes(path, buf, lens[i]);
        snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        assert_int_equal(fscanf(p, "%64s", want), 1);
        assert_int_equal(pclose(p), 0);
        assert_int_equal(gpx_sha256_file(path, hex), 0);
        assert_string_equal(hex, want);
        gpx_sha256_buffer(buf, lens[i], hex);
        if (strcmp(hex, want) != 0)
            fail_with_seed("buffer hash differs from sha256sum");
    }
    free(buf);
    unlink(path);
    path_in(path, sizeof path, "no-such-file");
    assert_int_equal(gpx_sha256_file(path, hex), -1);
    assert_string_equal(hex, "");
}

/* ------------------------------------------------------------ IDX */

static void roundtrip(int ndims, const uint32_t *dims, int gz)
{
    char path[4096];
    path_in(path, sizeof path, gz ? "round.idx.gz" : "round.idx");
    size_t len;
    unsigned char *buf = make_idx(0x08, ndims, dims, NULL, &len);
    if (gz)
        write_gzip(path, buf, len);
    else
        write_bytes(path, buf, len);
    gp_idx *idx;
    assert_int_equal(gp_idx_create(&idx, path), GP_OK);
    assert_string_equal(gp_last_error(), "");
    assert_int_equal(idx->ndims, ndims);
    size_t n = 1;
    for (int i = 0; i < ndims; i++) {
        assert_int_equal(idx->dims[i], dims[i]);
        n *= dims[i];
    }
    if (memcmp(idx->data, buf + 4 + 4 * ndims, n) != 0)
        fail_with_seed("payload differs after reading back");
    gp_idx_destroy(idx);
    gp_idx_destroy(NULL);
    free(buf);
    unlink(path);
}

static void test_idx_roundtrip(void **state)
{
    (void)state;
    static const uint32_t d1[] = { 37 }, d3[] = { 5, 7, 3 }, d4[] = { 2, 3, 4, 5 };
    /* bigger than the reader's first 1 MiB buffer, so it has to grow */
    static const uint32_t big[] = { 13, 300, 301 };
    for (int gz = 0; gz < 2; gz++) {
        roundtrip(1, d1, gz);
        roundtrip(3, d3, gz);
        roundtrip(4, d4, gz);
        roundtrip(3, big, gz);
    }
}

/* Write buf (len bytes) raw or gzipped under name, then expect failure. */
static void check_bad(const char *name, const unsigned char *buf, size_t len, int gz,
                      const char *word)
{
    char path[4096];
    path_in(path, sizeof path, name);
    if (gz)
        write_gzip(path, buf, len);
    else
        write_bytes(path, buf, len);
    expect_idx_failure(path, word);
    unlink(path);
}

static void test_idx_malformed(void **state)
{
    (void)state;
    static const uint32_t dims[] = { 4, 6, 5 };
    size_t len;
    unsigned char *good = make_idx(0x08, 3, dims, NULL, &len);
    unsigned char *bad = malloc(len + 16);
    assert_non_null(bad);
    for (int gz = 0; gz < 2; gz++) {
        check_bad(gz ? "short.gz" : "short", good, len - 7, gz, "expected 120 bytes, got 113");
        check_bad(gz ? "head2.gz" : "head2", good, 2, gz, "truncated header");
        check_bad(gz ? "head10.gz" : "head10", good, 10, gz, "truncated header");
        check_bad(gz ? "empty.gz" : "empty", good, 0, gz, "truncated header");

        memcpy(bad, good, len);
        bad[1] = 0x01;
        check_bad(gz ? "magic.gz" : "magic", bad, len, gz, "magic");
        memcpy(bad, good, len);
        bad[2] = 0x0D;   /* float: valid IDX, not supported here */
        check_bad(gz ? "float.gz" : "float", bad, len, gz, "type 0x0d not supported");
        memcpy(bad, good, len);
        bad[3] = 0;
        check_bad(gz ? "dims0.gz" : "dims0", bad, len, gz, "dimensions");
        memcpy(bad, good, len);
        bad[3] = 5;
        check_bad(gz ? "dims5.gz" : "dims5", bad, len, gz, "dimensions");
        memcpy(bad, good, len);
        memset(bad + 8, 0, 4);   /* second dimension zero */
        check_bad(gz ? "zero.gz" : "zero", bad, len, gz, "zero");
        memcpy(bad, good, len);
        bad[len] = 0x5a;
        check_bad(gz ? "trail.gz" : "trail", bad, len + 1, gz, "trailing");
        memcpy(bad, good, len);
        memset(bad + 4, 0xff, 12);   /* 2^96 bytes: must not overflow or allocate */
        check_bad(gz ? "huge.gz" : "huge", bad, len, gz, "bytes");
        memcpy(bad, good, len);
        /* plausible but 125 MB missing: refused without allocating anything like it */
        bad[4] = 0; bad[5] = 0x40; bad[6] = 0; bad[7] = 0;
        check_bad(gz ? "claims.gz" : "claims", bad, len, gz, "truncated payload");
    }
    free(bad);
    free(good);
    char path[4096];
    path_in(path, sizeof path, "does-not-exist.idx");
    gp_idx *idx;
    assert_int_equal(gp_idx_create(&idx, path), GP_ERR_IO);
    assert_null(idx);
    assert_non_null(strstr(gp_last_error(), path));
    assert_int_equal(gp_idx_create(&idx, NULL), GP_ERR_ARG);
    assert_int_equal(gp_idx_create(NULL, path), GP_ERR_ARG);
}

/* A gzip file big enough that its deflate stream has real content. */
static unsigned char *compressible_idx_gz(const char *path, size_t *gzlen)
{
    static const uint32_t dims[] = { 64, 28, 28 };
    unsigned char *payload = malloc(64 * 28 * 28);
    assert_non_null(payload);
    /* smooth with noise: compresses, but not to nothing */
    for (size_t i = 0; i < 64 * 28 * 28; i++)
        payload[i] = (unsigned char)((i % 28) * 9 + (tu_next() & 7));
    size_t len;
    unsigned char *buf = make_idx(0x08, 3, dims, payload, &len);
    write_gzip(path, buf, len);
    free(buf);
    free(payload);
    return read_bytes(path, gzlen);
}

static void test_idx_gzip_damage(void **state)
{
    (void)state;
    char path[4096];
    path_in(path, sizeof path, "damaged.gz");
    size_t gzlen;
    unsigned char *gz = compressible_idx_gz(path, &gzlen);
    assert_true(gzlen > 200);
    /* flipped bytes in the middle of the deflate stream: an inflate error or
     * a CRC mismatch, whichever the damage produces; several places */
    for (int trial = 0; trial < 8; trial++) {
        unsigned char *bad = malloc(gzlen);
        assert_non_null(bad);
        memcpy(bad, gz, gzlen);
        size_t at = 20 + (size_t)(tu_next() % (gzlen - 40));
        for (int k = 0; k < 4; k++)
            bad[at + (size_t)k] ^= 0xa5;
        write_bytes(path, bad, gzlen);
        expect_idx_failure(path, NULL);
        free(bad);
    }
    /* cut in the middle, and cut just the trailer (payload complete, CRC gone) */
    write_bytes(path, gz, gzlen / 2);
    expect_idx_failure(path, NULL);
    write_bytes(path, gz, gzlen - 6);
    expect_idx_failure(path, NULL);
    /* only the CRC wrong: all the data arrives, the check must still fail */
    memcpy(gz + gzlen - 8, "\x01\x02\x03\x04", 4);
    write_bytes(path, gz, gzlen);
    expect_idx_failure(path, NULL);
    free(gz);
    unlink(path);
}

/* path's bytes, then extra (len bytes) appended. */
static void append_bytes(const char *path, const void *extra, size_t len)
{
    FILE *fp = fopen(path, "ab");
    assert_non_null(fp);
    assert_int_equal(fwrite(extra, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Bytes after the last gzip member are refused as they are after a raw
 * payload, with the offset where they start; a second member is data. */
static void test_idx_after_gzip_stream(void **state)
{
    (void)state;
    static const uint32_t dims[] = { 3, 5, 4 };
    static const char *const junk[] = { "junk!", "\0\0\0\0", "\x1f" };
    static const size_t junk_len[] = { 5, 4, 1 };
    char path[4096], offset[64];
    size_t len, gzlen;
    unsigned char *good = make_idx(0x08, 3, dims, NULL, &len);
    path_in(path, sizeof path, "tail.gz");
    for (size_t k = 0; k < 3; k++) {
        for (int gz = 0; gz < 2; gz++) {
            if (gz)
                write_gzip(path, good, len);
            else
                write_bytes(path, good, len);
            free(read_bytes(path, &gzlen));
            append_bytes(path, junk[k], junk_len[k]);
            snprintf(offset, sizeof offset, "trailing bytes at offset %zu,", gz ? gzlen : len);
            expect_idx_failure(path, offset);
        }
    }
    /* a payload split over two members loads; more data in a second one is refused */
    write_gzip(path, good, 40);
    unsigned char *first = read_bytes(path, &gzlen);
    write_gzip(path, good + 40, len - 40);
    size_t second_len;
    unsigned char *second = read_bytes(path, &second_len);
    write_bytes(path, first, gzlen);
    append_bytes(path, second, second_len);
    gp_idx *idx;
    assert_int_equal(gp_idx_create(&idx, path), GP_OK);
    assert_memory_equal(idx->data, good + 16, len - 16);
    gp_idx_destroy(idx);
    append_bytes(path, second, second_len);
    snprintf(offset, sizeof offset, "offset %zu of the decompressed data", len);
    expect_idx_failure(path, offset);
    free(first);
    free(second);
    free(good);
    unlink(path);
}

/* ------------------------------------------------------------ data sets */

/* Raw pixels and labels, kept so tests can compare against them. */
typedef struct {
    uint32_t count, h, w;
    unsigned char *pix, *lab;
} fake_set;

static fake_set fake_make(uint32_t count, uint32_t h, uint32_t w, int classes)
{
    fake_set f = { count, h, w, malloc(count * h * w), malloc(count) };
    assert_non_null(f.pix);
    assert_non_null(f.lab);
    for (size_t i = 0; i < (size_t)count * h * w; i++)
        f.pix[i] = (unsigned char)(tu_next() & 0xff);
    f.pix[0] = 200;   /* never constant */
    f.pix[1] = 3;
    for (uint32_t i = 0; i < count; i++)
        f.lab[i] = (unsigned char)(i % (uint32_t)classes);
    return f;
}

static void fake_free(fake_set *f)
{
    free(f->pix);
    free(f->lab);
}

/* train and test files named like FashionMNIST's in dir (made if needed). */
static void write_fmnist_dir(const char *dir, const fake_set *train, const fake_set *test,
                             int gz)
{
    mkdir(dir, 0700);
    char im[4200], lb[4200];
    const char *sfx = gz ? ".gz" : "";
    snprintf(im, sizeof im, "%s/train-images-idx3-ubyte%s", dir, sfx);
    snprintf(lb, sizeof lb, "%s/train-labels-idx1-ubyte%s", dir, sfx);
    write_image_set(im, lb, train->count, train->h, train->w, train->pix, train->lab,
                    train->count, gz);
    snprintf(im, sizeof im, "%s/t10k-images-idx3-ubyte%s", dir, sfx);
    snprintf(lb, sizeof lb, "%s/t10k-labels-idx1-ubyte%s", dir, sfx);
    write_image_set(im, lb, test->count, test->h, test->w, test->pix, test->lab,
                    test->count, gz);
}

/* Load spec into d, printing the message before failing. */
static void load_ok(const gpx_data_spec *spec, gpx_data *d)
{
    char err[2048];
    int rc = gpx_data_load(spec, d, err, sizeof err);
    if (rc != 0)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
}

/* The split sizes, image size and classes of a loaded set. */
static void expect_geometry(const gpx_data *d, int train, int val, int test, int h, int w,
                            int classes)
{
    assert_int_equal(d->train.count, train);
    assert_int_equal(d->val.count, val);
    assert_int_equal(d->test.count, test);
    assert_int_equal(d->train.c, 1);
    assert_int_equal(d->train.h, h);
    assert_int_equal(d->train.w, w);
    assert_int_equal(d->test.h, h);
    assert_int_equal(d->train.classes, classes);
    assert_int_equal(d->test.classes, classes);
}

/* A split holds the file's bytes and labels of f from `first` as they are,
 * and delivers each byte as torchvision computes it in float32: ToTensor
 * (byte / 255), then Normalize (exactly byte / 255 with mean 0, std 1). */
static void expect_split(const gpx_split *s, const fake_set *f, uint32_t first, double mean,
                         double std)
{
    size_t img = (size_t)f->h * f->w;
    assert_int_equal(s->images.type, GPX_PIXEL_U8);
    assert_int_equal(s->images.n, s->count);
    assert_memory_equal(s->images.data, f->pix + first * img, (size_t)s->count * img);
    float *got = gpx_split_floats(s);
    assert_non_null(got);
    for (int i = 0; i < s->count; i++) {
        assert_int_equal(s->y[i], f->lab[first + (uint32_t)i]);
        for (size_t p = 0; p < img; p++) {
            float x = (float)f->pix[(first + (size_t)i) * img + p] / 255.0f;
            if (got[(size_t)i * img + p] != (x - (float)mean) / (float)std)
                fail_with_seed("delivered pixel differs from torchvision's float");
        }
    }
    free(got);
}

static void expect_pixels(const gpx_split *s, const fake_set *f, uint32_t first)
{
    expect_split(s, f, first, 0.0, 1.0);
}

static void test_fmnist_layout_and_splits(void **state)
{
    (void)state;
    fake_set train = fake_make(50, 5, 4, 10), test = fake_make(20, 5, 4, 10);
    char dir[4096];
    path_in(dir, sizeof dir, "fm-gz");
    write_fmnist_dir(dir, &train, &test, 1);

    gpx_data_spec spec = { .source = "fashion-mnist", .dir = dir, .validation = 10,
                           .train_limit = 40, .test_limit = 15 };
    gpx_data d;
    char err[2048];
    load_ok(&spec, &d);
    assert_string_equal(d.source, "fashion-mnist");
    /* first 40 training images: 30 to train, the last 10 to validation */
    expect_geometry(&d, 30, 10, 15, 5, 4, 10);
    expect_pixels(&d.train, &train, 0);
    expect_pixels(&d.val, &train, 30);
    expect_pixels(&d.test, &test, 0);
    assert_true(d.mean[0] == 0.0 && d.std[0] == 1.0);
    /* the files as stored, hashed as stored */
    assert_int_equal(d.nfiles, 4);
    char want[65];
    for (int i = 0; i < 4; i++) {
        assert_non_null(strstr(d.files[i], dir));
        assert_non_null(strstr(d.files[i], ".gz"));
        assert_int_equal(gpx_sha256_file(d.files[i], want), 0);
        assert_string_equal(d.sha256[i], want);
    }
    assert_non_null(strstr(d.files[0], "train-images"));
    assert_non_null(strstr(d.files[3], "t10k-labels"));
    gpx_data_free(&d);
    assert_null(d.train.images.data);

    /* no validation, no limits: everything, and an empty validation split */
    spec.validation = 0;
    spec.train_limit = 0;
    spec.test_limit = 0;
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), 0);
    assert_int_equal(d.train.count, 50);
    assert_int_equal(d.val.count, 0);
    assert_null(d.val.images.data);
    assert_int_equal(d.test.count, 20);
    expect_pixels(&d.train, &train, 0);
    gpx_data_free(&d);

    /* a limit above the count is no limit; validation must leave training images */
    spec.train_limit = 1000;
    spec.validation = 50;
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "validation"));
    assert_null(d.train.images.data);
    spec.validation = 49;
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), 0);
    assert_int_equal(d.train.count, 1);
    gpx_data_free(&d);
    spec.validation = -1;
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), -1);

    /* raw files are found under the same names */
    path_in(dir, sizeof dir, "fm-raw");
    write_fmnist_dir(dir, &train, &test, 0);
    spec = (gpx_data_spec){ .source = "fashion-mnist", .dir = dir };
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), 0);
    assert_null(strstr(d.files[0], ".gz"));
    expect_pixels(&d.test, &test, 0);
    gpx_data_free(&d);

    /* GPOOL_DATA is searched first */
    const char *old = getenv("GPOOL_DATA");
    char *saved = old ? strdup(old) : NULL;
    setenv("GPOOL_DATA", dir, 1);
    char found[4096];
    assert_int_equal(gpx_data_find_fashion_mnist(found, sizeof found), 0);
    assert_string_equal(found, dir);
    spec.dir = NULL;
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), 0);
    assert_int_equal(d.train.count, 50);
    gpx_data_free(&d);
    assert_int_equal(gpx_data_find_fashion_mnist(found, 4), -1);   /* does not fit */
    if (saved) {
        setenv("GPOOL_DATA", saved, 1);
        free(saved);
    } else {
        unsetenv("GPOOL_DATA");
    }

    /* a directory without the files: the error names it and says how to install */
    path_in(dir, sizeof dir, "fm-empty");
    mkdir(dir, 0700);
    spec.dir = dir;
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "dataset-fashion-mnist"));
    fake_free(&train);
    fake_free(&test);
}

/* gpx_data_load must fail, and err must contain `name`. */
static void expect_load_failure(const gpx_data_spec *spec, const char *name)
{
    gpx_data d;
    char err[2048];
    if (gpx_data_load(spec, &d, err, sizeof err) != -1)
        fail_with_seed("bad data set accepted");
    if (!strstr(err, name)) {
        print_error("message \"%s\" does not name %s\n", err, name);
        fail();
    }
    assert_null(d.train.images.data);
    assert_int_equal(d.nfiles, 0);
}

static void test_data_inconsistent(void **state)
{
    (void)state;
    fake_set train = fake_make(12, 4, 4, 10), test = fake_make(6, 4, 4, 10);
    char dir[4096], im[4200], lb[4200], tim[4200], tlb[4200];

    /* label 10 in a FashionMNIST-named set of 10 classes */
    path_in(dir, sizeof dir, "fm-label");
    train.lab[7] = 10;
    write_fmnist_dir(dir, &train, &test, 0);
    train.lab[7] = 7;
    snprintf(lb, sizeof lb, "%s/train-labels-idx1-ubyte", dir);
    gpx_data_spec spec = { .source = "fashion-mnist", .dir = dir };
    expect_load_failure(&spec, lb);

    /* source idx: labels/images count mismatch, 2-D images, test size mismatch */
    path_in(im, sizeof im, "mm-images");
    path_in(lb, sizeof lb, "mm-labels");
    path_in(tim, sizeof tim, "mm-test-images");
    path_in(tlb, sizeof tlb, "mm-test-labels");
    write_image_set(tim, tlb, test.count, test.h, test.w, test.pix, test.lab, test.count, 1);
    write_image_set(im, lb, train.count, train.h, train.w, train.pix, train.lab,
                    train.count - 1, 0);
    spec = (gpx_data_spec){ .source = "idx", .train_images = im, .train_labels = lb,
                            .test_images = tim, .test_labels = tlb };
    expect_load_failure(&spec, lb);

    uint32_t d2[2] = { train.count, train.h * train.w };
    size_t len;
    unsigned char *flat = make_idx(0x08, 2, d2, train.pix, &len);
    write_bytes(im, flat, len);
    free(flat);
    expect_load_failure(&spec, im);

    write_image_set(im, lb, train.count, train.h, train.w, train.pix, train.lab,
                    train.count, 0);
    write_image_set(tim, tlb, test.count, test.h + 1, test.w - 1, test.pix, test.lab,
                    test.count, 0);
    expect_load_failure(&spec, tim);

    /* a damaged file surfaces the reader's message, naming it */
    write_bytes(tim, "\0\0\x08\x03\0", 5);
    expect_load_failure(&spec, tim);

    /* idx classes are the number of different training labels */
    write_image_set(tim, tlb, test.count, test.h, test.w, test.pix, test.lab, test.count, 0);
    gpx_data d;
    char err[2048];
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), 0);
    assert_int_equal(d.train.classes, 10);
    assert_string_equal(d.source, "idx");
    assert_int_equal(d.nfiles, 4);
    assert_string_equal(d.files[2], tim);
    gpx_data_free(&d);

    spec.test_labels = NULL;
    expect_load_failure(&spec, "test_labels");
    spec.source = "cifar";
    expect_load_failure(&spec, "cifar");
    fake_free(&train);
    fake_free(&test);
}

/* Mean and std over the training images, the obvious way, in double. */
static void direct_stats(const fake_set *f, uint32_t count, double *mean, double *std)
{
    size_t n = (size_t)count * f->h * f->w;
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        s += f->pix[i] / 255.0;
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (f->pix[i] / 255.0 - *mean) * (f->pix[i] / 255.0 - *mean);
    *std = sqrt(ss / (double)n);
}

static void test_normalization(void **state)
{
    (void)state;
    fake_set train = fake_make(40, 6, 5, 3), test = fake_make(10, 6, 5, 3);
    /* skew the training set so mean/std are far from 0.5 / 0.29 of uniform bytes */
    for (size_t i = 0; i < (size_t)train.count * train.h * train.w; i++)
        train.pix[i] = (unsigned char)(train.pix[i] / 3);
    /* make the validation tail very different: it must not enter the stats */
    for (size_t i = 30 * 30; i < 40 * 30; i++)
        train.pix[i] = 255;
    char im[4096], lb[4096], tim[4096], tlb[4096];
    path_in(im, sizeof im, "n-images");
    path_in(lb, sizeof lb, "n-labels");
    path_in(tim, sizeof tim, "n-test-images");
    path_in(tlb, sizeof tlb, "n-test-labels");
    write_image_set(im, lb, train.count, train.h, train.w, train.pix, train.lab,
                    train.count, 0);
    write_image_set(tim, tlb, test.count, test.h, test.w, test.pix, test.lab, test.count, 1);
    gpx_data_spec spec = { .source = "idx", .train_images = im, .train_labels = lb,
                           .test_images = tim, .test_labels = tlb, .normalize = 1,
                           .validation = 10 };
    gpx_data d;
    char err[2048];
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), 0);
    assert_int_equal(d.train.classes, 3);
    double mean, std;
    direct_stats(&train, 30, &mean, &std);
    /* the histogram and the direct sum round differently: 1e-12 relative is
     * far below anything float32 data could show, far above double noise */
    assert_true(fabs(d.mean[0] - mean) <= 1e-12 * mean);
    assert_true(fabs(d.std[0] - std) <= 1e-12 * std);
    assert_true(d.mean[0] < 0.25);   /* the all-255 validation tail was left out */
    expect_split(&d.train, &train, 0, d.mean[0], d.std[0]);
    expect_split(&d.val, &train, 30, d.mean[0], d.std[0]);
    expect_split(&d.test, &test, 0, d.mean[0], d.std[0]);
    gpx_data_free(&d);

    /* given statistics are used as they are */
    spec.mean[0] = 0.2860;
    spec.std[0] = 0.3530;
    assert_int_equal(gpx_data_load(&spec, &d, err, sizeof err), 0);
    assert_true(d.mean[0] == 0.2860 && d.std[0] == 0.3530);
    expect_split(&d.train, &train, 0, 0.2860, 0.3530);
    expect_split(&d.test, &test, 0, 0.2860, 0.3530);
    gpx_data_free(&d);

    spec.std[0] = -1;
    expect_load_failure(&spec, "data.std: value 1 is -1");

    /* constant training images cannot be normalised by their own statistics */
    memset(train.pix, 77, (size_t)train.count * train.h * train.w);
    write_image_set(im, lb, train.count, train.h, train.w, train.pix, train.lab,
                    train.count, 0);
    spec.std[0] = 0;
    expect_load_failure(&spec, "std 0");
    fake_free(&train);
    fake_free(&test);
}

/* ------------------------------------------------------------ synthetic */

static void test_synthetic(void **state)
{
    (void)state;
    gpx_data_spec spec = { .source = "synthetic", .synthetic_train = 600,
                           .synthetic_test = 200, .synthetic_size = 12,
                           .synthetic_classes = 6, .synthetic_seed = seed };
    gpx_data a, b, c;
    char err[1024];
    assert_int_equal(gpx_data_load(&spec, &a, err, sizeof err), 0);
    assert_int_equal(gpx_data_load(&spec, &b, err, sizeof err), 0);
    spec.synthetic_seed = seed + 1;
    assert_int_equal(gpx_data_load(&spec, &c, err, sizeof err), 0);
    assert_string_equal(a.source, "synthetic");
    assert_int_equal(a.nfiles, 0);
    assert_int_equal(a.train.count, 600);
    assert_int_equal(a.test.count, 200);
    assert_int_equal(a.train.h, 12);
    assert_int_equal(a.train.w, 12);
    assert_int_equal(a.train.c, 1);
    assert_int_equal(a.train.classes, 6);
    size_t n = 600 * 144;
    /* same seed, same set; another seed, another set; test is not train */
    const unsigned char *pa = a.train.images.data;
    if (memcmp(pa, b.train.images.data, n) != 0 ||
        memcmp(a.test.images.data, b.test.images.data, 200 * 144) != 0)
        fail_with_seed("synthetic set differs for one seed");
    assert_memory_equal(a.train.y, b.train.y, 600 * sizeof(int));
    assert_memory_not_equal(pa, c.train.images.data, n);
    assert_memory_not_equal(pa, a.test.images.data, 200 * 144);

    /* balanced classes, in [0, 1], not constant, with ink on a darker ground */
    int per[6] = { 0 };
    for (int i = 0; i < 600; i++) {
        assert_in_range(a.train.y[i], 0, 5);
        per[a.train.y[i]]++;
    }
    for (int k = 0; k < 6; k++)
        assert_int_equal(per[k], 100);
    float *x = gpx_split_floats(&a.train);
    assert_non_null(x);
    double lo = 1, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    assert_true(lo >= 0.0 && lo < 0.05);
    assert_true(hi <= 1.0 && hi > 0.6);
    /* every image carries a shape: at least 3 bright pixels */
    for (int i = 0; i < 600; i++) {
        int bright = 0;
        for (int p = 0; p < 144; p++)
            bright += x[(size_t)i * 144 + p] > 0.5f;
        if (bright < 3)
            fail_with_seed("synthetic image without a shape");
    }
    free(x);
    /* the same class is not one fixed picture (position and size vary) */
    assert_memory_not_equal(pa, pa + 6 * 144, 144);
    gpx_data_free(&a);
    gpx_data_free(&b);
    gpx_data_free(&c);

    /* splits and limits apply to it too; every class count within one */
    spec = (gpx_data_spec){ .source = "synthetic", .synthetic_classes = 10,
                            .synthetic_seed = seed, .validation = 97, .train_limit = 1000,
                            .normalize = 1 };
    assert_int_equal(gpx_data_load(&spec, &a, err, sizeof err), 0);
    assert_int_equal(a.train.count, 903);
    assert_int_equal(a.val.count, 97);
    assert_int_equal(a.test.count, 500);   /* default */
    assert_int_equal(a.train.h, 12);        /* default */
    assert_true(a.std[0] > 0 && a.mean[0] > 0);
    int vper[10] = { 0 };
    for (int i = 0; i < a.val.count; i++)
        vper[a.val.y[i]]++;
    for (int k = 0; k < 10; k++)
        assert_in_range(vper[k], 9, 10);
    gpx_data_free(&a);

    spec.synthetic_classes = 11;
    expect_load_failure(&spec, "classes");
    spec.synthetic_classes = 2;
    spec.synthetic_size = 7;
    expect_load_failure(&spec, "size");
}

/* ------------------------------------------------------------ FashionMNIST */

static void test_real_fashion_mnist(void **state)
{
    (void)state;
    char dir[4096];
    if (gpx_data_find_fashion_mnist(dir, sizeof dir) != 0) {
        print_message("FashionMNIST not installed (apt-get install dataset-fashion-mnist)\n");
        skip();
    }
    gpx_data_spec spec = { .source = "fashion-mnist", .normalize = 1 };
    gpx_data d;
    load_ok(&spec, &d);
    expect_geometry(&d, 60000, 0, 10000, 28, 28, 10);
    int per[10] = { 0 };
    for (int i = 0; i < d.train.count; i++) {
        assert_in_range(d.train.y[i], 0, 9);
        per[d.train.y[i]]++;
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(per[k], 6000);   /* FashionMNIST is balanced */
    for (int i = 0; i < d.test.count; i++)
        assert_in_range(d.test.y[i], 0, 9);
    /* the published statistics (0.28604, 0.35302 over the 60000 training
     * images) quoted to 4 digits: within half a unit of the last digit */
    if (fabs(d.mean[0] - 0.2860) >= 5e-5 || fabs(d.std[0] - 0.3530) >= 5e-5) {
        print_error("mean %.6f std %.6f\n", d.mean[0], d.std[0]);
        fail();
    }
    assert_int_equal(d.nfiles, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(strlen(d.sha256[i]), 64);
    gpx_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_matches_sha256sum),
        cmocka_unit_test(test_idx_roundtrip),
        cmocka_unit_test(test_idx_malformed),
        cmocka_unit_test(test_idx_gzip_damage),
        cmocka_unit_test(test_idx_after_gzip_stream),
        cmocka_unit_test(test_fmnist_layout_and_splits),
        cmocka_unit_test(test_data_inconsistent),
        cmocka_unit_test(test_normalization),
        cmocka_unit_test(test_synthetic),
        cmocka_unit_test(test_real_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
