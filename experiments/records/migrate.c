/*
 * migrate.c - a results directory of the previous release rewritten to
 * this release's run ids (see migrate.h): first a plan of every file and
 * folder to change, made without writing anything, then the plan carried
 * out, manifest.yaml last.
 */
#include "autoconfig.h"

#include "records/migrate.h"
#include "core/schema.h"
#include "records/csv.h"
#include "records/ids.h"
#include "records/results.h"
#include "util/util.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID_LEN 16

typedef struct {
    char from[ID_LEN + 1], to[ID_LEN + 1];
    int  seen;                     /* found in the directory */
} id_pair;

typedef struct {
    char  path[4200];
    char *text;                    /* the file's new contents */
} file_edit;

typedef struct {
    char from[4200], to[4200];
} folder_move;

typedef struct {
    const char  *dir;
    ycfg        *cfg;
    id_pair     *ids;              /* per point: its old id, then its new one to itself */
    size_t       nids;
    file_edit   *edits;
    size_t       nedits;
    folder_move *moves;
    size_t       nmoves;
    char        *err;
    size_t       errlen;
} migration;

/* 1 when s starts with a run id: 16 lowercase hex digits, then no more. */
static int at_id(const char *s)
{
    for (int k = 0; k < ID_LEN; k++)
        if (!isxdigit((unsigned char)s[k]) || isupper((unsigned char)s[k]))
            return 0;
    return !isalnum((unsigned char)s[ID_LEN]);
}

/* The new id of id (found at where), or NULL with err: no point has it. */
static const char *map_id(migration *m, const char *id, const char *where)
{
    for (size_t k = 0; k < m->nids; k++)
        if (!strncmp(m->ids[k].from, id, ID_LEN)) {
            m->ids[k].seen = 1;
            return m->ids[k].to;
        }
    snprintf(m->err, m->errlen,
             "%s: run %.16s is no point of %s/config.yaml (neither the id an earlier gpool gave "
             "one nor this gpool's); nothing was changed",
             where, id, m->dir);
    return NULL;
}

static int add_edit(migration *m, const char *path, char *text)
{
    file_edit *grown = realloc(m->edits, (m->nedits + 1) * sizeof *grown);
    if (!grown) {
        free(text);
        snprintf(m->err, m->errlen, "%s: out of memory", path);
        return -1;
    }
    m->edits = grown;
    snprintf(m->edits[m->nedits].path, sizeof m->edits[m->nedits].path, "%s", path);
    m->edits[m->nedits++].text = text;
    return 0;
}

/* Every point's old and new id; 0, or -1 out of memory. */
static int map_points(migration *m)
{
    size_t n = ycfg_npoints(m->cfg);
    m->ids = calloc(2 * n, sizeof *m->ids);
    if (!m->ids)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const ycfg_point *pt = ycfg_point_at(m->cfg, i);
        id_pair *old = &m->ids[m->nids++], *now = &m->ids[m->nids++];
        snprintf(old->from, sizeof old->from, "%s", ycfg_point_legacy_id(pt));
        snprintf(old->to, sizeof old->to, "%s", ycfg_point_id(pt));
        snprintf(now->from, sizeof now->from, "%s", ycfg_point_id(pt));
        snprintf(now->to, sizeof now->to, "%s", ycfg_point_id(pt));
    }
    return 0;
}

/* ------------------------------------------------------------ the plan */

/* Row r of t: its id (first in the row, at its start in text) rewritten
 * there. 0, or -1 with err. */
static int rewrite_csv_row(migration *m, const gpx_csv *t, size_t r, char *text, int *changed)
{
    const char *id = gpx_csv_field(t, r, 0), *to;
    char where[4300];
    snprintf(where, sizeof where, "%s:%d", t->path, t->rows[r].line);
    if (strlen(id) != ID_LEN || !at_id(text + t->rows[r].start)) {
        snprintf(m->err, m->errlen, "%s: '%s' is no run id", where, id);
        return -1;
    }
    if (!(to = map_id(m, id, where)))
        return -1;
    *changed |= strcmp(id, to) != 0;
    memcpy(text + t->rows[r].start, to, ID_LEN);
    return 0;
}

/* DIR/f (runs.csv, epochs.csv, evals.csv), read and checked: the run_id
 * column, first in every row, rewritten in a copy of the text. A missing
 * file has nothing. */
