/*
 * checkpoint.c - a net's tensors (and an optimizer's state) as a directory
 * of .npy files that numpy reads without gpool.
 *
 * Saving never leaves a half-written checkpoint under the final name: the
 * files go into "dir.tmp-XXXXXX", are synced, and the directory is renamed
 * into place; an older checkpoint there is first moved aside and removed
 * only after the rename. A crash can leave a stray .tmp- or .old- sibling,
 * never a mix of two checkpoints. Because an existing dir is replaced, it
 * must look like a checkpoint (only L*.npy files and optim.txt): a typo
 * pointing at a real directory fails instead of deleting it.
 *
 * Loading reads everything into scratch first and copies only when every
 * tensor has been read and checked, so a failed load changes nothing.
 *
 * A .npy header takes no extra keys (numpy refuses them), so each file's
 * CRC-32 goes into a sidecar, crc32.txt, written last into the temporary
 * directory; a load verifies every file against it first, so flipped bits,
 * a 0xff fill or a truncation never train on. A checkpoint of an older
 * release has no sidecar and loads unverified (gp_checkpoint_verify tells
 * the caller, who warns).
 */
#include "autoconfig.h"

#include <zlib.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpi.h"
#include "gpool_nn.h"

#define GPI_CKPT_OPTIM    "optim.txt"
#define GPI_CKPT_SUMS     "crc32.txt"

/* One tensor of a checkpoint: where it lives in memory and its file name. */
typedef struct {
    char   file[128];
    float *value;
    size_t count;
    size_t dims[GP_TENSOR_MAX_DIMS];
    int    ndims;
    int    is_state;
} ckpt_tensor;

typedef struct {
    ckpt_tensor *t;
    int          n, cap;
} ckpt_list;

/* ------------------------------------------------------- tensor list */

static ckpt_tensor *ckpt_push(ckpt_list *list)
{
    if (list->n == list->cap) {
        int cap = list->cap ? 2 * list->cap : 32;
        ckpt_tensor *grown = realloc(list->t, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        list->t = grown;
        list->cap = cap;
    }
    ckpt_tensor *t = &list->t[list->n++];
    memset(t, 0, sizeof *t);
    return t;
}

/* A tensor's dims must hold its floats: they are its shape in the file. */
static gp_status ckpt_check_dims(int layer, const char *kind, const char *name, size_t count,
                                 const size_t *dims, int ndims)
{
    size_t product = 1;
    for (int i = 0; i < ndims; i++)
        product *= dims[i];
    if (ndims < 1 || ndims > GP_TENSOR_MAX_DIMS || product != count)
        return gpi_fail(GP_ERR_ARG, "checkpoint: %s of layer %d (%s) has %d dims that do not "
                        "hold its %zu floats", name, layer, kind, ndims, count);
    return GP_OK;
}

static gp_status ckpt_add(ckpt_list *list, int layer, const char *kind, const char *name,
                          const char *state, float *value, size_t count,
                          const size_t *dims, int ndims)
{
    gp_status st = ckpt_check_dims(layer, kind, name, count, dims, ndims);
    if (st != GP_OK)
        return st;
    ckpt_tensor *t = ckpt_push(list);
    if (!t)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    int len = state ? snprintf(t->file, sizeof t->file, "L%02d_%s.%s.%s.npy", layer, kind,
                               name, state)
                    : snprintf(t->file, sizeof t->file, "L%02d_%s.%s.npy", layer, kind, name);
    if (len < 0 || (size_t)len >= sizeof t->file)
        return gpi_fail(GP_ERR_ARG, "checkpoint: name of %s.%s too long", kind, name);
    t->value = value;
    t->count = count;
    t->ndims = ndims;
    memcpy(t->dims, dims, (size_t)ndims * sizeof *dims);
    t->is_state = state != NULL;
    return GP_OK;
}

/* The parameters of layer li with, when o is given, their optimizer state.
 * *pi is the running index of the parameter in net order. */
static gp_status ckpt_collect_params(ckpt_list *list, const gp_layer *l, int li,
                                     const gp_optim *o, int *pi)
{
    for (int j = 0; j < l->nparams; j++, (*pi)++) {
        const gp_param *p = &l->params[j];
        gp_status st = ckpt_add(list, li, l->ops->kind, p->name, NULL, p->value, p->count,
                                p->dims, p->ndims);
        if (st == GP_OK && o && gp_optim_param(o, *pi) != p)
            st = gpi_fail(GP_ERR_ARG, "checkpoint: the optimizer was not created over "
                          "this net");
        for (int k = 0; st == GP_OK && o && k < (int)gp_optim_state_per_param(o); k++) {
            const char *sname = NULL;
            float *s = gp_optim_state(o, *pi, k, &sname);
            st = ckpt_add(list, li, l->ops->kind, p->name, sname, s, p->count, p->dims,
                          p->ndims);
        }
        if (st != GP_OK)
            return st;
    }
    return GP_OK;
}

/* Every tensor of net (and o) in a fixed order. */
static gp_status ckpt_collect(gp_net *net, const gp_optim *o, ckpt_list *list)
{
    memset(list, 0, sizeof *list);
    int pi = 0;
    for (int i = 0; i < gp_net_layer_count(net); i++) {
        const gp_layer *l = gp_net_layer(net, i);
        gp_status st = ckpt_collect_params(list, l, i, o, &pi);
        for (int j = 0; st == GP_OK && j < l->nbuffers; j++) {
            const gp_buffer *b = &l->buffers[j];
            st = ckpt_add(list, i, l->ops->kind, b->name, NULL, b->value, b->count, b->dims,
                          b->ndims);
        }
        if (st != GP_OK) {
            free(list->t);
            return st;
        }
    }
    if (o && gp_optim_param(o, pi) != NULL) {
        free(list->t);
        return gpi_fail(GP_ERR_ARG, "checkpoint: the optimizer was not created over this net");
    }
    return GP_OK;
}

/* ------------------------------------------------------------ files */

static char *ckpt_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s/%s", dir, name);
    return path;
}

