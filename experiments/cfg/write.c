/*
 * write.c - the resolved config as YAML: block style for mappings and
 * written lists of maps, each value the file left out on a line of its own
 * marked "# default", swept keys marked "# swept", then the sweep section
 * and sweep_except (except.c).
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <stdio.h>
#include <stdlib.h>

static void write_indent(FILE *out, int indent)
{
    fprintf(out, "%*s", indent, "");
}

static int write_flow(FILE *out, const ycfg_value *v)
{
    char *text = ycfg_value_text(v);
    if (!text)
        return -1;
    fputs(text, out);
    free(text);
    return 0;
}

static void write_note(const ycfg *cfg, FILE *out, const ycfg_value *v, bool swept)
{
    if (swept)
        fputs("  # swept", out);
    else if (v->line == 0 && !is_mapping(v))
        fputs("  # default", out);
}

static int write_map(const ycfg *cfg, FILE *out, const ycfg_value *map, const char *path,
                     int indent, bool list_item);

/* A written list of maps in block style, one "- key: value" block per map. */
static int write_list_of_maps(const ycfg *cfg, FILE *out, const ycfg_value *list,
                              const char *path, int indent)
{
    for (size_t k = 0; k < list->n; k++) {
        char child[PATH_LEN];
        join_index(child, path, k);
        if (list->items[k].n == 0) {
            write_indent(out, indent);
            fputs("- {}\n", out);
        } else if (write_map(cfg, out, &list->items[k], child, indent + 2, true)) {
            return -1;
        }
    }
    return 0;
}

/* Block style for mappings and written lists of maps, so that every value
 * the file left out has a line of its own for its "# default" note; flow
 * style for everything else. The defaults noted are those ycfg_defaults
 * lists (record_defaults walks the same way). */
static int write_map(const ycfg *cfg, FILE *out, const ycfg_value *map, const char *path,
                     int indent, bool list_item)
{
    for (size_t k = 0; k < map->n; k++) {
        const ycfg_value *v = &map->items[k];
        char child[PATH_LEN];
        join_key(child, path, v->schema->key);
        bool swept = find_axis(cfg->axes, cfg->naxes, child) != NULL;
        write_indent(out, k == 0 && list_item ? indent - 2 : indent);
        fprintf(out, "%s%s:", k == 0 && list_item ? "- " : "", v->schema->key);
        int rc = 0;
        if (!swept && is_mapping(v) && v->n > 0) {
            fputc('\n', out);
            rc = write_map(cfg, out, v, child, indent + 2, false);
        } else if (!swept && is_list_of_maps(v) && v->n > 0 && v->line != 0) {
            fputc('\n', out);
            rc = write_list_of_maps(cfg, out, v, child, indent + 2);
        } else {
            fputc(' ', out);
            rc = write_flow(out, v);
            write_note(cfg, out, v, swept);
            fputc('\n', out);
        }
        if (rc)
            return -1;
    }
    return 0;
}

static int write_sweep(const ycfg *cfg, FILE *out)
{
    if (!cfg->naxes)
        return 0;
    fputs("sweep:\n", out);
    for (size_t k = 0; k < cfg->naxes; k++) {
        const sweep_axis *axis = &cfg->axes[k];
        fprintf(out, "  %s: [", axis->path);
        for (size_t j = 0; j < axis->n; j++) {
            if (j)
                fputs(", ", out);
            if (write_flow(out, &axis->values[j]))
                return -1;
        }
        fputs("]\n", out);
    }
    return 0;
}

int ycfg_write_resolved(const ycfg *cfg, FILE *out)
{
    fprintf(out, "# %s, resolved from %s: %zu point%s\n", cfg->name, cfg->path,
            cfg->npoints, cfg->npoints == 1 ? "" : "s");
    if (write_map(cfg, out, &cfg->base, "", 0, false) || write_sweep(cfg, out) ||
        write_sweep_except(cfg, out))
        return -1;
    return ferror(out) ? -1 : 0;
}
