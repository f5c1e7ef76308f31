/*
 * test_records.c - experiments/records/: the CSV reader takes what RFC 4180
 * allows (quoted commas, quotes and newlines, CRLF) and refuses the rest
 * with file:line (a stray quote, text after a closing quote, an unclosed
 * quote, ragged rows, blank lines, a header with an empty or repeated
 * name); the header each results file's writer writes is the one its
 * readers require, and rows written from a run pass every check of the
 * reader (tests/test_record_checks.c has the refusals) and read back to
 * its values; a reader names the columns a file lacks; rerun's comparison
 * leaves the timing columns out; a manifest is YAML with one key per fact
 * under the settled names; and a chart's data, script and images are
 * published together or not at all (a fake gnuplot draws, fails, or is
 * missing).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <yaml.h>

#include "core/schema.h"
#include "records/chart.h"
#include "records/csv.h"
#include "records/manifest.h"
#include "records/results.h"
#include "records/run_rows.h"
#include "testutil.h"
#include "util/util.h"

/* ------------------------------------------------------------ helpers */

/* What body writes, as a string (caller frees). */
static char *written(void (*body)(FILE *, const void *), const void *ctx)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    body(mem, ctx);
    assert_int_equal(fclose(mem), 0);
    return text;
}

static char *read_file(const char *path)
{
    char *text = gpx_read_text(path);
    assert_non_null(text);
    return text;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* A fresh directory under TMPDIR. */
static void make_dir(char *buf, size_t len)
{
    snprintf(buf, len, "%s/gpool-records.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(buf));
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4400];
    while (d && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The names in dir, sorted and space separated: "a.dat a.gp". */
static void list_dir(const char *dir, char *buf, size_t len)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && o < len)
            o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", names[i]->d_name);
        free(names[i]);
    }
    free(names);
}

/* ----------------------------------------------------- the CSV reader */

static void test_csv_quoted_fields(void **state)
{
    (void)state;
    const char *text = "name,note,n\r\n"
                       "\"a, b\",\"he said \"\"hi\"\"\",1\r\n"
                       "plain,\"two\nlines\",2\r\n"
                       ",\"\",3";
    char err[512];
    gpx_csv t;
    assert_int_equal(gpx_csv_parse(&t, "q.csv", text, err, sizeof err), 0);
    assert_int_equal(t.header.n, 3);
    assert_int_equal(t.nrows, 3);
    assert_string_equal(gpx_csv_field(&t, 0, 0), "a, b");
    assert_string_equal(gpx_csv_field(&t, 0, 1), "he said \"hi\"");
    assert_string_equal(gpx_csv_field(&t, 0, 2), "1");
    assert_string_equal(gpx_csv_field(&t, 1, 1), "two\nlines");
    assert_string_equal(gpx_csv_field(&t, 2, 0), "");
    assert_string_equal(gpx_csv_field(&t, 2, 1), "");
    assert_string_equal(gpx_csv_field(&t, 2, 2), "3");
    /* rows know their first line, and their text as it stands */
    assert_int_equal(t.rows[1].line, 3);
    assert_int_equal(t.rows[2].line, 5);
    size_t len;
    const char *raw = gpx_csv_raw(&t, 1, &len);
    assert_int_equal(len, strlen("plain,\"two\nlines\",2"));
    assert_memory_equal(raw, "plain,\"two\nlines\",2", len);
    size_t row = 0;
    assert_int_equal(gpx_csv_find(&t, gpx_csv_column(&t, "n"), "3", &row), 0);
    assert_int_equal(row, 2);
    assert_int_equal(gpx_csv_find(&t, gpx_csv_column(&t, "n"), "4", &row), -1);
    assert_int_equal(gpx_csv_column(&t, "missing"), -1);
    gpx_csv_free(&t);
}

