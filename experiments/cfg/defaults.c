/*
 * defaults.c - the defaults of a config, in two senses: those its base tree
 * used (concrete paths, "trunk[2].k", for the log and the manifest), and
 * those its schema declares (generic paths, "model.trunk[conv].k", with
 * their digest), which the id texts compare with and `--resume` checks.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ====================================================== defaults used */

static bool is_swept_or_under(const ycfg *cfg, const char *path)
{
    for (size_t k = 0; k < cfg->naxes; k++) {
        size_t len = strlen(cfg->axes[k].path);
        if (strncmp(path, cfg->axes[k].path, len) == 0 && (path[len] == '\0' || path[len] == '.'
                                                          || path[len] == '['))
            return true;
    }
    return false;
}

static int add_used_default(ycfg *cfg, const char *path, const ycfg_value *v)
{
    if (grow_vector((void **)&cfg->defaults, &cfg->defaults_cap, cfg->ndefaults,
                    sizeof *cfg->defaults))
        return -1;
    char *text = ycfg_value_text(v);
    used_default *e = &cfg->defaults[cfg->ndefaults];
    e->path = arena_strdup(&cfg->mem, path);
    e->text = text ? arena_strdup(&cfg->mem, text) : NULL;
    free(text);
    if (!e->path || !e->text)
        return -1;
    cfg->ndefaults++;
    return 0;
}

/* Every value the file did not write, in schema order: mappings (tagged
 * ones too, their tag first) and written lists of mappings are entered
 * (their keys are listed one by one), any other value is listed whole.
 * Swept keys are not defaults, whatever the base tree holds. */
int record_defaults(ycfg *cfg, const ycfg_value *v, const char *path)
{
    if (*path && is_swept_or_under(cfg, path))
        return 0;
    if (v->line == 0 && !is_mapping(v))
        return add_used_default(cfg, path, v);
    bool enter = is_mapping(v) || is_list_of_maps(v);
    for (size_t k = 0; k < v->n && enter; k++) {
        char child[PATH_LEN];
        if (is_mapping(v))
            join_key(child, path, v->items[k].schema->key);
        else
            join_index(child, path, k);
        if (record_defaults(cfg, &v->items[k], child))
            return -1;
    }
    return 0;
}

/* ================================================== defaults declared */

typedef struct {
    load_ctx *ctx;
    ycfg     *cfg;
    int       depth;    /* a schema that contains itself must not recurse forever */
} declarer;

static int declare_inside(declarer *d, const ycfg_schema *e, const char *path);

static int add_declared(declarer *d, const ycfg_schema *e, const char *path)
{
    ycfg *cfg = d->cfg;
    if (grow_vector((void **)&cfg->declared, &cfg->declared_cap, cfg->ndeclared,
                    sizeof *cfg->declared))
        return fail_oom(d->ctx);
    declared_default *row = &cfg->declared[cfg->ndeclared];
    *row = (declared_default){ .path = arena_strdup(&cfg->mem, path), .entry = e };
    if (!row->path)
        return fail_oom(d->ctx);
    cfg->ndeclared++;
    return 0;
}

/* The keys of a table with a default, and those below them, in schema
 * order; id_exempt keys stay out, as they do from ids. */
static int declare_table(declarer *d, const ycfg_schema *table, const char *path)
{
    for (size_t k = 0; table[k].key; k++) {
        char child[PATH_LEN];
        if (table[k].id_exempt)
            continue;
        join_key(child, path, table[k].key);
        if (table[k].def && add_declared(d, &table[k], child))
            return -1;
        if (declare_inside(d, &table[k], child))
            return -1;
    }
    return 0;
}

/* A tagged value adds "[variant]" to the path; a list element "[]", or
 * only its variant's "[variant]" when the elements are tagged. */
static int declare_inside(declarer *d, const ycfg_schema *e, const char *path)
{
    char child[PATH_LEN];
    int rc = 0;
    if (d->depth >= MAX_DEPTH)
        return fail_at(d->ctx, 0, 0, "the schema is nested deeper than %d levels at '%s'",
                       MAX_DEPTH, path);
    d->depth++;
    if (e->type == YCFG_MAP) {
        rc = declare_table(d, e->items, path);
    } else if (e->type == YCFG_TAGGED) {
        for (const ycfg_schema *v = e->items; v->key && !rc; v++) {
            mark_if_truncated(child, snprintf(child, PATH_LEN, "%s[%s]", path, v->key));
            rc = declare_table(d, v->items, child);
        }
    } else if (e->type == YCFG_LIST && e->items[0].type == YCFG_TAGGED) {
        rc = declare_inside(d, &e->items[0], path);
    } else if (e->type == YCFG_LIST) {
        mark_if_truncated(child, snprintf(child, PATH_LEN, "%s[]", path));
        rc = declare_inside(d, &e->items[0], child);
    }
    d->depth--;
    return rc;
}

/* The id text of row k's default. Rows below it in the schema come later
 * in the list and are done first, since its text compares their keys with
 * their own defaults; a row whose entry another row shares copies it. */
