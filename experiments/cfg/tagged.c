/*
 * tagged.c - validating a tagged mapping: its tag first (an ENUM of the
 * variant names), then the keys of the variant it names.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <stdio.h>
#include <string.h>

/* The tag of a tagged map as an ENUM entry whose choices are the variant
 * names, so that its value is checked (and reads, and prints) as an ENUM. */
static const ycfg_schema *make_tag_entry(arena *mem, const ycfg_schema *sch)
{
    size_t n = count_keys(sch->items);
    const char **names = arena_array(mem, n + 1, sizeof *names);
    ycfg_schema *e = arena_alloc(mem, sizeof *e);
    if (!names || !e)
        return NULL;
    for (size_t k = 0; k < n; k++)
        names[k] = sch->items[k].key;
    *e = (ycfg_schema){ .key = sch->tag, .type = YCFG_ENUM, .choices = names,
                          .help = sch->help };
    return e;
}

static bool is_variant_key(const ycfg_schema *sch, const char *key)
{
    for (const ycfg_schema *v = sch->items; v->key; v++)
        if (find_key(v->items, key) >= 0)
            return true;
    return false;
}

/* A tagged map without its tag: a key close to the tag's name that no
 * variant knows is taken for the tag misspelt; else the tag is missing. */
static int fail_missing_tag(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                            const char *path, const ycfg_schema *tag_entry)
{
    char where[PATH_LEN + 8], choices[512], tag_path[PATH_LEN];
    for (size_t p = 0; p < raw->n; p++) {
        const raw_node *key = &raw->items[2 * p];
        if (key->kind != RAW_SCALAR || raw_is_null(key) || is_variant_key(sch, key->text)
            || !is_close(key->text, sch->tag, edit_distance(key->text, sch->tag)))
            continue;
        describe_level(where, sizeof where, path);
        return fail_at(ctx, key->line, key->col, "unknown key '%s' %s, did you mean '%s'?",
                       key->text, where, sch->tag);
    }
    list_choices(choices, sizeof choices, tag_entry->choices);
    join_key(tag_path, path, sch->tag);
    return fail_at(ctx, raw->line, raw->col, "missing required key '%s' (one of %s)",
                   tag_path, choices);
}

/* "conv" where {type: conv} belongs is a likely slip: say how to write it. */
static int fail_not_tagged_map(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                               const char *path)
{
    char hint[2 * SUGGEST_LEN + 24] = "";
    if (raw->kind == RAW_SCALAR && find_key(sch->items, raw->text) >= 0)
        snprintf(hint, sizeof hint, " (write {%s: %s})", sch->tag, raw->text);
    else if (raw_is_null(raw))
        snprintf(hint, sizeof hint, " (write {%s: ...})", sch->tag);
    return fail_type(ctx, raw, "a mapping", path, hint);
}

/* The tag first (it picks the key table), then the chosen variant's keys,
 * the tag skipped; out->items[0] is the tag, then the variant's keys. */
int validate_tagged(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                           const char *path, ycfg_value *out)
{
    if (raw->kind != RAW_MAP)
        return fail_not_tagged_map(ctx, raw, sch, path);
    const ycfg_schema *tag_entry = make_tag_entry(ctx->mem, sch);
    if (!tag_entry)
        return fail_oom(ctx);
    const raw_node *tag_key = find_raw_key(raw, sch->tag);
    if (!tag_key)
        return fail_missing_tag(ctx, raw, sch, path, tag_entry);
    ycfg_value tag = {0};
    char tag_path[PATH_LEN], note[2 * SUGGEST_LEN + 8];
    join_key(tag_path, path, sch->tag);
    if (validate_value(ctx, tag_key + 1, tag_entry, tag_path, &tag))
        return -1;
    const ycfg_schema *variant = &sch->items[find_key(sch->items, tag.s)];
    snprintf(note, sizeof note, "%.*s: %.*s", SUGGEST_LEN, sch->tag, SUGGEST_LEN, variant->key);
    const char *const own_keys[] = { sch->tag, NULL };
    map_rules m = { .table = variant->items, .path = path, .own_keys = own_keys,
                    .variant = note };
    size_t n = count_keys(variant->items);
    out->n = n + 1;
    out->items = arena_array(ctx->mem, n + 1, sizeof *out->items);
    if (!out->items)
        return fail_oom(ctx);
    out->items[0] = tag;
    return validate_keys(ctx, raw, &m, out->items + 1, n);
}