static void test_csv_refuses_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *message;
    } bad[] = {
        { "a,b\n1,2\n3\n", "bad.csv:3: 1 fields where the header has 2" },
        { "a,b\n1,2,3\n", "bad.csv:2: 3 fields where the header has 2" },
        { "a,b\n1,2\n\n4,5\n", "bad.csv:3: 1 fields where the header has 2" },
        { "a,b\n1,x\"y\n", "bad.csv:2: a quote inside a field that is not quoted" },
        { "a,b\n\"x\"y,2\n", "bad.csv:2: text after the closing quote of a field" },
        { "a,b\n1,2\n\"open,3\n4,5\n", "bad.csv:3: a quoted field is not closed" },
        { "a,b\n1\r,2\n", "bad.csv:2: a carriage return inside a field" },
        { "", "bad.csv:1: empty (no header line)" },
        { "a,b,a\n1,2,3\n", "bad.csv:1: the header names column a twice" },
        { "a,,b\n", "bad.csv:1: column 2 of the header has no name" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        gpx_csv t;
        assert_int_equal(gpx_csv_parse(&t, "bad.csv", bad[i].text, err, sizeof err), -1);
        if (strcmp(err, bad[i].message))
            fail_msg("case %zu: got '%s', want '%s'", i, err, bad[i].message);
        assert_int_equal(t.nrows, 0);
        assert_null(t.text);
        gpx_csv_free(&t);
    }
}

static void test_csv_numbers_and_files(void **state)
{
    (void)state;
    char err[512], dir[256], path[512];
    gpx_csv t;
    double v;
    assert_int_equal(gpx_csv_parse(&t, "n.csv", "x,y\n1.5,\n2x,-3e2\n", err, sizeof err), 0);
    assert_int_equal(gpx_csv_number(&t, 0, 0, &v, err, sizeof err), 0);
    assert_true(v == 1.5);
    assert_int_equal(gpx_csv_number(&t, 0, 1, &v, err, sizeof err), 0);
    assert_true(isnan(v));
    assert_int_equal(gpx_csv_number(&t, 1, 1, &v, err, sizeof err), 0);
    assert_true(v == -300);
    assert_int_equal(gpx_csv_number(&t, 1, 0, &v, err, sizeof err), -1);
    assert_string_equal(err, "n.csv:3: column x: '2x' is not a number");
    gpx_csv_free(&t);

    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/absent.csv", dir);
    int missing = 0;
    assert_int_equal(gpx_csv_load(&t, path, &missing, err, sizeof err), 0);
    assert_int_equal(missing, 1);
    assert_int_equal(gpx_csv_load(&t, path, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "absent.csv: cannot be read"));
    snprintf(path, sizeof path, "%s/x.csv", dir);
    write_file(path, "k\nv\n");
    missing = 0;
    assert_int_equal(gpx_csv_load(&t, path, &missing, err, sizeof err), 0);
    assert_int_equal(missing, 0);
    assert_string_equal(gpx_csv_field(&t, 0, 0), "v");
    assert_string_equal(t.path, path);
    gpx_csv_free(&t);
    remove_dir(dir);
}

/* ------------------------------------------------- the column lists */

static const char experiment_yaml[] =
    "name: rec-test\n"
    "data:\n"
    "  source: synthetic\n"
    "  synthetic: {train: 60, test: 20, size: 8, classes: 3, seed: 2}\n"
    "model:\n"
    "  trunk:\n"
    "    - {type: conv, out: 4, k: 3, pad: 1}\n"
    "    - {type: relu}\n"
    "  head: gap\n"
    "train: {epochs: 2, batch: 16, threads: 1}\n"
    "sweep:\n"
    "  model.head: [gap, gmp_dense]\n"
    "  train.seed: [0, 7]\n";

