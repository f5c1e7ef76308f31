/*
 * cam.c - `gpool cam RESULTS_DIR RUN_ID`: class activation maps of a run's
 * kept weights on test images, as a grid of images with the map of the
 * true class laid over each.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/cam.h"
#include "records/cam_chart.h"
#include "util/util.h"

#define CAM_CMD "gpool cam"
#define CAM_MAX_COUNT 64

static void cam_usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool cam [OPTIONS] RESULTS_DIR RUN_ID\n"
            "\n"
            "Class activation maps of a trained run: load the run's config and the final\n"
            "weights it kept (RESULTS_DIR/runs/RUN_ID/weights/, written when its config\n"
            "says train.keep_weights: true), evaluate the first N test images, and draw\n"
            "them in a grid with the map of each image's TRUE class laid over it (blue\n"
            "low, red high; upsampled bilinearly to the input size), the true and the\n"
            "predicted class above it and the method in the title.\n"
            "\n"
            "Methods (--method):\n"
            "  score      conv_pool heads (gap, gmp, gem, lse, mixed, avgmax, topk, attn):\n"
            "             the class's map of the 1x1 conv, before the pooling\n"
            "  cam        pool-then-dense heads but spp_dense (gap_dense, gmp_dense, ...,\n"
            "             topk_dense, attn_dense, simpool_dense, catavgmax_dense): Zhou et\n"
            "             al.'s CAM, the last feature maps weighted by the class's dense\n"
            "             weights\n"
            "  attention  attn, attn_dense, simpool_dense: the attention pool's softmax\n"
            "             weights\n"
            "  gradcam    every head, flatten_dense included: Grad-CAM at the head's input\n"
            "The default is score, else cam, else gradcam, as the head has them.\n"
            "\n"
            "Options:\n"
            "  -m, --method M   score, cam, attention or gradcam\n"
            "  -n, --count N    test images to draw, 1..%d (default 16)\n"
            "  -o, --out FILE   the grid's PNG (an SVG, the data and the gnuplot script\n"
            "                   go beside it); default RESULTS_DIR/runs/RUN_ID/cam-METHOD.png\n"
            "  -h, --help       show this help\n"
            "Exit status: 0 drawn, 1 an error (no such run, no kept weights, a method\n"
            "the head has not), 2 bad command line.\n",
            CAM_MAX_COUNT);
}

static const char *const method_choices[] = { "score", "cam", "attention", "gradcam", NULL };

typedef struct {
    const char *method, *out;
    int         count;
    const char *operand[2];   /* RESULTS_DIR, RUN_ID */
} cam_options;

static const gpx_option cam_option_list[] = {
    { "-m", "--method", "a method", method_choices, .offset = offsetof(cam_options, method) },
    { "-n", "--count", "an integer", .offset = offsetof(cam_options, count), .lo = 1,
      .hi = CAM_MAX_COUNT },
    { "-o", "--out", "a file", .offset = offsetof(cam_options, out) },
};

static const gpx_command_line cam_command_line = {
    CAM_CMD, cam_usage, 0, cam_option_list, sizeof cam_option_list / sizeof *cam_option_list,
    .operand_name = "RESULTS_DIR and RUN_ID", .operand_offset = offsetof(cam_options, operand),
    .operands = 2, .operand_example = "results/where 1ec4032450d1912b",
};

static const char *const fashion_names[] = { "T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal", "Shirt", "Sneaker", "Bag", "Boot" };

/* The maps, images and predictions of the first n test images. */
typedef struct {
    float *x, *maps, *logits, *grey;
    int   *pred;
} cam_batch;

static void batch_free(cam_batch *b)
{
    free(b->x);
    free(b->maps);
    free(b->logits);
    free(b->grey);
    free(b->pred);
}

