/*
 * fuzz_config.c - fuzz target of the config loader: libycfg (experiments/cfg)
 * against the root schemas (experiments, benchmarks, claims), then what
 * `gpool run --check` does with an experiment config that loads: every
 * point decoded and its network built.
 *
 * Promises checked: a refusal names the config ("fuzz.yaml:..."); an
 * accepted experiment's name is one safe path component; the resolved
 * config, written out, loads again to the same points and ids. The input
 * is accepted when any of the schemas accepts it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "core/model.h"
#include "core/point.h"
#include "core/schema.h"
#include "records/claims.h"
#include "fuzz.h"

#define TARGET "fuzz_config"
#define NAME   "fuzz.yaml"

/* A sweep may hold thousands of points; the first few cover the decoders. */
#define MAX_POINTS_BUILT 8

/* The network is built with its widths, paddings, depth and input side cut
 * to these, so that no input can ask for gigabytes: a kernel larger than the
 * input, a map shrunk to nothing and every other shape error are still met
 * (the verdict is the cut network's: a config that needs a side over
 * MAX_SIDE or a padding over MAX_PAD to fit is refused here, not by gpool). */
#define MAX_LAYERS   16
#define MAX_CHANNELS 4
#define MAX_PAD      2
#define MAX_FEATURES 16
#define MAX_SIDE     32

static void require_names_config(const char *err)
{
    fuzz_require(TARGET, !strncmp(err, NAME ":", strlen(NAME ":")),
                 "a refusal names the config");
}

static int at_most(int v, int most)
{
    return v > most ? most : v;
}

/* The image side and classes the point's data would have, as far as the
 * config says (an IDX set's sizes are in its files), cut to MAX_SIDE. */
static gp_shape point_input(const ycfg_point *pt, int *classes)
{
    gpx_data_spec d = gpx_run_data_spec(pt);
    int synthetic = d.source && !strcmp(d.source, "synthetic");
    int side = d.resize > 0 ? d.resize : synthetic && d.synthetic_size ? d.synthetic_size : 28;
    *classes = synthetic && d.synthetic_classes ? d.synthetic_classes : 10;
    gp_shape in = { 1, 1, at_most(side, MAX_SIDE), at_most(side, MAX_SIDE) };
    return in;
}

/* spec's network, cut to the limits above: 0, or -1 with why in err. */
static int build_net(const gpx_model_spec *spec, gp_shape in, int classes, char *err,
                     size_t errlen)
{
    gpx_model_spec cut = *spec;
    cut.ntrunk = at_most(spec->ntrunk, MAX_LAYERS);
    cut.trunk = malloc((size_t)cut.ntrunk * sizeof *cut.trunk);
    fuzz_require(TARGET, cut.trunk != NULL, "out of memory for the trunk");
    for (int i = 0; i < cut.ntrunk; i++) {
        cut.trunk[i] = spec->trunk[i];
        gp_layer_spec *l = &cut.trunk[i].layer;
        if (l->kind == GP_LAYER_CONV2D) {
            l->u.conv2d.cout = at_most(l->u.conv2d.cout, MAX_CHANNELS);
            l->u.conv2d.pad = at_most(l->u.conv2d.pad, MAX_PAD);
        }
        if (l->kind == GP_LAYER_AVGPOOL2D || l->kind == GP_LAYER_MAXPOOL2D)
            l->u.pool2d.pad = at_most(l->u.pool2d.pad, MAX_PAD);
        if (l->kind == GP_LAYER_DENSE)
            l->u.dense.out_features = at_most(l->u.dense.out_features, MAX_FEATURES);
    }
    gp_net *net = NULL;
    err[0] = '\0';
    int rc = gpx_model_build(&cut, in, classes, 1, NULL, &net, err, errlen);
    if (rc == 0) {
        gp_variant_info v;
        int layer;
        gpx_model_head_variant(net, &v, &layer);
        gp_net_destroy(net);
    } else {
        fuzz_require(TARGET, err[0] != '\0', "a network that cannot be built says why");
    }
    free(cut.trunk);
    return rc ? -1 : 0;
}

/* What `gpool run --check` makes of the first points: their data and
 * training options read, their model decoded and built. 0 when all of them
 * build, else -1 with the first point's error in err. */
static int check_points(const ycfg *cfg, char *err, size_t errlen)
{
    size_t n = ycfg_npoints(cfg);
    int failed = 0;
    for (size_t i = 0; i < n && i < MAX_POINTS_BUILT; i++) {
        const ycfg_point *pt = ycfg_point_at(cfg, i);
        gpx_run_train_opts(pt);
        gpx_run_threads(pt);
        gpx_model_spec spec;
        char why[4608];
        int classes;
        gp_shape in = point_input(pt, &classes);
        int bad = gpx_run_model_spec(cfg, pt, &spec, why, sizeof why) != 0;
        if (bad)
            require_names_config(why);
        else
            bad = build_net(&spec, in, classes, why, sizeof why) != 0;
        gpx_model_spec_free(&spec);
        if (bad && !failed++)
            snprintf(err, errlen, "%s", why);
    }
    return failed ? -1 : 0;
}

/* The resolved config loads again to the same points (cfg.h's promise). */
static void check_round_trip(const ycfg *cfg, const ycfg_schema *schema)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    fuzz_require(TARGET, out != NULL, "open_memstream");
    int written = ycfg_write_resolved(cfg, out) == 0;
    fuzz_require(TARGET, fclose(out) == 0 && written, "the resolved config is written");
    char err[4096];
    ycfg *again = ycfg_load_string(NAME, text, schema, err, sizeof err);
    if (!again)
        fprintf(stderr, "%s\n--- the resolved config:\n%s", err, text);
    fuzz_require(TARGET, again != NULL, "the resolved config loads again");
    fuzz_require(TARGET, ycfg_npoints(again) == ycfg_npoints(cfg),
                 "the resolved config has as many points");
    for (size_t i = 0; i < ycfg_npoints(cfg); i++)
        fuzz_require(TARGET, !strcmp(ycfg_point_id(ycfg_point_at(cfg, i)),
                                     ycfg_point_id(ycfg_point_at(again, i))),
                     "the resolved config gives the same point ids");
    ycfg_free(again);
    free(text);
}

/* Load text against one root schema: 1 accepted, 0 refused (err set); an
 * experiment is refused too when a point's network cannot be built. */
static int load_with(const char *text, const ycfg_schema *schema, int experiment,
                     char *err, size_t errlen)
{
    ycfg *cfg = ycfg_load_string(NAME, text, schema, err, errlen);
    if (!cfg) {
        require_names_config(err);
        return 0;
    }
    int built = 1;
    if (experiment) {
        fuzz_require(TARGET, gpx_name_problem(ycfg_name(cfg)) == NULL,
                     "an accepted experiment's name is one safe path component");
        built = check_points(cfg, err, errlen) == 0;
    }
    check_round_trip(cfg, schema);
    ycfg_free(cfg);
    return built;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = fuzz_input_text(TARGET, data, size);
    char run_err[4096], other_err[4096];
    int accepted = load_with(text, gpx_run_schema(), 1, run_err, sizeof run_err);
    accepted |= load_with(text, gpx_bench_schema(), 0, other_err, sizeof other_err);
    accepted |= load_with(text, gpx_claims_schema(), 0, other_err, sizeof other_err);
    fuzz_verdict(TARGET, accepted, run_err);
    return 0;
}