static ycfg *load_experiment(const char *yaml)
{
    char err[1024];
    ycfg *cfg = ycfg_load_string("rec-test.yaml", yaml, gpx_run_schema(), err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    return cfg;
}

/* The header gpx_record_header writes for f and cfg (caller frees). */
static char *header_text(const gpx_record_file *f, const ycfg *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    gpx_record_header(mem, f, cfg);
    assert_int_equal(fclose(mem), 0);
    return text;
}

/* Every file's header, written for a config with two swept paths, is what
 * its readers require: every column found where the writer put it, the
 * swept ones in between, and the header the same as the writer's. */
static void test_header_written_is_header_required(void **state)
{
    (void)state;
    const gpx_record_file *files[] = { &gpx_runs_file, &gpx_epochs_file, &gpx_evals_file,
                                       &gpx_bench_file, &gpx_profile_file, &gpx_throughput_file,
                                       &gpx_progress_file };
    ycfg *cfg = load_experiment(experiment_yaml);
    assert_int_equal(ycfg_nswept(cfg), 2);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const gpx_record_file *f = files[i];
        char *text = header_text(f, cfg), err[1024];
        size_t nswept = f->swept_at ? 2 : 0;
        gpx_csv t;
        int col[64], first, end;
        assert_true(f->ncolumns <= 64);
        assert_int_equal(gpx_csv_parse(&t, f->name, text, err, sizeof err), 0);
        assert_int_equal(t.header.n, f->ncolumns + nswept);
        assert_int_equal(gpx_record_columns(&t, f, NULL, 0, col, err, sizeof err), 0);
        for (size_t k = 0; k < f->ncolumns; k++)
            assert_int_equal(col[k], (int)(k + (f->swept_at && k >= f->swept_at ? nswept : 0)));
        assert_true(gpx_record_same_header(&t, f, cfg));
        gpx_record_swept(f, col, &first, &end);
        assert_int_equal(end - first, (int)nswept);
        if (nswept) {
            assert_string_equal(t.header.field[first], "model.head");
            assert_string_equal(t.header.field[first + 1], "train.seed");
        }
        gpx_csv_free(&t);
        free(text);
    }
    ycfg_free(cfg);
}

/* A file of another sweep, or without columns a reader needs. */
static void test_header_mismatch(void **state)
{
    (void)state;
    ycfg *cfg = load_experiment(experiment_yaml), *other;
    char yaml[2048], err[1024];
    snprintf(yaml, sizeof yaml, "%.*s  train.batch: [8, 16]\n",
             (int)(strstr(experiment_yaml, "  train.seed") - experiment_yaml), experiment_yaml);
    other = load_experiment(yaml);
    char *text = header_text(&gpx_runs_file, other);
    gpx_csv t;
    int col[GPX_RUNS_NCOLUMNS];
    assert_int_equal(gpx_csv_parse(&t, "runs.csv", text, err, sizeof err), 0);
    assert_false(gpx_record_same_header(&t, &gpx_runs_file, cfg));
    assert_true(gpx_record_same_header(&t, &gpx_runs_file, other));
    gpx_csv_free(&t);
    free(text);

    const char *old = "run_id,experiment,head,seed,epochs,status\nx,e,gap,0,3,ok\n";
    const int need[] = { GPX_RUNS_RUN_ID, GPX_RUNS_PARAMS, GPX_RUNS_STATUS, GPX_RUNS_FLOPS };
    assert_int_equal(gpx_csv_parse(&t, "old/runs.csv", old, err, sizeof err), 0);
    assert_int_equal(gpx_record_columns(&t, &gpx_runs_file, need, 4, col, err, sizeof err), -1);
    assert_non_null(strstr(err, "old/runs.csv: missing columns: params, flops ("));
    /* only what the reader needs counts: the rest is looked up, or -1 */
    const int some[] = { GPX_RUNS_RUN_ID, GPX_RUNS_STATUS };
    assert_int_equal(gpx_record_columns(&t, &gpx_runs_file, some, 2, col, err, sizeof err), 0);
    assert_int_equal(col[GPX_RUNS_STATUS], 5);
    assert_int_equal(col[GPX_RUNS_VARIANT], -1);
    gpx_csv_free(&t);
    ycfg_free(other);
    ycfg_free(cfg);
}

/* ------------------------------------------------------ a run's rows */

typedef struct {
    const ycfg   *cfg;
    gpx_run_rows  rows;
} run_ctx;

static void write_run_files(FILE *fp, const void *ctx)
{
    const run_ctx *r = ctx;
    gpx_record_header(fp, &gpx_runs_file, r->cfg);
    gpx_write_run_row(fp, r->cfg, &r->rows);
}

static void write_epoch_file(FILE *fp, const void *ctx)
{
    const run_ctx *r = ctx;
    gpx_record_header(fp, &gpx_epochs_file, r->cfg);
    gpx_write_epoch_rows(fp, r->cfg, &r->rows);
}

