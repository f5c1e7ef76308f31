/*
 * except.c - the `sweep_except:` section: points left out of the sweep's
 * cartesian product. Each entry maps sweep paths to values of those axes;
 * a point is dropped when, for every path of some entry, its value is one
 * of those listed. The entries are read right after the sweep (their paths
 * and values checked as the sweep's are); their values are matched to the
 * axis values once the declared defaults give id texts to compare.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The axis a sweep_except path names, or an error naming the closest. */
static int find_except_axis(load_ctx *ctx, const ycfg *cfg, const raw_node *key, size_t *axis)
{
    for (size_t k = 0; k < cfg->naxes; k++)
        if (strcmp(cfg->axes[k].path, key->text) == 0) {
            *axis = k;
            return 0;
        }
    const char **paths = arena_array(ctx->mem, cfg->naxes + 1, sizeof *paths);
    if (!paths)
        return fail_oom(ctx);
    for (size_t k = 0; k < cfg->naxes; k++)
        paths[k] = cfg->axes[k].path;
    char hint[SUGGEST_LEN + 24];
    suggest(hint, sizeof hint, closest_choice(paths, key->text));
    return fail_at(ctx, key->line, key->col,
                   "sweep_except path '%s' is not a path of the sweep%s", key->text, hint);
}

/* One path of an entry and its values: a list, or one value standing for a
 * one-element list (so a swept list value is always written inside a list). */
static int validate_term(load_ctx *ctx, const ycfg *cfg, const raw_node *key,
                         const raw_node *list, except_term *term)
{
    if (find_except_axis(ctx, cfg, key, &term->axis))
        return -1;
    const sweep_axis *axis = &cfg->axes[term->axis];
    bool one = list->kind != RAW_SEQ;
    if (!one && list->n == 0)
        return fail_at(ctx, list->line, list->col,
                       "the sweep_except list for '%s' is empty: give at least one value",
                       key->text);
    term->n = one ? 1 : list->n;
    term->values = arena_array(ctx->mem, term->n, sizeof *term->values);
    term->listed = arena_array(ctx->mem, axis->n, sizeof *term->listed);
    if (!term->values || !term->listed)
        return fail_oom(ctx);
    for (size_t k = 0; k < term->n; k++)
        if (validate_value(ctx, one ? list : &list->items[k], axis->schema, axis->path,
                           &term->values[k]))
            return -1;
    return 0;
}

static int validate_entry(load_ctx *ctx, const ycfg *cfg, const raw_node *raw, size_t index,
                          except_entry *entry)
{
    if (raw->kind != RAW_MAP)
        return fail_type(ctx, raw, "a mapping of sweep paths to values", "sweep_except",
                         " (like '{train.seed: [3, 4]}')");
    if (raw->n == 0)
        return fail_at(ctx, raw->line, raw->col,
                       "sweep_except entry %zu is empty: give 'path: [values]'", index + 1);
    entry->terms = arena_array(ctx->mem, raw->n, sizeof *entry->terms);
    if (!entry->terms)
        return fail_oom(ctx);
    for (size_t p = 0; p < raw->n; p++) {
        const raw_node *key = &raw->items[2 * p];
        if (check_unique_key(ctx, raw, p))
            return -1;
        if (validate_term(ctx, cfg, key, &raw->items[2 * p + 1], &entry->terms[p]))
            return -1;
        entry->nterms++;
    }
    return 0;
}

int validate_sweep_except(load_ctx *ctx, const raw_node *key, const raw_node *list, ycfg *cfg)
{
    if (!cfg->naxes)
        return fail_at(ctx, key->line, key->col,
                       "sweep_except drops points of the sweep, but there is no sweep section");
    if (list->kind != RAW_SEQ)
        return fail_type(ctx, list, "a list of entries", "sweep_except",
                         " (like '- {model.head: [gem, lse], train.seed: [3, 4]}')");
    if (list->n == 0)
        return fail_at(ctx, list->line, list->col,
                       "the sweep_except list is empty: remove it or add an entry");
    cfg->excepts = arena_array(ctx->mem, list->n, sizeof *cfg->excepts);
    if (!cfg->excepts)
        return fail_oom(ctx);
    cfg->except_line = key->line;
    cfg->except_col = key->col;
    for (size_t k = 0; k < list->n; k++) {
        if (validate_entry(ctx, cfg, &list->items[k], k, &cfg->excepts[k]))
            return -1;
        cfg->nexcepts++;
    }
    return 0;
}

