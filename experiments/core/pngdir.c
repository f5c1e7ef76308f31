/*
 * pngdir.c - a folder of PNG images per class, the ImageFolder layout
 * (see core/source.h).
 *
 *     ROOT/train/cat/0001.png  ROOT/train/dog/0002.png ...
 *     ROOT/test/cat/0100.png   ...
 *
 * Label i is the i-th class folder in byte order of the names (as
 * torchvision's ImageFolder sorts them); the test root must hold the same
 * folders. Files are read in byte order of their names; only *.png files
 * count. libpng decodes them with its own transforms to the config's
 * channels: palettes expanded, grey of 1, 2 or 4 bits widened, 16-bit
 * samples scaled to 8, alpha (and tRNS transparency) dropped, grey repeated
 * into RGB or RGB reduced to grey. Every image must have the first one's
 * size. The images are kept as libpng writes rows: bytes, NHWC.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/source.h"
#include "util/sha256.h"
#include "util/util.h"

/* A side libpng is allowed to announce: larger is a corrupt or hostile
 * header, not an image to allocate rows for. */
#define PNG_MAX_SIDE   16384
/* A PNG file larger than this is refused before it is read into memory. */
#define PNG_MAX_BYTES  (256L << 20)

/* ------------------------------------------------------------ decoding */

typedef struct {
    const unsigned char *bytes;
    size_t               len, at;
    char                 why[256];   /* libpng's message, for ours */
    png_bytep           *rows;       /* freed by the caller: libpng may longjmp past */
} png_source;