static void write_eval_file(FILE *fp, const void *ctx)
{
    const run_ctx *r = ctx;
    gpx_record_header(fp, &gpx_evals_file, r->cfg);
    gpx_write_eval_rows(fp, r->cfg, &r->rows);
}

/* Field name of row r, read back as the reader would. */
static const char *field(const gpx_csv *t, size_t r, const char *name)
{
    int c = gpx_csv_column(t, name);
    if (c < 0)
        fail_msg("%s has no column %s", t->path, name);
    return gpx_csv_field(t, r, c);
}

static void assert_real(const gpx_csv *t, size_t r, const char *name, const char *fmt, double v)
{
    char want[64];
    snprintf(want, sizeof want, fmt, v);
    assert_string_equal(field(t, r, name), want);
}

static void fill_run(run_ctx *c, gpx_run_built *b, gpx_train_result *res, gpx_epoch_row *ep,
                     gpx_size_row *ev)
{
    memset(b, 0, sizeof *b);
    b->params = 1234;
    b->flops = 5.5e6;
    b->mem = (gp_mem_report){ 10, 20, 30, 40, 50, 150 };
    b->threads = 2;
    snprintf(b->variant, sizeof b->variant, "avx2");
    b->input_size = 8;
    for (int e = 0; e < 2; e++)
        ep[e] = (gpx_epoch_row){ e + 1,         1e-3 * tu_uniform(1, 2), tu_uniform(0.5, 2),
                                 tu_uniform(0.1, 0.9), NAN,             NAN,
                                 tu_uniform(0.5, 2), tu_uniform(0.1, 0.9), tu_uniform(0.01, 1),
                                 tu_uniform(0.01, 1), tu_uniform(100, 900),
                                 tu_uniform(0.1, 0.9) };
    memset(res, 0, sizeof *res);
    res->best_epoch = 2;
    res->best_test_acc = ep[1].test_acc;
    res->train_s = ep[0].epoch_s + ep[1].epoch_s;
    res->images_per_s = tu_uniform(100, 900);
    memset(ev, 0, 2 * sizeof *ev);
    ev[0] = (gpx_size_row){ 12, GPX_SIZE_RESIZE, tu_uniform(0.1, 0.9), tu_uniform(0.5, 2), 1, "" };
    ev[1].size = 6;
    ev[1].method = GPX_SIZE_CANVAS_CENTER;
    ev[1].test_acc = ev[1].test_loss = NAN;
    snprintf(ev[1].reason, sizeof ev[1].reason, "canvas smaller than the 8x8 image");
    c->rows = (gpx_run_rows){ ycfg_point_id(ycfg_point_at(c->cfg, 3)), ycfg_point_at(c->cfg, 3),
                              b, res, ep, 2, ev, 2, 42.25, "diverged",
                              "loss, \"nan\"\r\nat step 3" };
}

/* Rows written from a run read back to its values, in the list's formats. */
/* t, as the file f: every column there, and every reader check passed. */
static void assert_checked(const gpx_csv *t, const gpx_record_file *f)
{
    char err[1024];
    int col[GPX_RUNS_NCOLUMNS];
    assert_true(f->ncolumns <= GPX_RUNS_NCOLUMNS);
    if (gpx_record_columns(t, f, NULL, 0, col, err, sizeof err) ||
        gpx_record_check(t, f, col, err, sizeof err))
        fail_msg("what the writer wrote is refused: %s", err);
}