static int plan_csv(migration *m, const gpx_record_file *f)
{
    char path[4200];
    const int need[] = { GPX_RUNS_RUN_ID };   /* first in each of the three lists */
    int col[GPX_RUNS_NCOLUMNS];               /* the longest of them */
    gpx_csv t;
    int missing = 0, changed = 0, rc = 0;
    assert(f->ncolumns <= GPX_RUNS_NCOLUMNS && !strcmp(f->columns[need[0]].name, "run_id"));
    gpx_join(path, sizeof path, m->dir, f->name);
    if (gpx_record_load(&t, path, f, need, 1, col, &missing, m->err, m->errlen))
        return -1;
    if (missing)
        return 0;
    char *text = strdup(t.text);
    if (col[0] != 0) {
        snprintf(m->err, m->errlen, "%s: run_id is not its first column", path);
        rc = -1;
    } else if (!text) {
        snprintf(m->err, m->errlen, "%s: out of memory", path);
        rc = -1;
    }
    for (size_t r = 0; rc == 0 && r < t.nrows; r++)
        rc = rewrite_csv_row(m, &t, r, text, &changed);
    gpx_csv_free(&t);
    if (rc || !changed) {
        free(text);
        return rc;
    }
    return add_edit(m, path, text);
}

/* The ids after each marker in text ("run_id: ", "# run ") rewritten in
 * place; *changed set when one was old. 0, or -1 with err. */
static int rewrite_marked(migration *m, char *text, const char *marker, const char *where,
                          int *changed)
{
    size_t len = strlen(marker);
    for (char *p = strstr(text, marker); p; p = strstr(p + len, marker)) {
        if (!at_id(p + len))
            continue;
        const char *to = map_id(m, p + len, where);
        if (!to)
            return -1;
        *changed |= strncmp(p + len, to, ID_LEN) != 0;
        memcpy(p + len, to, ID_LEN);
    }
    return 0;
}

/* The text of path with the ids after marker rewritten (*text NULL when
 * there is no such file). 0, or -1 with err. */
static int read_rewritten(migration *m, const char *path, const char *marker, char **text,
                          int *changed)
{
    *changed = 0;
    *text = gpx_read_text(path);
    if (!*text && access(path, F_OK) == 0) {
        snprintf(m->err, m->errlen, "%s: cannot be read", path);
        return -1;
    }
    if (*text && rewrite_marked(m, *text, marker, path, changed)) {
        free(*text);
        *text = NULL;
        return -1;
    }
    return 0;
}

/* A text file holding ids after marker, rewritten to dest when one changes. */
static int plan_text(migration *m, const char *path, const char *marker, const char *dest)
{
    char *text;
    int changed;
    if (read_rewritten(m, path, marker, &text, &changed))
        return -1;
    if (!changed) {
        free(text);
        return 0;
    }
    return add_edit(m, dest, text);
}

/* A folder runs/<id>/ to rename, and its manifest's run_id (at its new place). */
static int plan_run_folder(migration *m, const char *runs, const char *name)
{
    char from[4200], to[4200], manifest[4300], dest[4300];
    const char *id;
    snprintf(from, sizeof from, "%s/%.16s", runs, name);
    if (!(id = map_id(m, name, from)))
        return -1;
    snprintf(to, sizeof to, "%s/%.16s", runs, id);
    if (strcmp(name, id)) {
        if (access(to, F_OK) == 0) {
            snprintf(m->err, m->errlen, "%s and %s are the same run (old and new id); keep "
                                        "one; nothing was changed", from, to);
            return -1;
        }
        folder_move *grown = realloc(m->moves, (m->nmoves + 1) * sizeof *grown);
        if (!grown)
            return -1;
        m->moves = grown;
        snprintf(grown[m->nmoves].from, sizeof grown->from, "%s", from);
        snprintf(grown[m->nmoves++].to, sizeof grown->to, "%s", to);
    }
    snprintf(manifest, sizeof manifest, "%s/manifest.yaml", from);
    snprintf(dest, sizeof dest, "%s/manifest.yaml", to);
    return plan_text(m, manifest, "run_id: ", dest);
}

/* Every run folder DIR/runs/<id>/ (entries not named like an id are left alone). */
static int plan_run_folders(migration *m)
{
    char runs[4096];
    snprintf(runs, sizeof runs, "%s/runs", m->dir);
    DIR *d = opendir(runs);
    if (!d)
        return 0;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        char path[4500];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", runs, e->d_name);
        if (strlen(e->d_name) == ID_LEN && at_id(e->d_name) && stat(path, &st) == 0 &&
            S_ISDIR(st.st_mode))
            rc = plan_run_folder(m, runs, e->d_name);
    }
    closedir(d);
    return rc;
}

