/*
 * validate.c - a raw value checked against its schema entry into a resolved
 * value: lists, mappings (unknown and duplicate keys, missing keys from the
 * sweep or the defaults), and the dispatch to scalars.c and tagged.c.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const raw_node *find_raw_key(const raw_node *map, const char *key)
{
    for (size_t p = 0; p < map->n; p++)
        if (map->items[2 * p].kind == RAW_SCALAR && strcmp(map->items[2 * p].text, key) == 0)
            return &map->items[2 * p];
    return NULL;
}

/* The key of a mapping pair as a name, or an error. */
int check_key_node(load_ctx *ctx, const raw_node *key)
{
    if (key->kind != RAW_SCALAR)
        return fail_at(ctx, key->line, key->col, "a key must be a name, not %s",
                       key->kind == RAW_SEQ ? "a list" : "a mapping");
    if (raw_is_null(key))
        return fail_at(ctx, key->line, key->col, "empty key");
    return 0;
}

static int validate_list(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                         const char *path, ycfg_value *out)
{
    if (raw->kind != RAW_SEQ)
        return fail_type(ctx, raw, "a list", path,
                         raw_is_null(raw) ? " (write [] for an empty list)" : NULL);
    if (has_range(sch) && (raw->n < sch->min || raw->n > sch->max)) {
        char lo[40], hi[40];
        format_bound(lo, sizeof lo, sch->min);
        format_bound(hi, sizeof hi, sch->max);
        if (sch->min == sch->max)
            return fail_at(ctx, raw->line, raw->col, "'%s' must have exactly %s items, got %zu",
                           path, lo, raw->n);
        return fail_at(ctx, raw->line, raw->col, "'%s' must have %s to %s items, got %zu",
                       path, lo, hi, raw->n);
    }
    out->n = raw->n;
    out->items = arena_array(ctx->mem, raw->n, sizeof *out->items);
    if (raw->n && !out->items)
        return fail_oom(ctx);
    for (size_t k = 0; k < raw->n; k++) {
        char child[PATH_LEN];
        join_index(child, path, k);
        if (validate_value(ctx, &raw->items[k], &sch->items[0], child, &out->items[k]))
            return -1;
    }
    return 0;
}

/* An or_list FLOAT written as a list: each item a number as the entry
 * takes it; the value becomes a LIST whose schema stays the entry. */
static int validate_number_list(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                                const char *path, ycfg_value *out)
{
    if (raw->n == 0 || (sch->max_items > 0 && raw->n > (size_t)sch->max_items)) {
        char most[48] = "";
        if (sch->max_items > 0)
            snprintf(most, sizeof most, " to %d", sch->max_items);
        return fail_at(ctx, raw->line, raw->col, "'%s' must be a number or a list of 1%s "
                       "numbers, got %zu items", path, most, raw->n);
    }
    out->type = YCFG_LIST;
    out->n = raw->n;
    out->items = arena_array(ctx->mem, raw->n, sizeof *out->items);
    if (!out->items)
        return fail_oom(ctx);
    for (size_t k = 0; k < raw->n; k++) {
        char child[PATH_LEN];
        join_index(child, path, k);
        ycfg_value *item = &out->items[k];
        *item = (ycfg_value){ .type = YCFG_FLOAT, .schema = sch,
                              .line = ctx->default_path ? 0 : raw->items[k].line,
                              .col = ctx->default_path ? 0 : raw->items[k].col };
        if (raw->items[k].kind == RAW_SCALAR &&
            !(item->s = arena_strdup(ctx->mem, raw->items[k].text)))
            return fail_oom(ctx);
        if (validate_scalar(ctx, &raw->items[k], sch, child, item))
            return -1;
    }
    return 0;
}

int load_default(load_ctx *ctx, const ycfg_schema *key, const char *path, ycfg_value *out)
{
    const char *saved_path = ctx->default_path, *saved_text = ctx->default_text;
    arena scratch = {0};
    raw_node *raw = NULL;
    ctx->default_path = path;
    ctx->default_text = key->def;
    int rc = parse_text(ctx, &scratch, key->def, strlen(key->def), &raw);
    if (!rc && !raw)
        rc = fail_at(ctx, 0, 0, "it is empty");
    if (!rc)
        rc = validate_value(ctx, raw, key, path, out);
    ctx->default_path = saved_path;
    ctx->default_text = saved_text;
    arena_free(&scratch);
    return rc;
}