/* "0, 1, 2" of an axis, for the message (caller frees; NULL out of memory). */
static char *axis_values_text(const sweep_axis *axis)
{
    strbuf sb = {0};
    for (size_t k = 0; k < axis->n; k++) {
        char *text = ycfg_value_text(&axis->values[k]);
        if (!text)
            sb.failed = true;
        else
            sb_printf(&sb, "%s%s", k ? ", " : "", text);
        free(text);
    }
    return sb_take(&sb);
}

static int fail_not_swept(load_ctx *ctx, const sweep_axis *axis, const ycfg_value *v)
{
    char *text = ycfg_value_text(v), *values = axis_values_text(axis);
    int rc = text && values
        ? fail_at(ctx, v->line, v->col, "sweep_except lists %s for '%s', which sweeps only %s",
                  text, axis->path, values)
        : fail_oom(ctx);
    free(text);
    free(values);
    return rc;
}

/* Which value of its axis v is, compared by id text as the sweep's own
 * values are (so 1e-3 matches 0.001): its index, or axis->n. */
static size_t match_value(const ycfg *cfg, const sweep_axis *axis, const ycfg_value *v,
                          bool *no_memory)
{
    char *mine = id_text_of(cfg, v);
    size_t k = 0;
    for (; mine && k < axis->n; k++) {
        char *theirs = id_text_of(cfg, &axis->values[k]);
        bool same = theirs && strcmp(mine, theirs) == 0;
        *no_memory |= !theirs;
        free(theirs);
        if (same)
            break;
    }
    *no_memory |= !mine;
    free(mine);
    return k;
}

int match_except_values(load_ctx *ctx, ycfg *cfg)
{
    for (size_t e = 0; e < cfg->nexcepts; e++)
        for (size_t t = 0; t < cfg->excepts[e].nterms; t++) {
            except_term *term = &cfg->excepts[e].terms[t];
            const sweep_axis *axis = &cfg->axes[term->axis];
            for (size_t k = 0; k < term->n; k++) {
                bool no_memory = false;
                size_t at = match_value(cfg, axis, &term->values[k], &no_memory);
                if (no_memory)
                    return fail_oom(ctx);
                if (at == axis->n)
                    return fail_not_swept(ctx, axis, &term->values[k]);
                term->listed[at] = true;
            }
        }
    return 0;
}

/* Index i of the product as its value index on each axis (the last axis
 * varies fastest), into at[naxes]. */
static void product_indices(const ycfg *cfg, size_t i, size_t *at)
{
    for (size_t k = cfg->naxes; k-- > 0; ) {
        at[k] = i % cfg->axes[k].n;
        i /= cfg->axes[k].n;
    }
}

bool except_drops(const ycfg *cfg, size_t i, size_t *scratch)
{
    product_indices(cfg, i, scratch);
    for (size_t e = 0; e < cfg->nexcepts; e++) {
        const except_entry *entry = &cfg->excepts[e];
        size_t t = 0;
        while (t < entry->nterms && entry->terms[t].listed[scratch[entry->terms[t].axis]])
            t++;
        if (t == entry->nterms)
            return true;
    }
    return false;
}

size_t ycfg_ndropped(const ycfg *cfg) { return cfg->ndropped; }

const ycfg_point *ycfg_dropped_at(const ycfg *cfg, size_t k)
{
    return &cfg->dropped[checked_index("dropped point", k, cfg->ndropped)];
}

/* Each entry as one flow mapping, its values in canonical form in the
 * order written: reloading drops the same points. */
int write_sweep_except(const ycfg *cfg, FILE *out)
{
    if (!cfg->nexcepts)
        return 0;
    fputs("sweep_except:\n", out);
    for (size_t e = 0; e < cfg->nexcepts; e++) {
        const except_entry *entry = &cfg->excepts[e];
        fputs("  - {", out);
        for (size_t t = 0; t < entry->nterms; t++) {
            fprintf(out, "%s%s: [", t ? ", " : "", cfg->axes[entry->terms[t].axis].path);
            for (size_t k = 0; k < entry->terms[t].n; k++) {
                char *text = ycfg_value_text(&entry->terms[t].values[k]);
                if (!text)
                    return -1;
                fprintf(out, "%s%s", k ? ", " : "", text);
                free(text);
            }
            fputc(']', out);
        }
        fputs("}\n", out);
    }
    return 0;
}