/* manifest.yaml: its run ids, then the id section and when it was migrated. */
static int plan_manifest(migration *m)
{
    char path[4200], *text, *grown = NULL, now[64];
    size_t len = 0;
    int changed;
    snprintf(path, sizeof path, "%s/manifest.yaml", m->dir);
    int rc = read_rewritten(m, path, "run_id: ", &text, &changed);
    if (rc || !text)
        return rc;   /* no manifest (a hand-made directory): nothing to record the ids in */
    FILE *fp = open_memstream(&grown, &len);
    if (!fp) {
        free(text);
        snprintf(m->err, m->errlen, "%s: out of memory", path);
        return -1;
    }
    fputs(text, fp);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', fp);
    gpx_ids_write(fp, m->cfg);
    fprintf(fp, "ids_migrated_at: %s\n", gpx_iso_time(now, sizeof now));
    fclose(fp);
    free(text);
    return add_edit(m, path, grown);
}

/* ------------------------------------------------------- carrying it out */

static int write_text_file(const char *path, const char *text, char *err, size_t errlen)
{
    gpx_atomic_file f;
    if (gpx_atomic_open(&f, path, err, errlen))
        return -1;
    fputs(text, f.fp);
    return gpx_atomic_commit(&f, err, errlen);
}

/* Folders first (the run manifests are planned at their new places), then
 * the files in plan order, manifest.yaml last. */
static int carry_out(migration *m, FILE *log)
{
    for (size_t k = 0; k < m->nmoves; k++) {
        if (rename(m->moves[k].from, m->moves[k].to)) {
            snprintf(m->err, m->errlen, "rename %s to %s: %s", m->moves[k].from,
                     m->moves[k].to, strerror(errno));
            return -1;
        }
        if (log)
            fprintf(log, "  %s -> %s\n", m->moves[k].from, m->moves[k].to);
    }
    for (size_t k = 0; k < m->nedits; k++) {
        if (write_text_file(m->edits[k].path, m->edits[k].text, m->err, m->errlen))
            return -1;
        if (log)
            fprintf(log, "  %s rewritten\n", m->edits[k].path);
    }
    return 0;
}

static void free_migration(migration *m)
{
    for (size_t k = 0; k < m->nedits; k++)
        free(m->edits[k].text);
    free(m->edits);
    free(m->moves);
    free(m->ids);
    ycfg_free(m->cfg);
}

/* The plan: every id of the directory mapped, nothing written. 0, or -1. */
static int make_plan(migration *m)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", m->dir);
    m->cfg = ycfg_load(path, gpx_run_schema(), m->err, m->errlen);
    if (!m->cfg)
        return -1;
    if (map_points(m)) {
        snprintf(m->err, m->errlen, "%s: out of memory", m->dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s/accuracy.dat", m->dir);
    return plan_run_folders(m) || plan_csv(m, &gpx_evals_file) ||
                   plan_csv(m, &gpx_epochs_file) || plan_csv(m, &gpx_runs_file) ||
                   plan_text(m, path, "# run ", path) || plan_manifest(m)
               ? -1
               : 0;
}

int gpx_migrate_dir(const char *dir, FILE *log, gpx_migration *done, char *err, size_t errlen)
{
    gpx_id_record rec;
    memset(done, 0, sizeof *done);
    if (gpx_ids_read(dir, &rec, err, errlen))
        return -1;
    int current = !strcmp(rec.scheme, GPX_ID_SCHEME), other = rec.scheme[0] && !current;
    gpx_ids_free(&rec);
    if (current)
        return 1;
    if (other)
        return gpx_ids_check_current(dir, err, errlen);
    migration m = { .dir = dir, .err = err, .errlen = errlen };
    int rc = make_plan(&m);
    for (size_t k = 0; rc == 0 && k < m.nids; k += 2)
        done->ids += m.ids[k].seen && strcmp(m.ids[k].from, m.ids[k].to);
    done->files = m.nedits;
    done->folders = m.nmoves;
    if (rc == 0 && m.nedits + m.nmoves == 0)
        rc = 1;
    else if (rc == 0)
        rc = carry_out(&m, log);
    free_migration(&m);
    return rc;
}
