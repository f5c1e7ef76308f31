/*
 * test_checkpoint.c - checkpoints are verified against the CRC-32 sidecar
 * (crc32.txt) before a load changes anything: a flipped bit, a 0xff fill,
 * a truncation, an unlisted or a missing file are errors naming the file;
 * a checkpoint without the sidecar (an older release's) still loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "gpool_nn.h"
#include "testutil.h"

#define CV_BATCH 2

static uint64_t seed;
static char tmpdir[64];

typedef struct {
    gp_net   *net;
    gp_optim *opt;
} cv_model;

/* A library net (conv with bias, batchnorm with buffers, gem, dense) and
 * Adam after one step, so weights, buffers and state are all non-zero. */
static cv_model cv_new(uint64_t init_seed)
{
    static const gp_layer_spec specs[] = {
        { .kind = GP_LAYER_CONV2D, .u.conv2d = { 3, 3, 2, 1, 1, 1 } },
        { .kind = GP_LAYER_BATCHNORM2D, .u.batchnorm2d = { 0.1f, 1e-5f } },
        { .kind = GP_LAYER_RELU },
        { .kind = GP_LAYER_HEAD_POOL, .u.head_pool = { GP_HEAD_GEM } },
        { .kind = GP_LAYER_DENSE, .u.dense = { 4, 1 } },
    };
    cv_model m;
    gp_shape in = { CV_BATCH, 2, 5, 5 };
    assert_int_equal(gp_net_create(&m.net, in), GP_OK);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        gp_layer *l;
        assert_int_equal(gp_layer_create(&l, gp_net_out_shape(m.net), &specs[i]), GP_OK);
        assert_int_equal(gp_net_add(m.net, l), GP_OK);
    }
    assert_int_equal(gp_net_finalize(m.net), GP_OK);
    gp_rng rng;
    gp_rng_seed(&rng, init_seed);
    assert_int_equal(gp_net_init(m.net, GP_INIT_TORCH_DEFAULT, 0, &rng), GP_OK);
    gp_optim_desc d = gp_optim_defaults(GP_OPTIM_ADAM);
    assert_int_equal(gp_optim_create(&m.opt, &d, m.net), GP_OK);
    float x[CV_BATCH * 2 * 5 * 5], dy[CV_BATCH * 4];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = tu_uniform(-1, 1);
    const float *y;
    assert_int_equal(gp_net_forward(m.net, CV_BATCH, x, GP_TRAIN, &y), GP_OK);
    for (int i = 0; i < CV_BATCH * 4; i++)
        dy[i] = y[i] - tu_uniform(-1, 1);
    assert_int_equal(gp_net_backward(m.net, CV_BATCH, dy), GP_OK);
    assert_int_equal(gp_optim_step(m.opt, 1e-2f), GP_OK);
    return m;
}

static void cv_free(cv_model m)
{
    gp_optim_destroy(m.opt);
    gp_net_destroy(m.net);
}

/* The file of m's first parameter (the conv weight) in dir. */
static void cv_weight_file(char *path, size_t cap, const char *dir, cv_model m)
{
    snprintf(path, cap, "%s/L00_%s.%s.npy", dir, gp_net_layer(m.net, 0)->ops->kind,
             gp_net_layer(m.net, 0)->params[0].name);
}

/* A fresh checkpoint of m in dir = tmpdir/name, and in path its file (NULL:
 * the conv weight's). */
static void cv_save(char dir[static 256], char path[static 512], const char *name,
                    const char *file, cv_model m)
{
    snprintf(dir, 256, "%s/%s", tmpdir, name);
    assert_int_equal(gp_checkpoint_save(dir, m.net, m.opt), GP_OK);
    if (file)
        snprintf(path, 512, "%s/%s", dir, file);
    else
        cv_weight_file(path, 512, dir, m);
}

static long cv_file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (long)sb.st_size;
}

