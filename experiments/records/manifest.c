/*
 * manifest.c - the part every manifest.yaml shares (see manifest.h).
 */
#include "autoconfig.h"

#include "records/manifest.h"
#include "util/sha256.h"
#include "util/util.h"
#include "gpool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <cblas.h>

/* The variables that steer threads and kernels: a result depends on them. */
static const char *const steering_variables[] = {
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
    "OMP_PROC_BIND",   "OMP_PLACES",           "OMP_DYNAMIC",     "GPOOL_VARIANT",
    "GPOOL_CPU_MASK",  "GPOOL_CONV",           "GPOOL_DATA",      "GPOOL_POOL_TUNING"
};

void gpx_manifest_string(FILE *fp, const char *key, const char *value)
{
    fprintf(fp, "%s: ", key);
    if (value)
        gpx_yaml_string(fp, value);
    else
        fputs("null", fp);
    fputc('\n', fp);
}

/* Output of a shell command (its first line), or "unknown". */
static void command_output(const char *cmd, char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fgets(buf, (int)len, p))
        buf[strcspn(buf, "\n")] = '\0';
    else
        snprintf(buf, len, "unknown");
    if (pclose(p) != 0)
        snprintf(buf, len, "unknown");
}

static void write_command(FILE *fp, const gpx_manifest *m)
{
    char cmd[4096] = "gpool", cwd[4096];
    if (!m->argc)
        return;
    for (int i = 0; i < m->argc; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", m->argv[i]);
    gpx_manifest_string(fp, "command", cmd);
    gpx_manifest_string(fp, "cwd", getcwd(cwd, sizeof cwd) ? cwd : "?");
}

static void write_config(FILE *fp, const gpx_manifest *m)
{
    char sha[65] = "unknown";
    if (!m->cfg)
        return;
    gpx_manifest_string(fp, "experiment", ycfg_name(m->cfg));
    gpx_manifest_string(fp, "config", m->config_path ? m->config_path : ycfg_path(m->cfg));
    if (!m->config_sha256)
        gpx_sha256_file(ycfg_path(m->cfg), sha);
    fprintf(fp, "config_sha256: %s\nswept: [", m->config_sha256 ? m->config_sha256 : sha);
    for (size_t k = 0; k < ycfg_nswept(m->cfg); k++)
        fprintf(fp, "%s%s", k ? ", " : "", ycfg_swept_path(m->cfg, k));
    fputs("]\n", fp);
}

/* The versions, and the checkout the command runs in, else the one it was
 * built from. */
static void write_build(FILE *fp)
{
    const char *git = "{ git rev-parse --is-inside-work-tree >/dev/null 2>&1 || cd '" GPOOL_SRCDIR
                      "'; } && git";
    char cmd[1024], buf[1024];
    gpx_manifest_string(fp, "gpool_version", PACKAGE_VERSION);
    gpx_manifest_string(fp, "libgpool_version", gp_version());
    snprintf(cmd, sizeof cmd, "%s rev-parse HEAD 2>/dev/null", git);
    command_output(cmd, buf, sizeof buf);
    fprintf(fp, "git_commit: %s\n", buf);
    int have_commit = strcmp(buf, "unknown") != 0;
    snprintf(cmd, sizeof cmd, "%s status --porcelain --untracked-files=no 2>/dev/null | wc -l", git);
    command_output(cmd, buf, sizeof buf);
    fprintf(fp, "git_dirty: %s\n", !have_commit || !strcmp(buf, "unknown") ? "unknown"
                                   : atoi(buf) > 0                         ? "true" : "false");
#ifdef __VERSION__
    gpx_manifest_string(fp, "compiler", __VERSION__);
#endif
#ifdef GPOOL_BUILD_CFLAGS
    gpx_manifest_string(fp, "cflags", GPOOL_BUILD_CFLAGS);
#endif
}

static const char *yes_no(int b)
{
    return b ? "true" : "false";
}

/* What the pooling kernels assumed about the core (docs/TUNING.md): the
 * figures of a run depend on it as on the CPU. */
static void write_pool_tuning(FILE *fp)
{
    gp_pool_tuning t;
    if (gp_pool_tuning_get(&t) != GP_OK) {
        gpx_manifest_string(fp, "pool_tuning_error", gp_last_error());
        return;
    }
    fprintf(fp, "pool_tuning: {name: %s, stream_prefetch: %zu, stream_min_bytes: %zu, "
                "batch_prefetch: %zu}\n",
            t.name, t.stream_prefetch, t.stream_min_bytes, t.batch_prefetch);
}

static void write_machine(FILE *fp)
{
    char buf[1024];
    struct utsname u;
    if (uname(&u) == 0) {
        gpx_manifest_string(fp, "host", u.nodename);
        snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.release, u.machine);
        gpx_manifest_string(fp, "kernel", buf);
    }
    gpx_manifest_string(fp, "cpu_model", gpx_cpu_model(buf, sizeof buf));
    fprintf(fp, "cpus_online: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(fp, "cpu_isa: {avx2: %s, avx512: %s, avx2_visible: %s, avx512_visible: %s}\n",
            yes_no(gp_cpu_has_native(GP_ISA_AVX2)), yes_no(gp_cpu_has_native(GP_ISA_AVX512)),
            yes_no(gp_cpu_has(GP_ISA_AVX2)), yes_no(gp_cpu_has(GP_ISA_AVX512)));
    write_pool_tuning(fp);
    const char *l3src;
    size_t l3 = gpx_l3_bytes(&l3src);
    fprintf(fp, "l3_bytes: %zu\nl3_source: %s\nopenmp: %s\n", l3, l3src,
            yes_no(gp_have_openmp()));
    gpx_manifest_string(fp, "openblas", openblas_get_config());
    fputs("environment:\n", fp);
    for (size_t i = 0; i < sizeof steering_variables / sizeof steering_variables[0]; i++) {
        snprintf(buf, sizeof buf, "  %s", steering_variables[i]);
        gpx_manifest_string(fp, buf, getenv(steering_variables[i]));
    }
}