static int compute(gpx_trained_run *r, int n, gpx_cam_method m, cam_batch *b, char *err,
                   size_t errlen)
{
    const gpx_split *t = &r->data.test;
    size_t img = (size_t)t->c * t->h * t->w, plane = (size_t)t->h * t->w;
    *b = (cam_batch){ malloc(n * img * sizeof(float)), malloc(n * plane * sizeof(float)),
                      malloc((size_t)n * t->classes * sizeof(float)),
                      malloc(n * plane * sizeof(float)), malloc((size_t)n * sizeof(int)) };
    if (!b->x || !b->maps || !b->logits || !b->grey || !b->pred)
        return gpx_fail(err, errlen, "out of memory for %d images", n);
    if (gpx_split_batch(t, NULL, 0, n, b->x))
        return gpx_fail(err, errlen, "cannot read the first %d test images", n);
    if (gpx_cam_maps(r->net, &r->model, n, b->x, t->y, m, b->maps, b->logits, err, errlen))
        return -1;
    for (int i = 0; i < n; i++) {
        const float *l = b->logits + (size_t)i * t->classes;
        b->pred[i] = 0;
        for (int c = 1; c < t->classes; c++)
            b->pred[i] = l[c] > l[b->pred[i]] ? c : b->pred[i];
        memcpy(b->grey + i * plane, b->x + i * img, plane * sizeof(float));
    }
    return 0;
}

/* FILE.png -> its directory and the chart's name (FILE less .png). */
static void split_out(const char *out, char *dir, size_t dlen, char *name, size_t nlen)
{
    const char *slash = strrchr(out, '/');
    snprintf(dir, dlen, "%.*s", slash ? (int)(slash - out) : 1, slash ? out : ".");
    if (slash && slash == out)
        snprintf(dir, dlen, "/");
    snprintf(name, nlen, "%s", slash ? slash + 1 : out);
    size_t len = strlen(name);
    if (len > 4 && !strcmp(name + len - 4, ".png"))
        name[len - 4] = '\0';
}

static int draw(const cam_options *o, gpx_trained_run *r, gpx_cam_method m, const cam_batch *b)
{
    char out[4300], dir[4300], name[4300], title[512], err[8400];
    if (o->out)
        snprintf(out, sizeof out, "%s", o->out);
    else
        snprintf(out, sizeof out, "%s/runs/%s/cam-%s.png", o->operand[0], o->operand[1],
                 gpx_cam_method_name(m));
    split_out(out, dir, sizeof dir, name, sizeof name);
    snprintf(title, sizeof title, "run %s, head %s: %s map of the true class", o->operand[1],
             r->model.head, gpx_cam_method_name(m));
    int fashion = !strcmp(r->data.source, "fashion-mnist");
    gpx_cam_grid g = { o->count, r->data.test.h, r->data.test.w, b->grey, b->maps,
                       r->data.test.y, b->pred, fashion ? fashion_names : NULL,
                       fashion ? 10 : 0, title };
    int rc = gpx_cam_grid_publish(dir, name, &g, err, sizeof err);
    if (rc < 0) {
        gpx_complain(CAM_CMD, "%s", err);
        return 1;
    }
    if (rc > 0)
        fprintf(stderr, "%s: %s: only %s/%s.dat and .gp written\n", CAM_CMD, err, dir, name);
    else
        printf("%s/%s.png\n", dir, name);
    return 0;
}

static int cam_run(cam_options *o)
{
    char run_dir[4200], err[8400];
    gpx_trained_run r;
    snprintf(run_dir, sizeof run_dir, "%s/runs/%s", o->operand[0], o->operand[1]);
    if (gpx_trained_run_load(run_dir, o->count, 0, &r, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", CAM_CMD, err);
        return 1;
    }
    gpx_cam_method m = gpx_cam_default(&r.model);
    if (o->method)
        gpx_cam_method_parse(o->method, &m);
    cam_batch b = { 0 };
    int rc = 1;
    if (!gpx_cam_defined(&r.model, m, err, sizeof err))
        fprintf(stderr, "%s: run %s: %s\n", CAM_CMD, o->operand[1], err);
    else if (o->count > r.data.test.count)
        fprintf(stderr, "%s: --count %d: the run's test set has %d images\n", CAM_CMD,
                o->count, r.data.test.count);
    else if (compute(&r, o->count, m, &b, err, sizeof err))
        fprintf(stderr, "%s: run %s: %s\n", CAM_CMD, o->operand[1], err);
    else
        rc = draw(o, &r, m, &b);
    batch_free(&b);
    gpx_trained_run_free(&r);
    return rc;
}

int gpx_cmd_cam(int argc, char **argv)
{
    cam_options o = { .count = 16 };
    int rc = gpx_parse_command_line(&cam_command_line, argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    return cam_run(&o);
}
