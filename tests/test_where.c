/*
 * test_where.c - the localization measures (core/where.c) on hand-made
 * maps, and data.canvas (core/data.c): every image delivered at its place
 * on a canvas of raw zero pixels, the places the same in every load, kept
 * with their images through the training subset, and inside the canvas.
 */
#include "autoconfig.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/data.h"
#include "core/where.h"

#define SIDE 10

static void fill_map(float *map, float v)
{
    for (int k = 0; k < SIDE * SIDE; k++)
        map[k] = v;
}

/* The argmax decides, the first one on ties; a map whose maximum is <= 0
 * points nowhere, even at a box that holds every pixel. */
static void test_pointing(void **state)
{
    (void)state;
    float map[SIDE * SIDE];
    gpx_box box = { 2, 3, 4, 4 };               /* rows 2..5, columns 3..6 */
    fill_map(map, 0.1f);
    map[4 * SIDE + 5] = 2.0f;
    assert_int_equal(gpx_where_points(map, SIDE, SIDE, box), 1);
    map[4 * SIDE + 5] = 0.1f;
    map[6 * SIDE + 5] = 2.0f;                  /* one row below the box */
    assert_int_equal(gpx_where_points(map, SIDE, SIDE, box), 0);
    map[1 * SIDE + 9] = 2.0f;                  /* an equal maximum earlier in scan order */
    map[6 * SIDE + 5] = 0.1f;
    map[3 * SIDE + 3] = 2.0f;
    assert_int_equal(gpx_where_points(map, SIDE, SIDE, box), 0);
    gpx_box all = { 0, 0, SIDE, SIDE };
    fill_map(map, -1.0f);
    map[5 * SIDE + 5] = 0.0f;
    assert_int_equal(gpx_where_points(map, SIDE, SIDE, all), 0);
}

static void test_iou(void **state)
{
    (void)state;
    gpx_box a = { 0, 0, 4, 4 }, b = { 2, 2, 4, 4 }, far = { 6, 6, 2, 2 };
    assert_true(fabs(gpx_box_iou(a, a) - 1.0) < 1e-12);
    assert_true(fabs(gpx_box_iou(a, b) - 4.0 / 28.0) < 1e-12);   /* 2 x 2 of 16 + 16 - 4 */
    assert_true(fabs(gpx_box_iou(a, b) - gpx_box_iou(b, a)) < 1e-12);
    assert_true(gpx_box_iou(a, far) == 0.0);
    gpx_box touching = { 0, 4, 4, 4 };          /* shares an edge, no pixel */
    assert_true(gpx_box_iou(a, touching) == 0.0);
}

/* Two regions above 20 % of the maximum: the larger one's box wins, also
 * when the maximum lies in the smaller; diagonal neighbours join a region;
 * pixels at or below the level do not. */
static void test_largest_region_box(void **state)
{
    (void)state;
    float map[SIDE * SIDE];
    int scratch[SIDE * SIDE];
    gpx_box box;
    fill_map(map, 0.0f);
    map[0 * SIDE + 0] = 10.0f;                 /* small region: the maximum */
    for (int r = 5; r < 8; r++)                /* larger region: 3 x 3 plus a diagonal */
        for (int c = 4; c < 7; c++)
            map[r * SIDE + c] = 3.0f;
    map[8 * SIDE + 7] = 2.5f;                  /* diagonal to (7, 6) */
    map[2 * SIDE + 2] = 2.0f;                  /* exactly 20 %: not above */
    assert_int_equal(gpx_where_box(map, SIDE, SIDE, 0.2, &box, scratch), 0);
    assert_int_equal(box.top, 5);
    assert_int_equal(box.left, 4);
    assert_int_equal(box.h, 4);
    assert_int_equal(box.w, 4);
    fill_map(map, -0.5f);
    assert_int_equal(gpx_where_box(map, SIDE, SIDE, 0.2, &box, scratch), -1);
}