static int declared_text_of(load_ctx *ctx, ycfg *cfg, size_t k)
{
    declared_default *row = &cfg->declared[k];
    for (size_t j = k + 1; j < cfg->ndeclared; j++)
        if (cfg->declared[j].entry == row->entry) {
            row->text = cfg->declared[j].text;
            return 0;
        }
    arena scratch = {0};
    load_ctx own = *ctx;
    own.mem = &scratch;
    own.axes = NULL;
    own.naxes = 0;
    own.anchor_line = own.anchor_col = 0;
    own.skip_required = true;
    ycfg_value v = {0};
    int rc = load_default(&own, row->entry, row->path, &v);
    char *text = rc ? NULL : id_text_of(cfg, &v);
    if (!rc && (!text || !(row->text = arena_strdup(&cfg->mem, text))))
        rc = fail_oom(ctx);
    free(text);
    arena_free(&scratch);
    return rc;
}

static void make_digest(ycfg *cfg)
{
    uint64_t h = FNV1A64_OFFSET;
    for (size_t k = 0; k < cfg->ndeclared; k++) {
        const char *parts[] = { cfg->declared[k].path, ": ", cfg->declared[k].text, "\n" };
        for (size_t p = 0; p < 4; p++)
            h = fnv1a64_more(h, parts[p]);
    }
    snprintf(cfg->digest, sizeof cfg->digest, "%016" PRIx64, h);
}

int declare_defaults(load_ctx *ctx, ycfg *cfg)
{
    declarer d = { .ctx = ctx, .cfg = cfg };
    if (declare_table(&d, cfg->root_entry.items, ""))
        return -1;
    for (size_t k = cfg->ndeclared; k-- > 0; )
        if (declared_text_of(ctx, cfg, k))
            return -1;
    make_digest(cfg);
    return 0;
}

const char *declared_text(const ycfg *cfg, const ycfg_schema *entry)
{
    for (size_t k = 0; k < cfg->ndeclared; k++)
        if (cfg->declared[k].entry == entry && cfg->declared[k].text)
            return cfg->declared[k].text;
    program_bug(entry->key ? entry->key : "", "has a default that the schema walk did not declare");
}

size_t ycfg_ndefaults(const ycfg *cfg) { return cfg->ndefaults; }
size_t ycfg_schema_ndefaults(const ycfg *cfg) { return cfg->ndeclared; }
const char *ycfg_defaults_digest(const ycfg *cfg) { return cfg->digest; }

const char *ycfg_default_path(const ycfg *cfg, size_t k)
{
    return cfg->defaults[checked_index("default", k, cfg->ndefaults)].path;
}

const char *ycfg_default_text(const ycfg *cfg, size_t k)
{
    return cfg->defaults[checked_index("default", k, cfg->ndefaults)].text;
}

const char *ycfg_schema_default_path(const ycfg *cfg, size_t k)
{
    return cfg->declared[checked_index("declared default", k, cfg->ndeclared)].path;
}

const char *ycfg_schema_default_text(const ycfg *cfg, size_t k)
{
    return cfg->declared[checked_index("declared default", k, cfg->ndeclared)].text;
}

/* ============================================== relying on a default */

static bool takes_default_below(const ycfg_value *map, const char *path);

static bool tag_is(const ycfg_value *v, const char *name, size_t len)
{
    return v->type == YCFG_TAGGED && strlen(v->items[0].s) == len
        && strncmp(v->items[0].s, name, len) == 0;
}

/* rest is what follows v's key in a generic path: selectors ("[]",
 * "[conv]"), then ".key..." or nothing (v itself is asked about). */
static bool takes_default_at(const ycfg_value *v, const char *rest)
{
    if (*rest == '\0')
        return v->from_default;
    if (*rest == '.')
        return is_mapping(v) && takes_default_below(v, rest + 1);
    const char *close = rest[0] == '[' ? strchr(rest, ']') : NULL;
    if (!close)
        return false;
    const char *name = rest + 1;
    size_t len = (size_t)(close - name);
    if (v->type == YCFG_TAGGED)
        return tag_is(v, name, len) && takes_default_at(v, close + 1);
    for (size_t k = 0; v->type == YCFG_LIST && k < v->n; k++) {
        const ycfg_value *e = &v->items[k];
        bool selected = e->type == YCFG_TAGGED && len ? tag_is(e, name, len) : len == 0;
        if (selected && takes_default_at(e, close + 1))
            return true;
    }
    return false;
}

static bool takes_default_below(const ycfg_value *map, const char *path)
{
    size_t len = strcspn(path, ".[");
    const ycfg_value *child = map_child(map, path, len);
    return child && takes_default_at(child, path + len);
}

int ycfg_relies_on_default(const ycfg *cfg, const char *generic_path)
{
    bool declared = false;
    for (size_t k = 0; k < cfg->ndeclared && !declared; k++)
        declared = strcmp(cfg->declared[k].path, generic_path) == 0;
    if (!declared)
        return -1;
    for (size_t i = 0; i < cfg->npoints; i++)
        if (takes_default_below(&cfg->points[i].root, generic_path))
            return 1;
    return 0;
}