static void test_run_rows_read_back(void **state)
{
    (void)state;
    uint64_t seed = tu_seed();
    run_ctx c = { load_experiment(experiment_yaml), { 0 } };
    gpx_run_built b;
    gpx_train_result res;
    gpx_epoch_row ep[2];
    gpx_size_row ev[2];
    fill_run(&c, &b, &res, ep, ev);
    char *runs = written(write_run_files, &c), *epochs = written(write_epoch_file, &c);
    char *evals = written(write_eval_file, &c), err[1024];
    gpx_csv t;
    if (gpx_csv_parse(&t, "runs.csv", runs, err, sizeof err))
        fail_msg("%s (seed %llu)", err, (unsigned long long)seed);
    assert_int_equal(t.nrows, 1);
    assert_checked(&t, &gpx_runs_file);
    assert_string_equal(field(&t, 0, "run_id"), c.rows.id);
    assert_string_equal(field(&t, 0, "experiment"), "rec-test");
    assert_string_equal(field(&t, 0, "model.head"), "gmp_dense");
    assert_string_equal(field(&t, 0, "train.seed"), "7");
    assert_string_equal(field(&t, 0, "seed"), "7");
    assert_string_equal(field(&t, 0, "params"), "1234");
    assert_string_equal(field(&t, 0, "mem_total"), "150");
    assert_real(&t, 0, "final_test_acc", "%.5f", ep[1].test_acc);
    assert_real(&t, 0, "final_train_loss", "%.6f", ep[1].train_loss);
    assert_string_equal(field(&t, 0, "final_val_acc"), "");
    assert_string_equal(field(&t, 0, "best_epoch"), "2");
    assert_real(&t, 0, "peak_rss_mib", "%.1f", 42.25);
    assert_string_equal(field(&t, 0, "reason"), "loss, \"nan\"  at step 3");
    gpx_csv_free(&t);
    assert_int_equal(gpx_csv_parse(&t, "epochs.csv", epochs, err, sizeof err), 0);
    assert_int_equal(t.nrows, 2);
    assert_checked(&t, &gpx_epochs_file);
    assert_string_equal(field(&t, 1, "epoch"), "2");
    assert_real(&t, 0, "lr", "%.6g", ep[0].lr);
    assert_real(&t, 1, "img_per_s", "%.1f", ep[1].img_per_s);
    gpx_csv_free(&t);
    assert_int_equal(gpx_csv_parse(&t, "evals.csv", evals, err, sizeof err), 0);
    assert_int_equal(t.nrows, 2);
    assert_checked(&t, &gpx_evals_file);
    assert_string_equal(field(&t, 0, "train_size"), "8");
    assert_real(&t, 0, "test_acc", "%.5f", ev[0].test_acc);
    assert_string_equal(field(&t, 1, "method"), "canvas_center");
    assert_string_equal(field(&t, 1, "status"), "n/a");
    assert_string_equal(field(&t, 1, "reason"), ev[1].reason);
    gpx_csv_free(&t);
    free(runs);
    free(epochs);
    free(evals);
    ycfg_free((ycfg *)c.cfg);
}

static void write_progress(FILE *fp, const void *ctx)
{
    gpx_write_progress(fp, ctx, 3);
}

static void epoch_values(const gpx_epoch_row *r, double *v)
{
    const double all[] = { r->lr,        r->train_loss, r->train_acc, r->val_loss, r->val_acc,
                           r->test_loss, r->test_acc,   r->epoch_s,   r->eval_s,   r->img_per_s };
    memcpy(v, all, sizeof all);
}