/* fsync a file or directory so a rename published after it finds the data
 * on disk. */
static gp_status ckpt_sync(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return gpi_fail(GP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    /* some file systems cannot sync directories; the data files still were */
    if (rc != 0 && err != EINVAL && err != EROFS)
        return gpi_fail(GP_ERR_IO, "%s: fsync: %s", path, strerror(err));
    return GP_OK;
}

/* A checkpoint file name: optim.txt, crc32.txt or L....npy. */
static int ckpt_is_own_file(const char *name)
{
    size_t len = strlen(name);
    return strcmp(name, GPI_CKPT_OPTIM) == 0 || strcmp(name, GPI_CKPT_SUMS) == 0 ||
           (name[0] == 'L' && len > 4 && strcmp(name + len - 4, ".npy") == 0);
}

/* 1 when every entry of dir is a checkpoint file; -1 when dir cannot be read. */
static int ckpt_dir_is_checkpoint(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int ok = 1;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            ok = ckpt_is_own_file(e->d_name);
    closedir(d);
    return ok;
}

/* Remove a directory that holds only checkpoint files (best effort: used
 * for clean-up, where the original error is the one to report). */
static void ckpt_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!ckpt_is_own_file(e->d_name))
                continue;
            char *path = ckpt_join(dir, e->d_name);
            if (path)
                unlink(path);
            free(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* mkdir -p for the directory that will hold dir. */
static gp_status ckpt_make_parents(const char *dir)
{
    char *path = strdup(dir);
    if (!path)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    gp_status st = GP_OK;
    char *slash = strrchr(path, '/');
    for (char *p = path + 1; slash && p <= slash && st == GP_OK; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            st = gpi_fail(GP_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        *p = '/';
    }
    free(path);
    return st;
}

/* dir without trailing slashes (so "ckpt/" and "ckpt" name one sibling). */
static char *ckpt_clean_dir(const char *dir)
{
    char *clean = strdup(dir);
    if (!clean)
        return NULL;
    for (size_t len = strlen(clean); len > 1 && clean[len - 1] == '/'; len--)
        clean[len - 1] = '\0';
    return clean;
}

/* A fresh empty sibling directory "dir<tag>XXXXXX". */
static char *ckpt_sibling(const char *dir, const char *tag)
{
    size_t len = strlen(dir) + strlen(tag) + 7;
    char *tmpl = malloc(len);
    if (!tmpl)
        return NULL;
    snprintf(tmpl, len, "%s%sXXXXXX", dir, tag);
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

/* --------------------------------------------------------- checksums */

/* One line of crc32.txt: "<8 hex digits>  <file name>". */
typedef struct {
    char          file[128];
    unsigned long crc;
} ckpt_sum;

typedef struct {
    ckpt_sum *s;
    int       n, cap;
} ckpt_sums;

/* The CRC-32 of the whole file at path (header and data). */
static gp_status ckpt_file_crc(const char *path, unsigned long *crc)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return gpi_fail(GP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char buf[65536];
    uLong sum = crc32(0L, Z_NULL, 0);
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, fp)) > 0)
        sum = crc32(sum, buf, (uInt)got);
    int bad = ferror(fp);
    fclose(fp);
    if (bad)
        return gpi_fail(GP_ERR_IO, "%s: read error", path);
    *crc = sum;
    return GP_OK;
}

