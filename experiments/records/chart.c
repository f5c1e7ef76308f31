/*
 * chart.c - publishing a chart's data, script and images together (see
 * chart.h).
 */
#include "autoconfig.h"

#include "records/chart.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where `make install` puts the templates; the build passes it. */
#ifndef GPOOL_DATADIR
#define GPOOL_DATADIR "/usr/local/share/gpool"
#endif

/* A chart's files while it is made: the data and the script under
 * temporary names (gpx_atomic_file), the images under tmp_base. */
typedef struct {
    gpx_atomic_file dat, gp;
    char            base[4096];      /* DIR/NAME: the images' final names less .png/.svg */
    char            tmp_base[4200];  /* what gnuplot draws to */
} chart_files;

static const char *const image_ext[] = { "png", "svg" };

/* The variable that overrides a template: GPOOL_BENCH_GP for bench.gp. */
static void template_variable(char *buf, size_t len, const char *name)
{
    size_t o = (size_t)snprintf(buf, len, "GPOOL_");
    for (const char *c = name; *c && o + 1 < len; c++)
        buf[o++] = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
    buf[o] = '\0';
}

const char *gpx_chart_template(const char *name, char *buf, size_t len)
{
    char var[256];
    template_variable(var, sizeof var, name);
    const char *env = getenv(var);
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return buf;
    }
    snprintf(buf, len, "experiments/records/%s", name);
    if (gpx_readable(buf))
        return buf;
    snprintf(buf, len, "%s/%s", GPOOL_DATADIR, name);
    return gpx_readable(buf) ? buf : NULL;
}

static int open_part(gpx_atomic_file *f, const char *dir, const char *name, char *err,
                     size_t errlen)
{
    char path[4096];
    if (gpx_join(path, sizeof path, dir, name)) {
        snprintf(err, errlen, "%s/%s: path too long", dir, name);
        return -1;
    }
    return gpx_atomic_open(f, path, err, errlen);
}

/* The template's text after the command's settings. */
static int write_from_template(FILE *fp, const gpx_chart *c, char *err, size_t errlen)
{
    char path[4096], var[256];
    if (!gpx_chart_template(c->template_name, path, sizeof path)) {
        template_variable(var, sizeof var, c->template_name);
        snprintf(err, errlen, "chart template %s not found (set %s, or run from the source "
                              "tree, or install gpool)", c->template_name, var);
        return -1;
    }
    char *text = gpx_read_text(path);
    if (!text) {
        snprintf(err, errlen, "cannot read the chart template %s", path);
        return -1;
    }
    fprintf(fp, "# %s: this chart's settings, then the template %s\n%s\n\n%s", c->name, path,
            c->settings ? c->settings : "", text);
    free(text);
    return 0;
}

/* NAME.dat and NAME.gp written and closed under their temporary names. */
static int write_sources(const gpx_chart *c, chart_files *f, char *err, size_t errlen)
{
    char name[512];
    snprintf(name, sizeof name, "%s.dat", c->name);
    if (open_part(&f->dat, c->dir, c->data_name ? c->data_name : name, err, errlen))
        return -1;
    c->data(f->dat.fp, c->ctx);
    if (gpx_atomic_close(&f->dat, err, errlen))
        return -1;
    snprintf(name, sizeof name, "%s.gp", c->name);
    if (open_part(&f->gp, c->dir, name, err, errlen))
        return -1;
    if (c->script)
        c->script(f->gp.fp, c->ctx);
    else if (write_from_template(f->gp.fp, c, err, errlen))
        return -1;
    return gpx_atomic_close(&f->gp, err, errlen);
}

static void image_name(char *buf, size_t len, const char *base, int k)
{
    snprintf(buf, len, "%s.%s", base, image_ext[k]);
}

static int draw(const chart_files *f, const char *program, char *err, size_t errlen)
{
    char q1[8300], q2[8500], settings[17000];
    gpx_gnuplot_quote(q1, sizeof q1, f->dat.tmp);
    gpx_gnuplot_quote(q2, sizeof q2, f->tmp_base);
    snprintf(settings, sizeof settings, "datafile=%s; outbase=%s", q1, q2);
    int r = gpx_run_gnuplot(program, f->gp.tmp, settings, err, errlen);
    if (r == 1)
        snprintf(err, errlen, "%s not found", program);
    return r;
}

/* Rename the images, then the data and script, into place. */
static int publish_all(chart_files *f, char *err, size_t errlen)
{
    for (int k = 0; k < 2; k++) {
        char tmp[4300], dst[4300];
        image_name(tmp, sizeof tmp, f->tmp_base, k);
        image_name(dst, sizeof dst, f->base, k);
        if (gpx_publish(tmp, dst, err, errlen))
            return -1;
    }
    return gpx_atomic_commit(&f->dat, err, errlen) || gpx_atomic_commit(&f->gp, err, errlen)
               ? -1 : 0;
}

static void discard(chart_files *f)
{
    for (int k = 0; k < 2; k++) {
        char tmp[4300];
        image_name(tmp, sizeof tmp, f->tmp_base, k);
        unlink(tmp);
    }
    gpx_atomic_abort(&f->dat);
    gpx_atomic_abort(&f->gp);
}

int gpx_chart_publish(const gpx_chart *c, char *err, size_t errlen)
{
    const char *program = gpx_gnuplot_program();
    if (!*program) {
        snprintf(err, errlen, "no gnuplot (GNUPLOT is empty)");
        return 1;
    }
    chart_files f;
    memset(&f, 0, sizeof f);
    if (gpx_join(f.base, sizeof f.base, c->dir, c->name)) {
        snprintf(err, errlen, "%s/%s: path too long", c->dir, c->name);
        return -1;
    }
    gpx_tmp_name(f.tmp_base, sizeof f.tmp_base, f.base);
    int r = write_sources(c, &f, err, errlen) ? -1 : draw(&f, program, err, errlen);
    if (r == 1) {
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        if (gpx_atomic_commit(&f.dat, err, errlen) || gpx_atomic_commit(&f.gp, err, errlen))
            r = -1;
        else
            snprintf(err, errlen, "%s", why);
    } else if (r == 0) {
        r = publish_all(&f, err, errlen);
    }
    if (r != 0)
        discard(&f);
    return r;
}
