/*
 * sweep.c - the `sweep:` section: each path checked against the schema and
 * each of its values as a whole value of that key; then the points, the
 * cartesian product of the sweep lists over the base tree, less the points
 * sweep_except drops (except.c).
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sweep_axis *find_axis(const sweep_axis *axes, size_t naxes, const char *path)
{
    for (size_t k = 0; k < naxes; k++)
        if (strcmp(axes[k].path, path) == 0)
            return &axes[k];
    return NULL;
}

/* The schema entry a dotted sweep path names, or an error at the path. */
static int resolve_sweep_path(load_ctx *ctx, const raw_node *key, const ycfg_schema *root,
                              const ycfg_schema **found)
{
    const char *path = key->text;
    const ycfg_schema *table = root, *entry = NULL;
    char walked[PATH_LEN] = "";
    for (const char *seg = path;; ) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        char name[PATH_LEN];
        if (len == 0 || len >= sizeof name)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' is malformed: write keys joined by dots, "
                           "like 'bench.threads'", path);
        memcpy(name, seg, len);
        name[len] = '\0';
        long k = find_key(table, name);
        if (k < 0) {
            char where[PATH_LEN + 8], hint[SUGGEST_LEN + 24];
            describe_level(where, sizeof where, walked);
            suggest(hint, sizeof hint, closest_key(table, name));
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' names no key: there is no '%s' %s%s",
                           path, name, where, hint);
        }
        entry = &table[k];
        char next[PATH_LEN];
        join_key(next, walked, entry->key);
        memcpy(walked, next, sizeof walked);
        require_sound_entry(entry, walked);
        if (entry->id_exempt)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' cannot be swept: '%s' says how results are "
                           "presented, not what runs", path, walked);
        if (!dot)
            break;
        if (entry->type == YCFG_LIST)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' goes into the list '%s': keys inside a list "
                           "cannot be swept (sweep the whole list '%s' instead)",
                           path, walked, walked);
        if (entry->type == YCFG_TAGGED)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' goes into the tagged mapping '%s': its keys depend "
                           "on its '%s' (sweep the whole '%s' instead)",
                           path, walked, entry->tag, walked);
        if (entry->type != YCFG_MAP)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' names no key: '%s' is %s, not a mapping",
                           path, walked, type_noun(entry->type));
        table = entry->items;
        seg = dot + 1;
    }
    *found = entry;
    return 0;
}

/* Two swept paths where one contains the other would both set one value. */
static int check_overlap(load_ctx *ctx, const sweep_axis *axes, size_t naxes, const raw_node *key)
{
    for (size_t k = 0; k < naxes; k++) {
        const char *a = axes[k].path, *b = key->text;
        size_t la = strlen(a), lb = strlen(b);
        const char *shorter = la < lb ? a : b, *longer = la < lb ? b : a;
        size_t ls = la < lb ? la : lb;
        if (la != lb && strncmp(shorter, longer, ls) == 0 && longer[ls] == '.')
            return fail_at(ctx, key->line, key->col,
                           "sweep paths '%s' and '%s' overlap: sweep one or the other", a, b);
    }
    return 0;
}

static int validate_axis(load_ctx *ctx, const raw_node *key, const raw_node *list,
                         const ycfg_schema *root, sweep_axis *axis)
{
    if (resolve_sweep_path(ctx, key, root, &axis->schema))
        return -1;
    if (list->kind != RAW_SEQ)
        return fail_type(ctx, list, "a list of values", key->text, " (a sweep needs [v1, v2, ...])");
    if (list->n == 0)
        return fail_at(ctx, list->line, list->col,
                       "the sweep list for '%s' is empty: give at least one value", key->text);
    axis->path = arena_strdup(ctx->mem, key->text);
    axis->values = arena_array(ctx->mem, list->n, sizeof *axis->values);
    if (!axis->path || !axis->values)
        return fail_oom(ctx);
    axis->n = list->n;
    for (size_t k = 0; k < list->n; k++)
        if (validate_value(ctx, &list->items[k], axis->schema, key->text, &axis->values[k]))
            return -1;
    return 0;
}

static int check_point_count(load_ctx *ctx, const raw_node *sweep, const sweep_axis *axes,
                             size_t naxes)
{
    size_t points = 1;
    for (size_t k = 0; k < naxes; k++) {
        if (points > MAX_POINTS / axes[k].n)
            return fail_at(ctx, sweep->line, sweep->col,
                           "the sweep expands to more than %u points", MAX_POINTS);
        points *= axes[k].n;
    }
    return 0;
}

int validate_sweep(load_ctx *ctx, const raw_node *sweep, const ycfg_schema *root,
                          ycfg *cfg)
{
    if (sweep->kind != RAW_MAP)
        return fail_type(ctx, sweep, "a mapping of key paths to lists", "sweep",
                         " (like 'bench.threads: [1, 2, 4]')");
    if (sweep->n == 0)
        return fail_at(ctx, sweep->line, sweep->col,
                       "the sweep section is empty: remove it or add 'path: [values]'");
    cfg->axes = arena_array(&cfg->mem, sweep->n, sizeof *cfg->axes);
    if (!cfg->axes)
        return fail_oom(ctx);
    for (size_t p = 0; p < sweep->n; p++) {
        const raw_node *key = &sweep->items[2 * p];
        if (check_unique_key(ctx, sweep, p))
            return -1;
        if (check_overlap(ctx, cfg->axes, cfg->naxes, key)
            || validate_axis(ctx, key, &sweep->items[2 * p + 1], root, &cfg->axes[cfg->naxes]))
            return -1;
        cfg->naxes++;
    }
    return check_point_count(ctx, sweep, cfg->axes, cfg->naxes);
}

