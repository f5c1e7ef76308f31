/*
 * ids.c - a point's id: FNV-1a 64 of its id text, the canonical text of
 * its values with every key at its default left out (so that a key added
 * with a default changes no id), headed by the experiment name; and the
 * legacy id, of the full text, that the previous release gave.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_id_value(strbuf *sb, const ycfg *cfg, const ycfg_value *v);

/* A key with a default enters when its value differs from that default; a
 * key without one (required, or a tagged map's tag) always, but for a
 * mapping all of whose keys are at their defaults. Compared are id texts,
 * so "k: 3" written equals the default 3 and floats compare exactly.
 * Returns whether the key was written. */
static bool put_id_key(strbuf *sb, const ycfg *cfg, const ycfg_value *child, bool first)
{
    const ycfg_schema *e = child->schema;
    if (e->id_exempt || child->col == LEFT_TO_USER)
        return false;
    char *text = id_text_of(cfg, child);
    if (!text) {
        sb->failed = true;
        return false;
    }
    bool keep = e->def ? strcmp(text, declared_text(cfg, e)) != 0
                       : !(child->type == YCFG_MAP && strcmp(text, "{}") == 0);
    if (keep) {
        if (!first)
            sb_puts(sb, ", ");
        sb_puts(sb, e->key);
        sb_puts(sb, ": ");
        sb_puts(sb, text);
    }
    free(text);
    return keep;
}

/* The keys of a mapping that enter the id, but skip (NULL: none), after
 * those already written when some were. */
static void put_id_keys(strbuf *sb, const ycfg *cfg, const ycfg_value *map, const char *skip,
                        bool first)
{
    for (size_t k = 0; k < map->n; k++) {
        if (skip && strcmp(map->items[k].schema->key, skip) == 0)
            continue;
        if (put_id_key(sb, cfg, &map->items[k], first))
            first = false;
    }
}

/* List elements are never left out (that would move the others), but
 * inside each, keys at their defaults are. */
static void put_id_value(strbuf *sb, const ycfg *cfg, const ycfg_value *v)
{
    if (v->type == YCFG_LIST) {
        sb_putc(sb, '[');
        for (size_t k = 0; k < v->n; k++) {
            if (k)
                sb_puts(sb, ", ");
            put_id_value(sb, cfg, &v->items[k]);
        }
        sb_putc(sb, ']');
    } else if (is_mapping(v)) {
        sb_putc(sb, '{');
        put_id_keys(sb, cfg, v, NULL, true);
        sb_putc(sb, '}');
    } else {
        put_scalar(sb, v);
    }
}

char *id_text_of(const ycfg *cfg, const ycfg_value *v)
{
    strbuf sb = {0};
    put_id_value(&sb, cfg, v);
    return sb_take(&sb);
}

/* "{name: NAME, key: value, ...}": the point's root key "name" when the
 * schema has one (written even at its default), else the config's name;
 * then the other root keys as put_id_keys writes them. */
static char *point_id_text(const ycfg *cfg, const ycfg_point *pt)
{
    long k = find_key(cfg->root_entry.items, "name");
    bool own = k >= 0 && cfg->root_entry.items[k].type == YCFG_STRING;
    strbuf sb = {0};
    sb_puts(&sb, "{name: ");
    put_scalar(&sb, own ? &pt->root.items[k] : &(ycfg_value){ .type = YCFG_STRING,
                                                              .s = cfg->name });
    put_id_keys(&sb, cfg, &pt->root, own ? "name" : NULL, false);
    sb_putc(&sb, '}');
    return sb_take(&sb);
}

static int hash_into(char id[17], char *text)
{
    if (!text)
        return -1;
    snprintf(id, 17, "%016" PRIx64, fnv1a64(text));
    free(text);
    return 0;
}

int make_point_ids(const ycfg *cfg, ycfg_point *pt)
{
    strbuf legacy = {0};
    put_value(&legacy, &pt->root, true);
    if (hash_into(pt->legacy_id, sb_take(&legacy)))
        return -1;
    return hash_into(pt->id, point_id_text(cfg, pt));
}

char *ycfg_point_id_text(const ycfg *cfg, const ycfg_point *pt)
{
    return point_id_text(cfg, pt);
}
