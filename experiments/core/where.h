/*
 * where.h - how well a map finds an object whose place is known: the
 * measures of the localization study (configs/where.yaml), on images placed
 * on a larger canvas (data.canvas).
 *
 *     gpx_box item = { top, left, 28, 28 };
 *     int hit = gpx_where_points(map, 84, 84, item);        // argmax inside?
 *     gpx_box found;
 *     double iou = gpx_where_box(map, 84, 84, 0.2, &found, scratch) == 0
 *                      ? gpx_box_iou(found, item) : 0.0;
 *
 *     gpx_where_row rows[GPX_CAM_NMETHODS];
 *     int nrows = gpx_where_evaluate(net, &spec, &data.test, 250, rows, err, sizeof err);
 */
#ifndef GPOOL_EXPERIMENTS_CORE_WHERE_H
#define GPOOL_EXPERIMENTS_CORE_WHERE_H

#include <stddef.h>

#include "core/cam.h"
#include "core/data.h"

/* Rows top .. top + h - 1, columns left .. left + w - 1. */
typedef struct {
    int top, left, h, w;
} gpx_box;

/* Whether the map's maximum (the first in scan order) lies inside box: 1
 * or 0; a map whose maximum is <= 0 (or not a number) points nowhere: 0. */
int    gpx_where_points(const float *map, int h, int w, gpx_box box);

/* Zhou et al.'s box: the bounding box of the largest 8-connected region of
 * the pixels above fraction x the map's maximum (ties to the region found
 * first in scan order). scratch: h x w ints. 0 with *box, or -1 when the
 * maximum is <= 0 (no region). */
int    gpx_where_box(const float *map, int h, int w, double fraction, gpx_box *box,
                     int *scratch);

/* Intersection over union of two boxes' pixels (0 when disjoint). */
double gpx_box_iou(gpx_box a, gpx_box b);

/* Whether the canvas's centre pixel (h / 2, w / 2) lies inside box. */
int    gpx_where_centre_hits(int h, int w, gpx_box box);

/* The fraction of the 20 % of the maximum that draws Zhou's boxes. */
#define GPX_WHERE_BOX_FRACTION 0.2

/* One method's measures over a test split. */
typedef struct {
    gpx_cam_method method;
    int            images;
    double         test_acc;   /* the net's accuracy on them */
    double         pointing;   /* the fraction whose map points into the item's box */
    double         iou;        /* the mean IoU of Zhou's box and the item's box */
    double         centre;     /* the fraction whose box holds the canvas centre */
} gpx_where_row;

/* Every map the head of spec defines (gpx_cam_defined), for the true class
 * of every image of test (which must be placed on a canvas: test->place),
 * in batches of at most batch (net's maximum batch): rows[0 ..) in method
 * order. The count of rows, or -1 with err. */
int    gpx_where_evaluate(gp_net *net, const gpx_model_spec *spec, const gpx_split *test,
                          int batch, gpx_where_row *rows, char *err, size_t errlen);

#endif /* GPOOL_EXPERIMENTS_CORE_WHERE_H */