/* A key the map does not write: the first swept value when it is swept (so
 * a swept key needs no default), else its default, else an error. */
static int fill_missing_key(load_ctx *ctx, const ycfg_schema *key, const char *path,
                            ycfg_value *out)
{
    const sweep_axis *axis = find_axis(ctx->axes, ctx->naxes, path);
    if (axis)
        return copy_value(ctx->mem, &axis->values[0], out) ? fail_oom(ctx) : 0;
    if (key->def) {
        if (load_default(ctx, key, path, out))
            return -1;
        out->from_default = 1;
        return 0;
    }
    if (ctx->skip_required) {
        out->col = LEFT_TO_USER;
        return 0;
    }
    /* The user's omission even inside a default "{}": not the program's. */
    const char *saved = ctx->default_path;
    ctx->default_path = NULL;
    fail_at(ctx, ctx->anchor_line, ctx->anchor_col, "missing required key '%s'%s%s%s", path,
            key->help ? " (" : "", key->help ? key->help : "", key->help ? ")" : "");
    ctx->default_path = saved;
    return -1;
}

/* The closest key of the table, or the map's own key ("sweeps:" at the
 * root, "tpye:" in a tagged map), is suggested. In a tagged map without a
 * close key, the keys of its variant are listed instead: the key may well
 * belong to another variant. */
static int fail_unknown_key(load_ctx *ctx, const raw_node *key, const map_rules *m)
{
    char where[PATH_LEN + 8], note[SUGGEST_LEN * 2 + 8] = "", hint[600];
    const char *near = closest_key(m->table, key->text);
    for (const char *const *own = m->own_keys; own && *own; own++) {
        size_t d = edit_distance(key->text, *own);
        if (is_close(key->text, *own, d) && (!near || d < edit_distance(key->text, near)))
            near = *own;
    }
    describe_level(where, sizeof where, m->path);
    suggest(hint, sizeof hint, near);
    if (m->variant) {
        snprintf(note, sizeof note, " (%s)", m->variant);
        if (!near && m->table[0].key) {
            char keys[512];
            list_keys(keys, sizeof keys, m->table);
            snprintf(hint, sizeof hint, ", which takes only %s", keys);
        } else if (!near) {
            snprintf(hint, sizeof hint, ", which takes no other keys");
        }
    }
    return fail_at(ctx, key->line, key->col, "unknown key '%s' %s%s%s", key->text, where, note, hint);
}

int fail_duplicate_key(load_ctx *ctx, const raw_node *key, const raw_node *first)
{
    return fail_at(ctx, key->line, key->col,
                   "duplicate key '%s' (first written at line %d, column %d)",
                   key->text, first->line, first->col);
}

int check_unique_key(load_ctx *ctx, const raw_node *map, size_t p)
{
    const raw_node *key = &map->items[2 * p];
    if (check_key_node(ctx, key))
        return -1;
    for (size_t q = 0; q < p; q++)
        if (strcmp(map->items[2 * q].text, key->text) == 0)
            return fail_duplicate_key(ctx, key, &map->items[2 * q]);
    return 0;
}

/* Validate the keys a mapping writes into items (one per key of m->table,
 * in table order), recording where each was first written. */
static int validate_map_keys(load_ctx *ctx, const raw_node *raw, const map_rules *m,
                             const raw_node **first_key, ycfg_value *items)
{
    for (size_t p = 0; p < raw->n; p++) {
        const raw_node *key = &raw->items[2 * p], *val = &raw->items[2 * p + 1];
        if (check_key_node(ctx, key))
            return -1;
        if (m->own_keys && equals_any(key->text, m->own_keys)) {
            const raw_node *first = find_raw_key(raw, key->text);
            if (first != key)
                return fail_duplicate_key(ctx, key, first);
            continue;
        }
        long k = find_key(m->table, key->text);
        if (k < 0)
            return fail_unknown_key(ctx, key, m);
        if (first_key[k])
            return fail_duplicate_key(ctx, key, first_key[k]);
        first_key[k] = key;
        char child[PATH_LEN];
        join_key(child, m->path, m->table[k].key);
        if (validate_value(ctx, val, &m->table[k], child, &items[k]))
            return -1;
    }
    return 0;
}

