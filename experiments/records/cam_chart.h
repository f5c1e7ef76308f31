/*
 * cam_chart.h - a grid of test images with a class activation map laid
 * over each, published through the one chart publisher (records/chart.h):
 * NAME.dat (one block of "column row red green blue" per image), NAME.gp,
 * NAME.png and NAME.svg.
 *
 *     gpx_cam_grid g = { .n = 16, .h = 84, .w = 84, .images = x, .maps = maps,
 *                        .truth = y, .pred = p, .class_names = names,
 *                        .title = "run 1ec4... head gap: score map of the true class" };
 *     if (gpx_cam_grid_publish("results/where", "cam-gap", &g, err, sizeof err) < 0) ...
 *
 * Each panel shows the image in grey (scaled to its own range) blended half
 * and half with the map in a blue-to-red scale (scaled to the map's own
 * maximum; a map whose maximum is <= 0 shows as all blue), titled with the
 * true and the predicted class.
 */
#ifndef GPOOL_EXPERIMENTS_RECORDS_CAM_CHART_H
#define GPOOL_EXPERIMENTS_RECORDS_CAM_CHART_H

#include <stddef.h>

typedef struct {
    int                n, h, w;        /* images of h x w */
    const float       *images;         /* n x h x w: one channel of each image */
    const float       *maps;           /* n x h x w */
    const int         *truth, *pred;   /* n labels each */
    const char *const *class_names;    /* NULL: classes by number */
    int                nclass_names;
    const char        *title;          /* the grid's title */
} gpx_cam_grid;

/* The grid as chart NAME in dir: 0 published, 1 skipped (no gnuplot; err
 * says why), -1 failed (err says what and where). */
int gpx_cam_grid_publish(const char *dir, const char *name, const gpx_cam_grid *g, char *err,
                         size_t errlen);

#endif /* GPOOL_EXPERIMENTS_RECORDS_CAM_CHART_H */