/* A file of the checkpoint that the sidecar covers (all but itself). */
static int ckpt_is_summed_file(const char *name)
{
    return ckpt_is_own_file(name) && strcmp(name, GPI_CKPT_SUMS) != 0;
}

static gp_status ckpt_write_sum_line(FILE *fp, const char *dir, const char *name)
{
    char *path = ckpt_join(dir, name);
    if (!path)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    unsigned long crc = 0;
    gp_status st = ckpt_file_crc(path, &crc);
    free(path);
    if (st == GP_OK)
        fprintf(fp, "%08lx  %s\n", crc, name);
    return st;
}

/* crc32.txt over every file already in dir, read back from the disk so
 * the sums are of what a later load will find. */
static gp_status ckpt_write_sums(const char *dir)
{
    char *path = ckpt_join(dir, GPI_CKPT_SUMS);
    if (!path)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    FILE *fp = fopen(path, "w");
    DIR *d = fp ? opendir(dir) : NULL;
    gp_status st = d ? GP_OK : gpi_fail(GP_ERR_IO, "%s: cannot create: %s", path,
                                        strerror(errno));
    struct dirent *e;
    while (st == GP_OK && (e = readdir(d)) != NULL)
        if (ckpt_is_summed_file(e->d_name))
            st = ckpt_write_sum_line(fp, dir, e->d_name);
    if (d)
        closedir(d);
    if (fp) {
        int bad = fflush(fp) != 0 || ferror(fp) || fsync(fileno(fp)) != 0;
        bad |= fclose(fp) != 0;
        if (bad && st == GP_OK)
            st = gpi_fail(GP_ERR_IO, "%s: write error: %s", path, strerror(errno));
    }
    free(path);
    return st;
}

static gp_status ckpt_sums_add(ckpt_sums *sums, const char *file, unsigned long crc)
{
    if (sums->n == sums->cap) {
        int cap = sums->cap ? 2 * sums->cap : 32;
        ckpt_sum *grown = realloc(sums->s, (size_t)cap * sizeof *grown);
        if (!grown)
            return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
        sums->s = grown;
        sums->cap = cap;
    }
    ckpt_sum *s = &sums->s[sums->n++];
    snprintf(s->file, sizeof s->file, "%s", file);
    s->crc = crc;
    return GP_OK;
}