static int same_bits(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* progress.csv gives back every value to the bit, also one written as
 * "nan" by the build before; epochs out of order make it unusable. */
static void test_progress_round_trip(void **state)
{
    (void)state;
    char dir[256], path[512];
    gpx_epoch_row rows[3], *back;
    tu_seed();
    for (int e = 0; e < 3; e++)
        rows[e] = (gpx_epoch_row){ e + 1,  1e-3 * tu_uniform(1, 2), tu_uniform(0.5, 2),
                                   tu_uniform(0.1, 0.9), NAN, NAN, tu_uniform(0.5, 2),
                                   tu_uniform(0.1, 0.9), tu_uniform(0.01, 1) / 3,
                                   tu_uniform(0.01, 1) / 7, tu_uniform(100, 900) / 3,
                                   tu_uniform(0.1, 0.9) };
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/progress.csv", dir);
    char *text = written(write_progress, rows);
    write_file(path, text);
    assert_int_equal(gpx_read_progress(path, &back), 3);
    for (int e = 0; e < 3; e++) {
        double a[10], b[10];
        epoch_values(&rows[e], a);
        epoch_values(&back[e], b);
        assert_int_equal(back[e].epoch, e + 1);
        for (int k = 0; k < 10; k++)
            if (!same_bits(a[k], b[k]))
                fail_msg("epoch %d value %d: %.17g read back as %.17g", e + 1, k, a[k], b[k]);
    }
    free(back);
    write_file(path, "epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,"
                     "epoch_s,eval_s,img_per_s\n1,0.001,1.5,0.25,nan,nan,1.25,0.5,2,0.5,300\n");
    assert_int_equal(gpx_read_progress(path, &back), 1);
    assert_true(isnan(back[0].val_acc) && back[0].test_acc == 0.5);
    free(back);
    free(text);
    rows[2].epoch = 5;
    text = written(write_progress, rows);
    write_file(path, text);
    assert_int_equal(gpx_read_progress(path, &back), 0);
    assert_null(back);
    unlink(path);
    assert_int_equal(gpx_read_progress(path, &back), 0);
    free(text);
    remove_dir(dir);
}

/* rerun's comparison: timing columns never differ, the others do. */
static void test_record_diff(void **state)
{
    (void)state;
    const char *a = "run_id,model.head,head,final_test_acc,train_s,peak_rss_mib\n"
                    "r1,gap,gap,0.50000,1.000,10.0\n";
    const char *same = "run_id,head,final_test_acc,train_s,peak_rss_mib\n"
                       "r1,gap,0.50000,9.999,99.9\n";
    const char *other = "run_id,head,final_test_acc,train_s,peak_rss_mib\n"
                        "r1,gap,0.50010,1.000,10.0\n";
    char err[512], *out = NULL;
    size_t len = 0;
    gpx_csv ta, tb, tc;
    assert_int_equal(gpx_csv_parse(&ta, "a", a, err, sizeof err), 0);
    assert_int_equal(gpx_csv_parse(&tb, "b", same, err, sizeof err), 0);
    assert_int_equal(gpx_csv_parse(&tc, "c", other, err, sizeof err), 0);
    FILE *mem = open_memstream(&out, &len);
    assert_int_equal(gpx_record_diff(&gpx_runs_file, &ta, 0, &tb, 0, mem), 0);
    assert_int_equal(gpx_record_diff(&gpx_runs_file, &ta, 0, &tc, 0, mem), 1);
    fclose(mem);
    assert_non_null(strstr(out, "final_test_acc"));
    assert_non_null(strstr(out, "recorded 0.50000, rerun 0.50010"));
    free(out);
    gpx_csv_free(&ta);
    gpx_csv_free(&tb);
    gpx_csv_free(&tc);
}

/* ------------------------------------------------------- the manifest */

static void write_manifest(FILE *fp, const void *ctx)
{
    char *argv[] = { "run", "-q", "x.yaml" };
    gpx_manifest m = { "test manifest", 3, argv, ctx, NULL, NULL, "2024-01-01T00:00:00+0000",
                       NULL };
    gpx_data_record d = { .nfiles = 1, .files = { "data/train.idx" }, .sha256 = { "ab" },
                          .channels = 1, .mean = { 0.5 }, .std = { 0.25 }, .train_count = 60,
                          .test_count = 20 };
    gpx_manifest_write(fp, &m);
    gpx_manifest_data(fp, &d);
}

/* The top-level keys of a YAML mapping into keys (space separated). */
static void top_level_keys(const char *text, char *keys, size_t len)
{
    yaml_parser_t p;
    yaml_document_t doc;
    size_t o = 0;
    assert_true(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&p, &doc))
        fail_msg("not YAML: %s at line %zu", p.problem, p.problem_mark.line + 1);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    assert_non_null(root);
    assert_int_equal(root->type, YAML_MAPPING_NODE);
    keys[0] = '\0';
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top && o < len; pair++) {
        yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
        o += (size_t)snprintf(keys + o, len - o, " %s", (const char *)k->data.scalar.value);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
}