static void png_read_memory(png_structp png, png_bytep out, size_t len)
{
    png_source *src = png_get_io_ptr(png);
    if (len > src->len - src->at)
        png_error(png, "file ends early (truncated)");
    memcpy(out, src->bytes + src->at, len);
    src->at += len;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_source *src = png_get_error_ptr(png);
    snprintf(src->why, sizeof src->why, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (a known-bad sRGB profile, a text chunk's encoding) leave the
 * pixels as they are: not an error. */
static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* The transforms that make any colour type channels bytes per pixel. */
static void png_to_channels(png_structp png, png_infop info, int channels)
{
    int colour = png_get_color_type(png, info);
    png_set_expand(png);                   /* palette, low-bit grey, tRNS */
    png_set_scale_16(png);
    png_set_strip_alpha(png);
    if (channels == 3 && !(colour & PNG_COLOR_MASK_COLOR))
        png_set_gray_to_rgb(png);
    if (channels == 1 && (colour & PNG_COLOR_MASK_COLOR))
        png_set_rgb_to_gray_fixed(png, 1, -1, -1);   /* libpng's default weights */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* Under libpng's longjmp: header, size check, transforms, rows. */
static int png_decode_rows(png_structp png, png_infop info, png_source *src, int channels,
                           int want_h, int want_w, int *h, int *w, unsigned char *pix)
{
    png_read_info(png, info);
    *h = (int)png_get_image_height(png, info);
    *w = (int)png_get_image_width(png, info);
    if (want_h == 0 || !pix)
        return 0;
    if (*h != want_h || *w != want_w) {
        snprintf(src->why, sizeof src->why, "%d x %d pixels (height x width), the first "
                 "image is %d x %d: every image must have one size", *h, *w, want_h, want_w);
        return -1;
    }
    png_to_channels(png, info, channels);
    if (png_get_channels(png, info) != channels || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)*w * (size_t)channels) {
        snprintf(src->why, sizeof src->why, "libpng gives %d channels of %d bits, not %d of 8",
                 png_get_channels(png, info), png_get_bit_depth(png, info), channels);
        return -1;
    }
    src->rows = malloc((size_t)*h * sizeof *src->rows);
    if (!src->rows) {
        snprintf(src->why, sizeof src->why, "out of memory for %d rows", *h);
        return -1;
    }
    for (int r = 0; r < *h; r++)
        src->rows[r] = pix + (size_t)r * (size_t)*w * (size_t)channels;
    png_read_image(png, src->rows);
    png_read_end(png, NULL);
    return 0;
}

int gpx_png_decode(const void *bytes, size_t len, const char *name, int channels, int want_h,
                   int want_w, int *h, int *w, unsigned char *pix, char *err, size_t errlen)
{
    png_source src = { bytes, len, 0, "", NULL };
    if (len < 8 || png_sig_cmp(bytes, 0, 8) != 0)
        return gpx_fail(err, errlen, "%s: not a PNG file (bad signature)", name);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return gpx_fail(err, errlen, "%s: out of memory for libpng", name);
    }
    png_set_user_limits(png, PNG_MAX_SIDE, PNG_MAX_SIDE);
    png_set_read_fn(png, &src, png_read_memory);
    volatile int rc = -1;
    if (setjmp(png_jmpbuf(png)) == 0)
        rc = png_decode_rows(png, info, &src, channels, want_h, want_w, h, w, pix);
    png_destroy_read_struct(&png, &info, NULL);
    free(src.rows);
    if (rc != 0)
        return gpx_fail(err, errlen, "%s: %s", name, src.why[0] ? src.why : "unreadable PNG");
    return 0;
}

/* ------------------------------------------------------------- folders */

typedef struct {
    char **names;
    int    count, cap;
} name_list;

static void names_free(name_list *l)
{
    for (int i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int names_add(name_list *l, const char *name)
{
    if (l->count == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **grown = realloc(l->names, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        l->names = grown;
        l->cap = cap;
    }
    l->names[l->count] = strdup(name);
    return l->names[l->count] ? (l->count++, 0) : -1;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_png_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

/* The entries of dir that are folders (dirs 1) or PNG files (dirs 0),
 * hidden ones left out, sorted. */
static int list_dir(const char *dir, int dirs, name_list *out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return gpx_fail(err, errlen, "%s: cannot open the folder: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    char path[4096];
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' ||
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
            stat(path, &st) != 0 || (dirs ? !S_ISDIR(st.st_mode) : !is_png_name(e->d_name)))
            continue;
        if (names_add(out, e->d_name) != 0)
            rc = gpx_fail(err, errlen, "%s: out of memory listing it", dir);
    }
    closedir(d);
    if (rc == 0 && out->count)
        qsort(out->names, (size_t)out->count, sizeof *out->names, by_bytes);
    return rc;
}

/* One split's files: paths (root/class/file) and their labels. */
typedef struct {
    name_list paths;
    int      *labels;
} file_set;

static void files_free(file_set *f)
{
    names_free(&f->paths);
    free(f->labels);
    memset(f, 0, sizeof *f);
}

/* Every PNG of every class folder of root, class k from classes. */
static int list_split(const char *root, const name_list *classes, file_set *f, char *err,
                      size_t errlen)
{
    char dir[4096], path[8448];   /* a root, a class and a file name */
    for (int k = 0; k < classes->count; k++) {
        name_list files = { 0 };
        int rc = snprintf(dir, sizeof dir, "%s/%s", root, classes->names[k]) <
                 (int)sizeof dir ? list_dir(dir, 0, &files, err, errlen)
                 : gpx_fail(err, errlen, "%s/%s: path too long", root, classes->names[k]);
        if (rc == 0 && files.count == 0)
            rc = gpx_fail(err, errlen, "%s: no .png file in this class folder", dir);
        for (int i = 0; rc == 0 && i < files.count; i++) {
            int *grown = realloc(f->labels, (size_t)(f->paths.count + 1) * sizeof *grown);
            if (grown)
                f->labels = grown;
            if (!grown || snprintf(path, sizeof path, "%s/%s", dir, files.names[i]) >=
                              (int)sizeof path || names_add(&f->paths, path) != 0)
                rc = gpx_fail(err, errlen, "%s/%s: out of memory or path too long", dir,
                              files.names[i]);
            else
                f->labels[f->paths.count - 1] = k;
        }
        names_free(&files);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* The class folders of the training root; the test root must have the same. */
static int list_classes(const char *train, const char *test, name_list *classes, char *err,
                        size_t errlen)
{
    name_list other = { 0 };
    if (list_dir(train, 1, classes, err, errlen) != 0 ||
        list_dir(test, 1, &other, err, errlen) != 0) {
        names_free(&other);
        return -1;
    }
    int rc = 0;
    if (classes->count < 2)
        rc = gpx_fail(err, errlen, "%s: %d class folders; an image folder set needs one "
                      "folder of PNG files per class, at least 2", train, classes->count);
    for (int i = 0; rc == 0 && i < classes->count; i++)
        if (i >= other.count || strcmp(classes->names[i], other.names[i]) != 0)
            rc = gpx_fail(err, errlen, "%s: no class folder %s, which %s has (both roots "
                          "must hold the same class folders)", test, classes->names[i], train);
    if (rc == 0 && other.count > classes->count)
        rc = gpx_fail(err, errlen, "%s: class folder %s is not in %s (both roots must hold "
                      "the same class folders)", test, other.names[classes->count], train);
    names_free(&other);
    return rc;
}

/* ------------------------------------------------------------- reading */

/* The whole of path in a buffer to free. */
static int read_whole(const char *path, unsigned char **bytes, size_t *len, char *err,
                      size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (!fp)
        return gpx_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(fp), &st) != 0 || st.st_size > PNG_MAX_BYTES) {
        fclose(fp);
        return gpx_fail(err, errlen, "%s: cannot stat, or larger than %ld bytes", path,
                        PNG_MAX_BYTES);
    }
    *len = (size_t)st.st_size;
    *bytes = malloc(*len + 1);
    int ok = *bytes && fread(*bytes, 1, *len, fp) == *len;
    fclose(fp);
    if (!ok) {
        free(*bytes);
        *bytes = NULL;
        return gpx_fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    }
    return 0;
}

/* The decoding of one split. */
typedef struct {
    int   channels, h, w;    /* h 0 until the first image sets the size */
    char *listing;           /* "class/file sha256\n" per file, for the split's hash */
    size_t used, cap;
    size_t root_len;         /* of the split's root, cut from the paths listed */
} split_reader;

static int note_hash(split_reader *s, const char *path, const unsigned char *bytes, size_t len)
{
    char hex[65];
    gpx_sha256_buffer(bytes, len, hex);
    size_t need = strlen(path) + 67;
    if (s->used + need >= s->cap) {
        size_t cap = (s->cap + need) * 2;
        char *grown = realloc(s->listing, cap);
        if (!grown)
            return -1;
        s->listing = grown;
        s->cap = cap;
    }
    s->used += (size_t)snprintf(s->listing + s->used, s->cap - s->used, "%s %s\n",
                                path + s->root_len + 1, hex);
    return 0;
}

/* File i of f into r (sized at the first file), its hash into the listing. */
static int read_image(split_reader *s, const file_set *f, int i, gpx_raw *r, char *err,
                      size_t errlen)
{
    const char *path = f->paths.names[i];
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (read_whole(path, &bytes, &len, err, errlen) != 0)
        return -1;
    int h, w, rc = 0;
    if (s->h == 0) {
        rc = gpx_png_decode(bytes, len, path, s->channels, 0, 0, &s->h, &s->w, NULL, err,
                            errlen);
        if (rc == 0)
            rc = gpx_raw_alloc(r, GPX_PIXEL_U8, GPX_LAYOUT_NHWC, f->paths.count, s->channels,
                               s->h, s->w, err, errlen);
    } else if (!r->pix) {
        rc = gpx_raw_alloc(r, GPX_PIXEL_U8, GPX_LAYOUT_NHWC, f->paths.count, s->channels,
                           s->h, s->w, err, errlen);
    }
    if (rc == 0)
        rc = gpx_png_decode(bytes, len, path, s->channels, s->h, s->w, &h, &w,
                            (unsigned char *)r->pix + (size_t)i * gpx_raw_image_bytes(r), err,
                            errlen);
    if (rc == 0 && note_hash(s, path, bytes, len) != 0)
        rc = gpx_fail(err, errlen, "%s: out of memory", path);
    free(bytes);
    if (rc == 0)
        r->y[i] = f->labels[i];
    return rc;
}

/* Every file of f into r; root and the hash of its listing into out's files. */
static int read_split(split_reader *s, const char *root, const file_set *f, gpx_raw *r,
                      gpx_data *out, char *err, size_t errlen)
{
    s->used = 0;
    s->root_len = strlen(root);
    for (int i = 0; i < f->paths.count; i++)
        if (read_image(s, f, i, r, err, errlen) != 0)
            return -1;
    char hex[65];
    gpx_sha256_buffer(s->listing, s->used, hex);
    return gpx_data_add_hashed(out, root, hex, err, errlen);
}

/* ----------------------------------------------------------------- load */

/* The class order for the manifest: the folder names, comma separated;
 * those that do not fit are counted at the end (", ... 12 more") rather
 * than cut off unsaid. */
static void note_class_names(const name_list *classes, gpx_data *out)
{
    char *buf = out->class_names;
    size_t cap = sizeof out->class_names, used = 0;
    const size_t room_for_count = 32;
    int k = 0;
    for (; k < classes->count; k++) {
        size_t need = strlen(classes->names[k]) + (k ? 1 : 0);
        int last = k == classes->count - 1;
        if (used + need >= cap - (last ? 0 : room_for_count))
            break;
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", k ? "," : "",
                                 classes->names[k]);
    }
    if (k < classes->count)
        snprintf(buf + used, cap - used, "%s... %d more", k ? ", " : "", classes->count - k);
}

/* The two roots: data.train_images / data.test_images, else dir/train and dir/test. */
static int roots_of(const gpx_data_spec *spec, char *train, char *test, size_t len, char *err,
                    size_t errlen)
{
    int given = spec->train_images && spec->train_images[0];
    if (given && spec->test_images && spec->test_images[0]) {
        snprintf(train, len, "%s", spec->train_images);
        snprintf(test, len, "%s", spec->test_images);
        return 0;
    }
    if (given || !spec->dir || !spec->dir[0])
        return gpx_fail(err, errlen, "source imagefolder needs data.dir (holding train/ and "
                        "test/) or both data.train_images and data.test_images (the roots)");
    snprintf(train, len, "%s/train", spec->dir);
    snprintf(test, len, "%s/test", spec->dir);
    return 0;
}

int gpx_pngdir_load(const gpx_data_spec *spec, gpx_data *out, gpx_raw *train, gpx_raw *test,
                    char *err, size_t errlen)
{
    char roots[2][4096];
    if (roots_of(spec, roots[0], roots[1], sizeof roots[0], err, errlen) != 0)
        return -1;
    int channels = spec->channels ? spec->channels : 3;
    if (channels != 1 && channels != 3)
        return gpx_fail(err, errlen, "imagefolder: data.channels must be 1 (grey) or 3 (RGB), "
                        "not %d", channels);
    name_list classes = { 0 };
    file_set files[2];
    memset(files, 0, sizeof files);
    split_reader s = { channels, 0, 0, NULL, 0, 0, 0 };
    int rc = list_classes(roots[0], roots[1], &classes, err, errlen);
    for (int k = 0; rc == 0 && k < 2; k++)
        rc = list_split(roots[k], &classes, &files[k], err, errlen);
    if (rc == 0)
        rc = read_split(&s, roots[0], &files[0], train, out, err, errlen);
    if (rc == 0)
        rc = read_split(&s, roots[1], &files[1], test, out, err, errlen);
    if (rc == 0)
        note_class_names(&classes, out);
    names_free(&classes);
    files_free(&files[0]);
    files_free(&files[1]);
    free(s.listing);
    return rc;
}