static void write_defaults(FILE *fp, const ycfg *cfg)
{
    if (!cfg)
        return;
    size_t n = ycfg_ndefaults(cfg);
    fputs(n ? "defaults_used:\n" : "defaults_used: {}\n", fp);
    for (size_t k = 0; k < n; k++) {
        fprintf(fp, "  %s: ", ycfg_default_path(cfg, k));
        gpx_yaml_string(fp, ycfg_default_text(cfg, k));
        fputc('\n', fp);
    }
}

void gpx_manifest_write(FILE *fp, const gpx_manifest *m)
{
    char now[64];
    fprintf(fp, "# %s\n", m->comment);
    write_command(fp, m);
    write_config(fp, m);
    gpx_manifest_string(fp, "started", m->started);
    gpx_manifest_string(fp, "finished",
                        m->finished ? m->finished : gpx_iso_time(now, sizeof now));
    write_build(fp);
    write_machine(fp);
    write_defaults(fp, m->cfg);
}

/* "  key: v" for one channel (as before channels), else "  key: [v, ...]". */
static void write_channel_values(FILE *fp, const char *key, const double *v, int channels)
{
    int n = channels < 1 ? 1 : channels > GPX_MAX_CHANNELS ? GPX_MAX_CHANNELS : channels;
    fprintf(fp, "  %s: %s", key, n > 1 ? "[" : "");
    for (int ch = 0; ch < n; ch++)
        fprintf(fp, "%s%.6g", ch ? ", " : "", v[ch]);
    fputs(n > 1 ? "]\n" : "\n", fp);
}

void gpx_manifest_data(FILE *fp, const gpx_data_record *d)
{
    fprintf(fp, "data:\n  train: %d\n  validation: %d\n  test: %d\n  classes: %d\n",
            d->train_count, d->val_count, d->test_count, d->classes);
    write_channel_values(fp, "mean", d->mean, d->channels);
    write_channel_values(fp, "std", d->std, d->channels);
    fprintf(fp, "  augment: {hflip: %s, crop_pad: %d}\n",
            d->augment.hflip ? "true" : "false", d->augment.crop_pad);
    if (d->class_names[0]) {   /* imagefolder: label i is the i-th folder name */
        fputs("  class_names: ", fp);
        gpx_yaml_string(fp, d->class_names);
        fputc('\n', fp);
    }
    fputs("  files:\n", fp);
    for (int i = 0; i < d->nfiles; i++) {
        fputs("    - path: ", fp);
        gpx_yaml_string(fp, d->files[i]);
        fprintf(fp, "\n      sha256: %s\n", d->sha256[i]);
    }
}