/* =============================================================== points */

/* Deep copy of a value tree into mem (strings are shared: never modified). */
int copy_value(arena *mem, const ycfg_value *src, ycfg_value *dst)
{
    *dst = *src;
    if (!src->n)
        return 0;
    dst->items = arena_array(mem, src->n, sizeof *dst->items);
    if (!dst->items)
        return -1;
    for (size_t k = 0; k < src->n; k++)
        if (copy_value(mem, &src->items[k], &dst->items[k]))
            return -1;
    return 0;
}

ycfg_value *map_child(const ycfg_value *map, const char *key, size_t keylen)
{
    if (map->type != YCFG_MAP && map->type != YCFG_TAGGED)
        return NULL;
    for (size_t k = 0; k < map->n; k++) {
        const char *name = map->items[k].schema->key;
        if (strlen(name) == keylen && strncmp(name, key, keylen) == 0)
            return &map->items[k];
    }
    return NULL;
}

/* Put v at path in a point's tree, copying the maps on the way (and only
 * those) so that the base tree and the other points stay as they were. */
static int substitute(arena *mem, ycfg_value *root, const char *path, const ycfg_value *v)
{
    ycfg_value *node = root;
    for (const char *seg = path;; ) {
        size_t len = strcspn(seg, ".");
        ycfg_value *items = arena_array(mem, node->n, sizeof *items);
        if (!items)
            return -1;
        memcpy(items, node->items, node->n * sizeof *items);
        node->items = items;
        node = map_child(node, seg, len);
        if (!node)
            program_bug(path, "was swept but is not in the value tree");
        if (!seg[len])
            break;
        seg += len + 1;
    }
    *node = *v;
    return 0;
}

/* Point i of the product: the last axis varies fastest, the first slowest. */
static int build_point(ycfg *cfg, size_t i, ycfg_point *pt)
{
    pt->root = cfg->base;
    for (size_t k = cfg->naxes; k-- > 0; ) {
        const sweep_axis *axis = &cfg->axes[k];
        if (substitute(&cfg->mem, &pt->root, axis->path, &axis->values[i % axis->n]))
            return -1;
        i /= axis->n;
    }
    return make_point_ids(cfg, pt);
}

/* A value listed twice makes two points of one id: the second would
 * overwrite the first's results. Compared are id texts, so "1" and "1.0"
 * of a float, or a mapping written with and without its defaults, match. */
static int check_distinct_values(load_ctx *ctx, const ycfg *cfg, const sweep_axis *axis)
{
    for (size_t k = 1; k < axis->n; k++)
        for (size_t j = 0; j < k; j++) {
            char *a = id_text_of(cfg, &axis->values[j]), *b = id_text_of(cfg, &axis->values[k]);
            bool same = a && b && strcmp(a, b) == 0;
            free(a);
            free(b);
            if (same)
                return fail_at(ctx, axis->values[k].line, axis->values[k].col,
                               "the sweep of '%s' lists the same value twice (items %zu and %zu):"
                               " each value makes one point; remove the repeat",
                               axis->path, j + 1, k + 1);
        }
    return 0;
}

/* Each point of the product into points, or into dropped when
 * sweep_except drops it (drops[i]); the order of each is the product's. */
static int build_points(load_ctx *ctx, ycfg *cfg, const bool *drops, size_t total)
{
    size_t kept = 0;
    for (size_t i = 0; i < total; i++)
        kept += !drops[i];
    cfg->points = arena_array(&cfg->mem, kept, sizeof *cfg->points);
    cfg->dropped = arena_array(&cfg->mem, total - kept, sizeof *cfg->dropped);
    if ((kept && !cfg->points) || (total > kept && !cfg->dropped))
        return fail_oom(ctx);
    for (size_t i = 0; i < total; i++) {
        ycfg_point *pt = drops[i] ? &cfg->dropped[cfg->ndropped++] : &cfg->points[cfg->npoints++];
        if (build_point(cfg, i, pt))
            return fail_oom(ctx);
    }
    return 0;
}

/* Which points of the product sweep_except drops (caller frees; NULL out of memory). */
static bool *find_drops(const ycfg *cfg, size_t total)
{
    bool *drops = calloc(total, sizeof *drops);
    size_t *scratch = calloc(cfg->naxes + 1, sizeof *scratch);
    for (size_t i = 0; drops && scratch && i < total; i++)
        drops[i] = except_drops(cfg, i, scratch);
    free(scratch);
    if (!scratch) {
        free(drops);
        return NULL;
    }
    return drops;
}

int expand_points(load_ctx *ctx, ycfg *cfg)
{
    for (size_t k = 0; k < cfg->naxes; k++)
        if (check_distinct_values(ctx, cfg, &cfg->axes[k]))
            return -1;
    if (match_except_values(ctx, cfg))
        return -1;
    size_t total = 1;
    for (size_t k = 0; k < cfg->naxes; k++)
        total *= cfg->axes[k].n;
    bool *drops = find_drops(cfg, total);
    int rc = drops ? build_points(ctx, cfg, drops, total) : fail_oom(ctx);
    free(drops);
    if (!rc && cfg->npoints == 0)
        rc = fail_at(ctx, cfg->except_line, cfg->except_col,
                     "sweep_except drops every point of the sweep (%zu): nothing would run",
                     total);
    return rc;
}