/* Overwrite n bytes at offset of path with bytes. */
static void cv_patch(const char *path, long offset, const void *bytes, size_t n)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, offset, SEEK_SET), 0);
    assert_int_equal(fwrite(bytes, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* A load into other-weighted target fails naming path and what, and
 * changes none of target's weights. */
static void cv_assert_refused(const char *dir, const char *path, const char *what)
{
    cv_model target = cv_new(seed + 7);
    gp_param *w = gp_net_param(target.net, 0);
    float before[64];
    assert_true(w->count <= 64);
    memcpy(before, w->value, w->count * sizeof(float));
    int64_t steps = gp_optim_steps(target.opt);
    assert_int_not_equal(gp_checkpoint_load(dir, target.net, target.opt), GP_OK);
    if (!strstr(gp_last_error(), path) || !strstr(gp_last_error(), what))
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\" (seed %llu)", gp_last_error(), path,
                 what, (unsigned long long)seed);
    assert_memory_equal(before, w->value, w->count * sizeof(float));
    assert_int_equal(gp_optim_steps(target.opt), steps);
    assert_int_not_equal(gp_checkpoint_verify(dir), GP_OK);
    cv_free(target);
}

static void test_sidecar_lists_every_file(void **state)
{
    (void)state;
    char dir[256], path[512], line[256];
    cv_model m = cv_new(seed);
    cv_save(dir, path, "clean", "crc32.txt", m);
    assert_int_equal(gp_checkpoint_verify(dir), GP_OK);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    int lines = 0, has_optim = 0;
    while (fgets(line, sizeof line, fp)) {
        lines++;
        has_optim |= strstr(line, "  optim.txt\n") != NULL;
    }
    fclose(fp);
    /* every parameter with Adam's two states, every buffer, optim.txt */
    int params = gp_net_param_tensors(m.net), buffers = 0;
    for (int i = 0; i < gp_net_layer_count(m.net); i++)
        buffers += gp_net_layer(m.net, i)->nbuffers;
    assert_true(buffers > 0);
    assert_int_equal(lines, params * 3 + buffers + 1);
    assert_true(has_optim);

    cv_model resumed = cv_new(seed + 1);
    assert_int_equal(gp_checkpoint_load(dir, resumed.net, resumed.opt), GP_OK);
    for (int i = 0; i < params; i++)
        assert_memory_equal(gp_net_param(m.net, i)->value, gp_net_param(resumed.net, i)->value,
                            gp_net_param(m.net, i)->count * sizeof(float));
    assert_int_equal(gp_optim_steps(resumed.opt), 1);
    cv_free(resumed);
    cv_free(m);
}

/* One exponent bit of one float, the whole data filled with 0xff, the last
 * float cut off: each is found, named, and nothing is loaded. */
static void test_corrupt_tensor_is_refused(void **state)
{
    (void)state;
    char dir[256], path[512];
    cv_model m = cv_new(seed);
    size_t count = gp_net_param(m.net, 0)->count;

    cv_save(dir, path, "bitflip", NULL, m);
    long data = cv_file_size(path) - (long)(count * sizeof(float));
    unsigned char byte[4];
    memcpy(byte, &gp_net_param(m.net, 0)->value[1], 4);
    byte[3] ^= 0x40;   /* the top exponent bit of a little-endian float */
    cv_patch(path, data + 4, byte, 4);
    cv_assert_refused(dir, path, "corrupt");

    cv_save(dir, path, "fill", NULL, m);
    unsigned char *ones = malloc(count * sizeof(float));
    assert_non_null(ones);
    memset(ones, 0xff, count * sizeof(float));
    cv_patch(path, data, ones, count * sizeof(float));
    free(ones);
    assert_int_equal(cv_file_size(path), data + (long)(count * sizeof(float)));
    cv_assert_refused(dir, path, "corrupt");

    cv_save(dir, path, "truncated", NULL, m);
    assert_int_equal(truncate(path, cv_file_size(path) - 4), 0);
    cv_assert_refused(dir, path, "corrupt");
    cv_free(m);
}

/* optim.txt is covered too: a changed step count would resume at the
 * wrong epoch. */
static void test_corrupt_optim_is_refused(void **state)
{
    (void)state;
    char dir[256], path[512];
    cv_model m = cv_new(seed);
    cv_save(dir, path, "optim", "optim.txt", m);
    FILE *fp = fopen(path, "r+");
    assert_non_null(fp);
    char text[1024] = { 0 };
    size_t n = fread(text, 1, sizeof text - 1, fp);
    char *steps = strstr(text, "steps 1\n");
    assert_non_null(steps);
    steps[6] = '7';
    rewind(fp);
    assert_int_equal(fwrite(text, 1, n, fp), n);
    fclose(fp);
    cv_assert_refused(dir, path, "corrupt");
    cv_free(m);
}

/* A tensor file the save did not write, or one it wrote that is gone. */
static void test_extra_and_missing_files(void **state)
{
    (void)state;
    char dir[256], path[512], copy[600];
    cv_model m = cv_new(seed);
    cv_save(dir, path, "extra", NULL, m);
    snprintf(copy, sizeof copy, "%s/L09_dense.weight.npy", dir);
    assert_int_equal(link(path, copy), 0);
    cv_assert_refused(dir, "L09_dense.weight.npy", "not in crc32.txt");

    cv_save(dir, path, "missing", NULL, m);
    assert_int_equal(unlink(path), 0);
    cv_assert_refused(dir, path, "cannot open");

    /* a sidecar that is not one */
    cv_save(dir, path, "bad-sidecar", "crc32.txt", m);
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs("zz\n", fp);
    fclose(fp);
    cv_assert_refused(dir, path, "not \"<crc32> <file>\"");
    cv_free(m);
}

/* An older release's checkpoint has no crc32.txt: verify says so with its
 * own status, and it loads. */
static void test_missing_sidecar_loads(void **state)
{
    (void)state;
    char dir[256], path[512];
    cv_model m = cv_new(seed);
    cv_save(dir, path, "old", "crc32.txt", m);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(gp_checkpoint_verify(dir), GP_ERR_NOTFOUND);
    assert_non_null(strstr(gp_last_error(), "no checksums"));
    cv_model resumed = cv_new(seed + 1);
    assert_int_equal(gp_checkpoint_load(dir, resumed.net, resumed.opt), GP_OK);
    gp_param *a = gp_net_param(m.net, 0), *b = gp_net_param(resumed.net, 0);
    assert_memory_equal(a->value, b->value, a->count * sizeof(float));
    /* saving over it writes the sidecar again */
    assert_int_equal(gp_checkpoint_save(dir, resumed.net, resumed.opt), GP_OK);
    assert_int_equal(gp_checkpoint_verify(dir), GP_OK);
    snprintf(path, sizeof path, "%s/no-such-checkpoint", tmpdir);
    assert_int_equal(gp_checkpoint_verify(path), GP_ERR_IO);
    cv_free(resumed);
    cv_free(m);
}

static int group_setup(void **state)
{
    (void)state;
    return tu_group_setup("checkpoint", &seed, tmpdir, sizeof tmpdir);
}

static int group_teardown(void **state)
{
    (void)state;
    return tu_group_teardown(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sidecar_lists_every_file),
        cmocka_unit_test(test_corrupt_tensor_is_refused),
        cmocka_unit_test(test_corrupt_optim_is_refused),
        cmocka_unit_test(test_extra_and_missing_files),
        cmocka_unit_test(test_missing_sidecar_loads),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
