/*
 * access.c - reading a loaded config: its points, ids, swept paths and
 * values by dotted path (its defaults: defaults.c). Asking for what is not
 * there is the program's bug: it aborts with the path or index.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <stdio.h>
#include <string.h>

size_t ycfg_npoints(const ycfg *cfg) { return cfg->npoints; }
size_t ycfg_nswept(const ycfg *cfg)  { return cfg->naxes; }
const char *ycfg_path(const ycfg *cfg) { return cfg->path; }
const char *ycfg_name(const ycfg *cfg) { return cfg->name; }
const char *ycfg_point_id(const ycfg_point *pt) { return pt->id; }
const char *ycfg_point_legacy_id(const ycfg_point *pt) { return pt->legacy_id; }
const ycfg_value *ycfg_point_root(const ycfg_point *pt) { return &pt->root; }

const ycfg_point *ycfg_point_at(const ycfg *cfg, size_t i)
{
    return &cfg->points[checked_index("point", i, cfg->npoints)];
}

const char *ycfg_swept_path(const ycfg *cfg, size_t k)
{
    return cfg->axes[checked_index("swept path", k, cfg->naxes)].path;
}

const ycfg_value *ycfg_value_get(const ycfg_value *map, const char *path)
{
    const ycfg_value *node = map;
    for (const char *seg = path;; ) {
        size_t len = strcspn(seg, ".");
        node = len ? map_child(node, seg, len) : NULL;
        if (!node)
            program_bug(path, "is not a key of the config schema");
        if (!seg[len])
            return node;
        seg += len + 1;
    }
}

const ycfg_value *ycfg_get(const ycfg_point *pt, const char *path)
{
    return ycfg_value_get(&pt->root, path);
}

static const ycfg_value *get_typed(const ycfg_point *pt, const char *path, ycfg_type t1,
                                     ycfg_type t2)
{
    const ycfg_value *v = ycfg_get(pt, path);
    if (v->type != t1 && v->type != t2) {
        char what[64];
        snprintf(what, sizeof what, "is %s, asked for as %s", type_noun(v->type), type_noun(t1));
        program_bug(path, what);
    }
    return v;
}

long long ycfg_int(const ycfg_point *pt, const char *path)
{
    return get_typed(pt, path, YCFG_INT, YCFG_INT)->i;
}

double ycfg_float(const ycfg_point *pt, const char *path)
{
    return get_typed(pt, path, YCFG_FLOAT, YCFG_FLOAT)->f;
}

size_t ycfg_floats(const ycfg_point *pt, const char *path, double *out, size_t max)
{
    const ycfg_value *v = ycfg_get(pt, path);
    if (!v->schema->or_list || v->schema->type != YCFG_FLOAT)
        program_bug(path, "is no number-or-list (or_list FLOAT)");
    if (v->type == YCFG_FLOAT) {
        if (max > 0)
            out[0] = v->f;
        return 1;
    }
    for (size_t k = 0; k < v->n && k < max; k++)
        out[k] = v->items[k].f;
    return v->n;
}

int ycfg_bool(const ycfg_point *pt, const char *path)
{
    return (int)get_typed(pt, path, YCFG_BOOL, YCFG_BOOL)->i;
}

const char *ycfg_str(const ycfg_point *pt, const char *path)
{
    return get_typed(pt, path, YCFG_STRING, YCFG_ENUM)->s;
}

/* The index of ENUM value v (at path, for the message) in its choices. */
static int enum_index(const ycfg_value *v, const char *path)
{
    for (int i = 0; v->schema->choices[i]; i++)
        if (!strcmp(v->s, v->schema->choices[i]))
            return i;
    program_bug(path, "holds a value that is not among its choices");
}

int ycfg_enum(const ycfg_point *pt, const char *path)
{
    return enum_index(get_typed(pt, path, YCFG_ENUM, YCFG_ENUM), path);
}

int ycfg_value_enum(const ycfg_value *v)
{
    const char *what = v->schema && v->schema->key ? v->schema->key : "a list item";
    if (v->type != YCFG_ENUM)
        program_bug(what, "is not an ENUM");
    return enum_index(v, what);
}