/* The sidecar's lines; GP_ERR_NOTFOUND when dir has none. */
static gp_status ckpt_read_sums(const char *dir, ckpt_sums *sums)
{
    memset(sums, 0, sizeof *sums);
    char *path = ckpt_join(dir, GPI_CKPT_SUMS);
    if (!path)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    FILE *fp = fopen(path, "r");
    gp_status st = GP_OK;
    if (!fp)
        st = errno == ENOENT
                 ? gpi_fail(GP_ERR_NOTFOUND, "%s: no checksums (a checkpoint written before "
                            "gpool recorded them); it cannot be verified", dir)
                 : gpi_fail(GP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char line[256], file[128], extra;
    unsigned long crc;
    for (int no = 1; st == GP_OK && fgets(line, sizeof line, fp); no++) {
        if (sscanf(line, "%8lx %127s %c", &crc, file, &extra) != 2 ||
            !ckpt_is_summed_file(file))
            st = gpi_fail(GP_ERR_PARSE, "%s:%d: not \"<crc32> <file>\" of a checkpoint "
                          "file", path, no);
        else
            st = ckpt_sums_add(sums, file, crc);
    }
    if (fp)
        fclose(fp);
    free(path);
    return st;
}

static gp_status ckpt_check_sum(const char *dir, const ckpt_sum *s)
{
    char *path = ckpt_join(dir, s->file);
    if (!path)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    unsigned long crc = 0;
    gp_status st = ckpt_file_crc(path, &crc);
    if (st == GP_OK && crc != s->crc)
        st = gpi_fail(GP_ERR_PARSE, "%s: corrupt: its CRC-32 is %08lx, %s recorded %08lx "
                      "when the checkpoint was saved", path, crc, GPI_CKPT_SUMS, s->crc);
    free(path);
    return st;
}

/* Every file of dir the sidecar covers must be listed in it. */
static gp_status ckpt_check_listed(const char *dir, const ckpt_sums *sums)
{
    DIR *d = opendir(dir);
    if (!d)
        return gpi_fail(GP_ERR_IO, "%s: cannot read: %s", dir, strerror(errno));
    gp_status st = GP_OK;
    struct dirent *e;
    while (st == GP_OK && (e = readdir(d)) != NULL) {
        if (!ckpt_is_summed_file(e->d_name))
            continue;
        int listed = 0;
        for (int i = 0; i < sums->n && !listed; i++)
            listed = strcmp(sums->s[i].file, e->d_name) == 0;
        if (!listed)
            st = gpi_fail(GP_ERR_PARSE, "%s/%s: not in %s: a file the checkpoint did not "
                          "save", dir, e->d_name, GPI_CKPT_SUMS);
    }
    closedir(d);
    return st;
}

gp_status gp_checkpoint_verify(const char *dir)
{
    if (!dir || !dir[0])
        return gpi_fail(GP_ERR_ARG, "gp_checkpoint_verify: NULL argument or empty name");
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return gpi_fail(GP_ERR_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return gpi_fail(GP_ERR_IO, "%s: not a checkpoint directory", dir);
    ckpt_sums sums;
    gp_status st = ckpt_read_sums(dir, &sums);
    for (int i = 0; i < sums.n && st == GP_OK; i++)
        st = ckpt_check_sum(dir, &sums.s[i]);
    if (st == GP_OK)
        st = ckpt_check_listed(dir, &sums);
    free(sums.s);
    if (st == GP_OK)
        gpi_clear_error();
    return st;
}

/* ------------------------------------------------------------ saving */

static gp_status ckpt_write_optim(const char *dir, const gp_optim *o)
{
    char *path = ckpt_join(dir, GPI_CKPT_OPTIM);
    if (!path)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    FILE *fp = fopen(path, "w");
    if (!fp) {
        gp_status st = gpi_fail(GP_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        free(path);
        return st;
    }
    gp_optim_desc d = gp_optim_get_desc(o);
    const struct { const char *key; float v; } hyper[] = {
        { "lr", d.lr }, { "momentum", d.momentum }, { "dampening", d.dampening },
        { "beta1", d.beta1 }, { "beta2", d.beta2 }, { "eps", d.eps },
        { "weight_decay", d.weight_decay },
    };
    fprintf(fp, "kind %s\nsteps %" PRId64 "\nnesterov %d\n", gp_optim_name(d.kind),
            gp_optim_steps(o), d.nesterov);
    for (size_t i = 0; i < sizeof hyper / sizeof hyper[0]; i++) {
        char num[32];
        gpi_format_float(num, sizeof num, hyper[i].v);
        fprintf(fp, "%s %s\n", hyper[i].key, num);
    }
    int bad = fflush(fp) != 0 || ferror(fp) || fsync(fileno(fp)) != 0;
    bad |= fclose(fp) != 0;
    gp_status st = bad ? gpi_fail(GP_ERR_IO, "%s: write error: %s", path, strerror(errno))
                       : GP_OK;
    free(path);
    return st;
}

static gp_status ckpt_write_tensors(const char *dir, const ckpt_list *list)
{
    gp_status st = GP_OK;
    for (int i = 0; i < list->n && st == GP_OK; i++) {
        const ckpt_tensor *t = &list->t[i];
        char *path = ckpt_join(dir, t->file);
        if (!path)
            return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
        st = gp_npy_write(path, t->value, t->dims, t->ndims);
        if (st == GP_OK)
            st = ckpt_sync(path);
        free(path);
    }
    return st;
}

static gp_status ckpt_write_all(const char *dir, gp_net *net, const gp_optim *o)
{
    ckpt_list list;
    gp_status st = ckpt_collect(net, o, &list);
    if (st != GP_OK)
        return st;
    st = ckpt_write_tensors(dir, &list);
    free(list.t);
    if (st == GP_OK && o)
        st = ckpt_write_optim(dir, o);
    if (st == GP_OK)
        st = ckpt_write_sums(dir);
    if (st == GP_OK)
        st = ckpt_sync(dir);
    return st;
}

/* Existing dir must be a checkpoint (or absent) before it is replaced. */
static gp_status ckpt_check_target(const char *dir, int *exists)
{
    struct stat sb;
    *exists = stat(dir, &sb) == 0;
    if (!*exists)
        return errno == ENOENT ? GP_OK
                               : gpi_fail(GP_ERR_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return gpi_fail(GP_ERR_IO, "%s: exists and is not a directory", dir);
    int ok = ckpt_dir_is_checkpoint(dir);
    if (ok < 0)
        return gpi_fail(GP_ERR_IO, "%s: cannot read: %s", dir, strerror(errno));
    if (!ok)
        return gpi_fail(GP_ERR_IO, "%s: exists and holds files that are not a checkpoint's; "
                        "refusing to replace it", dir);
    return GP_OK;
}

/* Move tmp to dir, replacing an old checkpoint there. */
static gp_status ckpt_publish(const char *tmp, const char *dir, int exists)
{
    char *old = NULL;
    if (exists) {
        if (!(old = ckpt_sibling(dir, ".old-")))
            return gpi_fail(GP_ERR_IO, "%s: cannot create a sibling directory: %s", dir,
                            strerror(errno));
        /* rename onto the empty sibling mkdtemp made is allowed */
        if (rename(dir, old) != 0) {
            gp_status st = gpi_fail(GP_ERR_IO, "%s: cannot move aside: %s", dir,
                                    strerror(errno));
            rmdir(old);
            free(old);
            return st;
        }
    }
    if (rename(tmp, dir) != 0) {
        gp_status st = gpi_fail(GP_ERR_IO, "%s: cannot rename into place: %s", dir,
                                strerror(errno));
        if (old && rename(old, dir) != 0)
            st = gpi_fail(GP_ERR_IO, "%s: cannot rename into place, and the previous "
                          "checkpoint is left in %s", dir, old);
        free(old);
        return st;
    }
    if (old)
        ckpt_remove_dir(old);
    free(old);
    return GP_OK;
}

/* The directory that holds dir, for syncing the rename. */
static gp_status ckpt_sync_parent(const char *dir)
{
    char *parent = strdup(dir);
    if (!parent)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    char *slash = strrchr(parent, '/');
    if (!slash)
        strcpy(parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    gp_status st = ckpt_sync(parent);
    free(parent);
    return st;
}

gp_status gp_checkpoint_save(const char *dir_arg, gp_net *net, const gp_optim *o)
{
    if (!dir_arg || !net || !dir_arg[0])
        return gpi_fail(GP_ERR_ARG, "gp_checkpoint_save: NULL argument or empty name");
    char *dir = ckpt_clean_dir(dir_arg), *tmp = NULL;
    int exists = 0;
    gp_status st = dir ? ckpt_check_target(dir, &exists)
                       : gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    if (st == GP_OK)
        st = ckpt_make_parents(dir);
    if (st == GP_OK && !(tmp = ckpt_sibling(dir, ".tmp-")))
        st = gpi_fail(GP_ERR_IO, "%s: cannot create a temporary directory beside it: %s",
                      dir, strerror(errno));
    if (st == GP_OK)
        st = ckpt_write_all(tmp, net, o);
    if (st == GP_OK)
        st = ckpt_publish(tmp, dir, exists);
    if (st != GP_OK && tmp)
        ckpt_remove_dir(tmp);
    if (st == GP_OK)
        st = ckpt_sync_parent(dir);
    free(tmp);
    free(dir);
    if (st == GP_OK)
        gpi_clear_error();
    return st;
}

/* ----------------------------------------------------------- loading */

/* Read "kind" and "steps" from optim.txt; the hyper-parameters there are a
 * record for people: the optimizer keeps the ones it was created with. */
static gp_status ckpt_read_optim(const char *dir, const gp_optim *o, int64_t *steps)
{
    char *path = ckpt_join(dir, GPI_CKPT_OPTIM);
    if (!path)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    FILE *fp = fopen(path, "r");
    gp_status st = GP_OK;
    char line[256], kind[32] = "";
    int have_steps = 0;
    if (!fp)
        st = gpi_fail(GP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    while (st == GP_OK && fgets(line, sizeof line, fp)) {
        long long v;
        if (sscanf(line, "kind %31s", kind) == 1)
            continue;
        if (sscanf(line, "steps %lld", &v) == 1) {
            have_steps = v >= 0;
            *steps = v;
        }
    }
    const char *want = gp_optim_name(gp_optim_get_desc(o).kind);
    if (st == GP_OK && (!kind[0] || !have_steps))
        st = gpi_fail(GP_ERR_PARSE, "%s: no kind or no valid steps line", path);
    else if (st == GP_OK && strcmp(kind, want) != 0)
        st = gpi_fail(GP_ERR_ARG, "%s: checkpoint of a %s optimizer, not %s", path, kind,
                      want);
    if (fp)
        fclose(fp);
    free(path);
    return st;
}

static int ckpt_dims_equal(const size_t *a, int na, const size_t *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static void ckpt_format_dims(char *buf, size_t cap, const size_t *dims, int nd)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < nd && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%zu", i ? ", " : "", dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, ")");
}

static gp_status ckpt_read_tensor(const char *dir, const ckpt_tensor *t, float *dst)
{
    char *path = ckpt_join(dir, t->file);
    if (!path)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory");
    size_t dims[8];
    int nd = 0;
    gp_status st = gp_npy_read(path, dst, t->count, dims, &nd);
    if (st == GP_OK && !ckpt_dims_equal(dims, nd, t->dims, t->ndims)) {
        char have[96], want[96];
        ckpt_format_dims(have, sizeof have, dims, nd);
        ckpt_format_dims(want, sizeof want, t->dims, t->ndims);
        st = gpi_fail(GP_ERR_PARSE, "%s: shape %s, the net needs %s", path, have, want);
    }
    free(path);
    return st;
}

/* The checkpoint must not hold tensors this net lacks (a deeper net's, say). */
static gp_status ckpt_check_extra(const char *dir, const ckpt_list *list, int with_state)
{
    int want_t = 0, want_s = 0, have_t = 0, have_s = 0;
    for (int i = 0; i < list->n; i++)
        *(list->t[i].is_state ? &want_s : &want_t) += 1;
    DIR *d = opendir(dir);
    if (!d)
        return gpi_fail(GP_ERR_IO, "%s: cannot read: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != 'L' || !ckpt_is_own_file(e->d_name))
            continue;
        /* "L00_kind.name.npy" has two dots, a state file three */
        int dots = 0;
        for (const char *c = e->d_name; *c; c++)
            dots += *c == '.';
        *(dots > 2 ? &have_s : &have_t) += 1;
    }
    closedir(d);
    if (have_t != want_t || (with_state && have_s != want_s))
        return gpi_fail(GP_ERR_PARSE, "%s: holds %d tensor files (%d optimizer state), the "
                        "net needs %d (%d)", dir, have_t, have_s, want_t,
                        with_state ? want_s : have_s);
    return GP_OK;
}

static gp_status ckpt_load_list(const char *dir, const ckpt_list *list, int with_state)
{
    size_t total = 0;
    for (int i = 0; i < list->n; i++)
        total += list->t[i].count;
    float *scratch = malloc((total ? total : 1) * sizeof *scratch);
    if (!scratch)
        return gpi_fail(GP_ERR_NOMEM, "checkpoint: out of memory for %zu floats", total);
    gp_status st = ckpt_check_extra(dir, list, with_state);
    size_t off = 0;
    for (int i = 0; i < list->n && st == GP_OK; i++) {
        st = ckpt_read_tensor(dir, &list->t[i], scratch + off);
        off += list->t[i].count;
    }
    off = 0;
    for (int i = 0; i < list->n && st == GP_OK; i++) {
        memcpy(list->t[i].value, scratch + off, list->t[i].count * sizeof(float));
        off += list->t[i].count;
    }
    free(scratch);
    return st;
}

gp_status gp_checkpoint_load(const char *dir, gp_net *net, gp_optim *o)
{
    if (!dir || !net)
        return gpi_fail(GP_ERR_ARG, "gp_checkpoint_load: NULL argument");
    int64_t steps = 0;
    gp_status st = gp_checkpoint_verify(dir);
    if (st == GP_ERR_NOTFOUND)   /* an older release's: the caller warns */
        st = GP_OK;
    if (st == GP_OK && o)
        st = ckpt_read_optim(dir, o, &steps);
    ckpt_list list = { 0 };
    if (st == GP_OK)
        st = ckpt_collect(net, o, &list);
    if (st != GP_OK)
        return st;
    st = ckpt_load_list(dir, &list, o != NULL);
    free(list.t);
    if (st == GP_OK && o)
        st = gp_optim_set_steps(o, steps);
    if (st == GP_OK)
        gpi_clear_error();
    return st;
}