static void test_manifest_keys(void **state)
{
    (void)state;
    static const char *const expected[] = {
        "command", "cwd", "experiment", "config", "config_sha256", "swept", "started",
        "finished", "gpool_version", "libgpool_version", "git_commit", "git_dirty",
        "cpu_model", "cpus_online", "cpu_isa", "pool_tuning", "l3_bytes", "l3_source", "openmp",
        "openblas",
        "environment", "defaults_used", "data"
    };
    static const char *const old[] = { "cpu", "online_cpus", "cpu_flags", "name", "date" };
    ycfg *cfg = load_experiment(experiment_yaml);
    char *text = written(write_manifest, cfg), keys[4096], want[128];
    top_level_keys(text, keys, sizeof keys);
    strcat(keys, " ");
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        snprintf(want, sizeof want, " %s ", expected[i]);
        char *at = strstr(keys, want);
        if (!at || strstr(at + 1, want))
            fail_msg("key %s is not there exactly once in:%s", expected[i], keys);
    }
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
        snprintf(want, sizeof want, " %s ", old[i]);
        assert_null(strstr(keys, want));
    }
    static const char *const lines[] = {
        "command: \"gpool run -q x.yaml\"\n", "swept: [model.head, train.seed]\n",
        "  train.optimizer: \"adam\"\n", "    - path: \"data/train.idx\"\n      sha256: ab\n"
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(text, lines[i]))
            fail_msg("the manifest lacks '%s':\n%s", lines[i], text);
    free(text);
    ycfg_free(cfg);
}

/* ---------------------------------------------------------- the chart */

static char chart_dir[256], fake_dir[256];

static void write_chart_data(FILE *fp, const void *ctx)
{
    fprintf(fp, "# %s\n1 2\n2 4\n", (const char *)ctx);
}

static void write_chart_script(FILE *fp, const void *ctx)
{
    (void)ctx;
    fputs("plot datafile using 1:2\n", fp);
}

/* GNUPLOT becomes a stand-in for gnuplot: `-e SETTINGS SCRIPT`; it draws
 * outbase.png and .svg as copies of the data file, or the png only and
 * then fails (mode "fail"). */
static void use_fake_gnuplot(const char *mode)
{
    char text[1024], path[512];
    size_t len = sizeof path;
    snprintf(path, len, "%s/gnuplot-%s", fake_dir, mode);
    snprintf(text, sizeof text,
             "#!/bin/sh\n"
             "data=$(printf '%%s' \"$2\" | sed -n \"s/^datafile='\\([^']*\\)'.*/\\1/p\")\n"
             "out=$(printf '%%s' \"$2\" | sed -n \"s/.*outbase='\\([^']*\\)'.*/\\1/p\")\n"
             "test -r \"$3\" || exit 3\n"
             "cp \"$data\" \"$out.png\" || exit 4\n"
             "%s\n"
             "cp \"$data\" \"$out.svg\"\n",
             strcmp(mode, "fail") ? "" : "exit 1");
    write_file(path, text);
    assert_int_equal(chmod(path, 0755), 0);
    setenv("GNUPLOT", path, 1);
}

/* dir/name holds text. */
static void assert_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *got = read_file(path);
    if (strcmp(got, text))
        fail_msg("%s holds '%s', not '%s'", path, got, text);
    free(got);
}

static int chart_setup(void **state)
{
    (void)state;
    make_dir(chart_dir, sizeof chart_dir);
    make_dir(fake_dir, sizeof fake_dir);
    return 0;
}

static int chart_teardown(void **state)
{
    (void)state;
    remove_dir(chart_dir);
    remove_dir(fake_dir);
    unsetenv("GNUPLOT");
    return 0;
}

static int publish(const char *name, const char *label, char *err, size_t errlen)
{
    gpx_chart c = { chart_dir, name, NULL, write_chart_data, write_chart_script, NULL, NULL,
                    label };
    return gpx_chart_publish(&c, err, errlen);
}

static void test_chart_published_together(void **state)
{
    (void)state;
    char err[1024], names[1024];
    use_fake_gnuplot("ok");
    assert_int_equal(publish("acc", "first", err, sizeof err), 0);
    list_dir(chart_dir, names, sizeof names);
    assert_string_equal(names, "acc.dat acc.gp acc.png acc.svg");
    /* gnuplot drew from the data it was given */
    assert_file(chart_dir, "acc.png", "# first\n1 2\n2 4\n");
    assert_file(chart_dir, "acc.gp", "plot datafile using 1:2\n");
}

/* gnuplot fails half way: the chart of before stays whole, nothing new
 * and no temporary file is left. */