static int fill_missing_keys(load_ctx *ctx, const map_rules *m, const raw_node **first_key,
                             ycfg_value *items, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (first_key[k])
            continue;
        char child[PATH_LEN];
        join_key(child, m->path, m->table[k].key);
        require_sound_entry(&m->table[k], child);
        items[k].type   = m->table[k].type;
        items[k].schema = &m->table[k];
        if (fill_missing_key(ctx, &m->table[k], child, &items[k]))
            return -1;
    }
    return 0;
}

/* The n = count_keys(m->table) values of a written mapping into items:
 * those it writes, then the others from the sweep or defaults. */
int validate_keys(load_ctx *ctx, const raw_node *raw, const map_rules *m,
                         ycfg_value *items, size_t n)
{
    int saved_line = ctx->anchor_line, saved_col = ctx->anchor_col;
    if (!ctx->default_path) {
        ctx->anchor_line = raw->line;
        ctx->anchor_col  = raw->col;
    }
    const raw_node **first_key = calloc(n + 1, sizeof *first_key);
    int rc = first_key ? validate_map_keys(ctx, raw, m, first_key, items) : fail_oom(ctx);
    if (!rc)
        rc = fill_missing_keys(ctx, m, first_key, items, n);
    free(first_key);
    ctx->anchor_line = saved_line;
    ctx->anchor_col  = saved_col;
    return rc;
}

/* The root keys validated on their own, before the rest. */
static const char *const sweep_keys[] = { "sweep", "sweep_except", NULL };

/* At the root, the sweep keys are skipped: they were validated on their own. */
int validate_map(load_ctx *ctx, const raw_node *raw, const ycfg_schema *table,
                        const char *path, bool is_root, ycfg_value *out)
{
    if (raw->kind != RAW_MAP)
        return fail_type(ctx, raw, "a mapping", path,
                         raw_is_null(raw) ? " (write {} to take every default)" : NULL);
    map_rules m = { .table = table, .path = path, .own_keys = is_root ? sweep_keys : NULL };
    out->n = count_keys(table);
    out->items = arena_array(ctx->mem, out->n, sizeof *out->items);
    if (out->n && !out->items)
        return fail_oom(ctx);
    return validate_keys(ctx, raw, &m, out->items, out->n);
}

int validate_value(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                          const char *path, ycfg_value *out)
{
    require_sound_entry(sch, path);
    out->type   = sch->type;
    out->schema = sch;
    out->line   = ctx->default_path ? 0 : raw->line;
    out->col    = ctx->default_path ? 0 : raw->col;
    if (raw->kind == RAW_SCALAR && !(out->s = arena_strdup(ctx->mem, raw->text)))
        return fail_oom(ctx);
    if (ctx->depth >= MAX_DEPTH)
        return fail_at(ctx, raw->line, raw->col, "values are nested deeper than %d levels", MAX_DEPTH);
    ctx->depth++;
    int rc = -1;
    switch (sch->type) {
    case YCFG_LIST:   rc = validate_list(ctx, raw, sch, path, out);   break;
    case YCFG_MAP:    rc = validate_map(ctx, raw, sch->items, path, false, out); break;
    case YCFG_TAGGED: rc = validate_tagged(ctx, raw, sch, path, out); break;
    case YCFG_FLOAT:
        rc = sch->or_list && raw->kind == RAW_SEQ
             ? validate_number_list(ctx, raw, sch, path, out)
             : validate_scalar(ctx, raw, sch, path, out);
        break;
    default:          rc = validate_scalar(ctx, raw, sch, path, out); break;
    }
    ctx->depth--;
    return rc;
}