static void test_centre(void **state)
{
    (void)state;
    gpx_box holds = { 30, 30, 28, 28 }, misses = { 0, 0, 28, 28 };
    assert_int_equal(gpx_where_centre_hits(84, 84, holds), 1);   /* pixel (42, 42) */
    assert_int_equal(gpx_where_centre_hits(84, 84, misses), 0);
    int hits = 0;
    for (int top = 0; top <= 84 - 28; top++)
        hits += gpx_where_centre_hits(84, 84, (gpx_box){ top, 30, 28, 28 });
    assert_int_equal(hits, 28);                /* 28 of 57 offsets per axis */
}

/* ------------------------------------------------------------- canvas */

static gpx_data_spec canvas_spec(int subset)
{
    gpx_data_spec s;
    memset(&s, 0, sizeof s);
    s.source = "synthetic";
    s.synthetic_train = 120;
    s.synthetic_test = 40;
    s.synthetic_size = 10;
    s.synthetic_seed = 4;
    s.normalize = 1;
    s.mean[0] = 0.25;
    s.std[0] = 0.5;
    s.canvas = 24;
    s.canvas_seed = 9;
    s.train_subset = subset;
    s.subset_seed = 3;
    return s;
}

/* Every image of s on its canvas: the stored image at its place, what a
 * raw zero becomes elsewhere. */
static void check_split(const gpx_split *s)
{
    assert_non_null(s->place);
    assert_int_equal(s->h, 24);
    float *x = gpx_split_floats(s);
    assert_non_null(x);
    gpx_split own = *s;
    own.place = NULL;
    own.h = own.images.h;
    own.w = own.images.w;
    float *stored = gpx_split_floats(&own);
    float zero = (0.0f - 0.25f) / 0.5f;
    int away = 0;
    for (int i = 0; i < s->count; i++) {
        int top = s->place[2 * i], left = s->place[2 * i + 1];
        assert_true(top >= 0 && top <= 14 && left >= 0 && left <= 14);
        for (int r = 0; r < 24; r++)
            for (int c = 0; c < 24; c++) {
                float got = x[(size_t)i * 576 + r * 24 + c];
                int inside = r >= top && r < top + 10 && c >= left && c < left + 10;
                float want = inside ? stored[(size_t)i * 100 + (r - top) * 10 + c - left] : zero;
                assert_true(got == want);
            }
        away += top != 7 || left != 7;
    }
    assert_true(away > 0);                     /* not all centred */
    free(x);
    free(stored);
}

static void test_canvas_data(void **state)
{
    (void)state;
    char err[512];
    gpx_data all, again, sub;
    gpx_data_spec spec = canvas_spec(0);
    assert_int_equal(gpx_data_load(&spec, &all, err, sizeof err), 0);
    assert_int_equal(gpx_data_load(&spec, &again, err, sizeof err), 0);
    check_split(&all.train);
    check_split(&all.test);
    assert_memory_equal(all.test.place, again.test.place, 2 * 40 * sizeof(int));
    assert_memory_equal(all.train.place, again.train.place, 2 * 120 * sizeof(int));
    spec = canvas_spec(50);
    assert_int_equal(gpx_data_load(&spec, &sub, err, sizeof err), 0);
    check_split(&sub.train);
    /* each image of the subset is some image of the full set, at that one's place */
    const uint8_t *pix = sub.train.images.data, *full = all.train.images.data;
    for (int i = 0; i < 50; i++) {
        int found = 0;
        for (int j = 0; j < 120 && !found; j++)
            found = !memcmp(pix + i * 100, full + j * 100, 100) &&
                    !memcmp(sub.train.place + 2 * i, all.train.place + 2 * j, 2 * sizeof(int));
        assert_true(found);
    }
    gpx_data_free(&sub);
    spec = canvas_spec(0);
    spec.canvas = 8;
    assert_int_equal(gpx_data_load(&spec, &sub, err, sizeof err), -1);
    assert_non_null(strstr(err, "canvas 8 is smaller"));
    spec.canvas = 24;
    spec.resize = 20;
    assert_int_equal(gpx_data_load(&spec, &sub, err, sizeof err), -1);
    gpx_data_free(&all);
    gpx_data_free(&again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointing),
        cmocka_unit_test(test_iou),
        cmocka_unit_test(test_largest_region_box),
        cmocka_unit_test(test_centre),
        cmocka_unit_test(test_canvas_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