static void test_chart_failure_publishes_nothing(void **state)
{
    (void)state;
    char err[1024], names[1024];
    use_fake_gnuplot("ok");
    assert_int_equal(publish("acc", "before", err, sizeof err), 0);
    use_fake_gnuplot("fail");
    assert_int_equal(publish("acc", "after", err, sizeof err), -1);
    assert_non_null(strstr(err, "failed (exit status 1)"));
    list_dir(chart_dir, names, sizeof names);
    assert_string_equal(names, "acc.dat acc.gp acc.png acc.svg");
    const char *files[] = { "acc.dat", "acc.png", "acc.svg" };
    for (size_t i = 0; i < 3; i++)
        assert_file(chart_dir, files[i], "# before\n1 2\n2 4\n");
    assert_int_equal(publish("new", "after", err, sizeof err), -1);
    list_dir(chart_dir, names, sizeof names);
    assert_string_equal(names, "acc.dat acc.gp acc.png acc.svg");
}

/* No gnuplot: with GNUPLOT empty nothing is written; a program that is not
 * there leaves the data and script (to draw it later), no image. */
static void test_chart_without_gnuplot(void **state)
{
    (void)state;
    char err[1024], names[1024], missing[512];
    setenv("GNUPLOT", "", 1);
    assert_int_equal(publish("acc", "x", err, sizeof err), 1);
    assert_string_equal(err, "no gnuplot (GNUPLOT is empty)");
    list_dir(chart_dir, names, sizeof names);
    assert_string_equal(names, "");
    snprintf(missing, sizeof missing, "%s/no-such-gnuplot", fake_dir);
    setenv("GNUPLOT", missing, 1);
    assert_int_equal(publish("acc", "x", err, sizeof err), 1);
    assert_non_null(strstr(err, "no-such-gnuplot not found"));
    list_dir(chart_dir, names, sizeof names);
    assert_string_equal(names, "acc.dat acc.gp");
}

/* A template chart: the published script is the settings, then the
 * template; a template that is nowhere is an error naming its variable. */
static void test_chart_template(void **state)
{
    (void)state;
    char err[1024], names[1024], path[512], tmpl[512];
    use_fake_gnuplot("ok");
    snprintf(tmpl, sizeof tmpl, "%s/bars.gp", fake_dir);
    write_file(tmpl, "if (!exists('title')) title = 'none'\nplot datafile\n");
    setenv("GPOOL_BARS_GP", tmpl, 1);
    gpx_chart c = { chart_dir, "bars", "bars-data.dat", write_chart_data, NULL, "bars.gp",
                    "title = 'two bars'", "t" };
    assert_int_equal(gpx_chart_publish(&c, err, sizeof err), 0);
    list_dir(chart_dir, names, sizeof names);
    assert_string_equal(names, "bars-data.dat bars.gp bars.png bars.svg");
    snprintf(path, sizeof path, "%s/bars.gp", chart_dir);
    char *gp = read_file(path);
    assert_non_null(strstr(gp, "title = 'two bars'\n\nif (!exists('title')) title = 'none'\n"
                               "plot datafile\n"));
    assert_int_equal(strncmp(gp, "# bars: ", 8), 0);
    free(gp);
    unsetenv("GPOOL_BARS_GP");
    c.template_name = "no-such-template.gp";
    c.name = "other";
    assert_int_equal(gpx_chart_publish(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "set GPOOL_NO_SUCH_TEMPLATE_GP"));
    list_dir(chart_dir, names, sizeof names);
    assert_string_equal(names, "bars-data.dat bars.gp bars.png bars.svg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quoted_fields),
        cmocka_unit_test(test_csv_refuses_malformed),
        cmocka_unit_test(test_csv_numbers_and_files),
        cmocka_unit_test(test_header_written_is_header_required),
        cmocka_unit_test(test_header_mismatch),
        cmocka_unit_test(test_run_rows_read_back),
        cmocka_unit_test(test_progress_round_trip),
        cmocka_unit_test(test_record_diff),
        cmocka_unit_test(test_manifest_keys),
        cmocka_unit_test_setup_teardown(test_chart_published_together, chart_setup,
                                        chart_teardown),
        cmocka_unit_test_setup_teardown(test_chart_failure_publishes_nothing, chart_setup,
                                        chart_teardown),
        cmocka_unit_test_setup_teardown(test_chart_without_gnuplot, chart_setup,
                                        chart_teardown),
        cmocka_unit_test_setup_teardown(test_chart_template, chart_setup, chart_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
