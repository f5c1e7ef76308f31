/*
 * schema.c - a schema on its own: whether its entries can work (types with
 * what they need, tagged entries with sound variants), their keys, and the
 * whole check of ycfg_check_schema.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t count_keys(const ycfg_schema *table)
{
    size_t n = 0;
    while (table[n].key)
        n++;
    return n;
}

long find_key(const ycfg_schema *table, const char *key)
{
    for (long k = 0; table[k].key; k++)
        if (strcmp(table[k].key, key) == 0)
            return k;
    return -1;
}

const char *type_noun(ycfg_type t)
{
    static const char *const nouns[] = {
        [YCFG_INT] = "an integer", [YCFG_FLOAT] = "a number", [YCFG_BOOL] = "a boolean",
        [YCFG_STRING] = "a string", [YCFG_ENUM] = "a choice", [YCFG_LIST] = "a list",
        [YCFG_MAP] = "a mapping", [YCFG_TAGGED] = "a tagged mapping",
    };
    return (size_t)t < sizeof nouns / sizeof nouns[0] ? nouns[t] : "a value";
}

/* Why one variant of a TAGGED entry cannot be used, into why; false when
 * it is well formed. A variant's default could never be used (the tag
 * picks the variant, not the absence of a value), so it is refused. */
static bool variant_problem(const ycfg_schema *e, long k, char *why, size_t size)
{
    const ycfg_schema *v = &e->items[k];
    if (find_key(e->items, v->key) != k)
        snprintf(why, size, "has the variant '%s' twice", v->key);
    else if (v->type != YCFG_MAP)
        snprintf(why, size, "has a variant '%s' that is not a MAP", v->key);
    else if (!v->items)
        snprintf(why, size, "has a variant '%s' without a key table (items; "
                 "{ { NULL } } for none)", v->key);
    else if (find_key(v->items, e->tag) >= 0)
        snprintf(why, size, "has a variant '%s' that declares the tag key '%s' again",
                 v->key, e->tag);
    else if (v->def)
        snprintf(why, size, "has a variant '%s' with a default: variants take none", v->key);
    else
        return false;
    return true;
}

static bool tagged_problem(const ycfg_schema *e, char *why, size_t size)
{
    if (!e->tag || !*e->tag) {
        snprintf(why, size, "is TAGGED without a tag key (.tag)");
        return true;
    }
    if (!e->items || !e->items[0].key) {
        snprintf(why, size, "is TAGGED without variants (items)");
        return true;
    }
    for (long k = 0; e->items[k].key; k++)
        if (variant_problem(e, k, why, size))
            return true;
    return false;
}

/* Why a schema entry cannot be used, into why; false when it is well formed. */
bool schema_entry_problem(const ycfg_schema *e, char *why, size_t size)
{
    const char *fixed = "has an unknown type";
    switch (e->type) {
    case YCFG_ENUM:
        fixed = e->choices && e->choices[0] ? NULL : "is an ENUM without choices";
        break;
    case YCFG_LIST:
        fixed = e->items ? NULL : "is a LIST without an element schema (items)";
        break;
    case YCFG_MAP:
        fixed = e->items ? NULL : "is a MAP without a key table (items)";
        break;
    case YCFG_TAGGED:
        return tagged_problem(e, why, size);
    case YCFG_INT: case YCFG_FLOAT: case YCFG_BOOL: case YCFG_STRING:
        return false;
    }
    if (fixed)
        snprintf(why, size, "%s", fixed);
    return fixed != NULL;
}

void require_sound_entry(const ycfg_schema *e, const char *path)
{
    char why[256];
    if (schema_entry_problem(e, why, sizeof why))
        program_bug(path, why);
}

/* ======================================================== schema check */

static int check_table(load_ctx *ctx, const ycfg_schema *table, const char *path);

/* Each variant's key table, under a path that names the variant
 * ("layers[0](type: conv).k"): no value has that path, but the message
 * must say which of the variants' k is wrong. */
static int check_variants(load_ctx *ctx, const ycfg_schema *e, const char *path)
{
    for (const ycfg_schema *v = e->items; v->key; v++) {
        char child[PATH_LEN];
        mark_if_truncated(child, snprintf(child, PATH_LEN, "%s(%s: %s)", path, e->tag, v->key));
        if (check_table(ctx, v->items, child))
            return -1;
    }
    return 0;
}

static int check_entry(load_ctx *ctx, const ycfg_schema *e, const char *path)
{
    char why[256];
    if (schema_entry_problem(e, why, sizeof why))
        return fail_at(ctx, 0, 0, "'%s' %s", path, why);
    if (e->def) {
        ycfg_value v = {0};
        if (load_default(ctx, e, path, &v))
            return -1;
    }
    if (e->type == YCFG_MAP)
        return check_table(ctx, e->items, path);
    if (e->type == YCFG_TAGGED)
        return check_variants(ctx, e, path);
    if (e->type == YCFG_LIST) {
        char child[PATH_LEN];
        join_index(child, path, 0);
        return check_entry(ctx, &e->items[0], child);
    }
    return 0;
}

static int check_table(load_ctx *ctx, const ycfg_schema *table, const char *path)
{
    for (size_t k = 0; table[k].key; k++) {
        char child[PATH_LEN];
        join_key(child, path, table[k].key);
        if (find_key(table, table[k].key) != (long)k)
            return fail_at(ctx, 0, 0, "'%s' is declared twice", child);
        if (check_entry(ctx, &table[k], child))
            return -1;
    }
    return 0;
}

int ycfg_check_schema(const ycfg_schema *root, char *err, size_t errlen)
{
    arena mem = {0};
    load_ctx ctx = { .name = "schema", .err = err, .errlen = errlen, .mem = &mem,
                     .skip_required = true };
    int rc = 0;
    if (find_key(root, "sweep") >= 0)
        rc = fail_at(&ctx, 0, 0, "'sweep' is reserved for the sweep section");
    if (!rc && find_key(root, "sweep_except") >= 0)
        rc = fail_at(&ctx, 0, 0, "'sweep_except' is reserved for the points left out of the sweep");
    if (!rc)
        rc = check_table(&ctx, root, "");
    arena_free(&mem);
    return rc;
}

