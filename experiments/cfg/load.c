/*
 * load.c - the entry points: a config from a file or a string, through the
 * reader, the sweep (and what it leaves out) and the validation of the base tree, to the defaults
 * and the points; and freeing it.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_root(load_ctx *ctx, const raw_node *raw)
{
    if (!raw || raw_is_null(raw))
        return fail_at(ctx, 1, 1, "the config is empty: expected a mapping of settings "
                                  "('key: value' lines)");
    if (raw->kind != RAW_MAP) {
        char got[96];
        describe_raw(raw, got, sizeof got);
        return fail_at(ctx, raw->line, raw->col,
                       "the top level must be a mapping of settings ('key: value' lines), got %s", got);
    }
    return 0;
}

/* "configs/kernels.yaml" -> "kernels" */
static const char *base_name(arena *mem, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return arena_strndup(mem, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

static int set_name(load_ctx *ctx, ycfg *cfg, const ycfg_schema *root)
{
    long k = find_key(root, "name");
    if (k >= 0 && root[k].type == YCFG_STRING)
        cfg->name = cfg->base.items[k].s;
    else
        cfg->name = base_name(&cfg->mem, cfg->path);
    return cfg->name ? 0 : fail_oom(ctx);
}

static int load_tree(load_ctx *ctx, ycfg *cfg, const raw_node *raw, const ycfg_schema *root)
{
    const raw_node *sweep_key = find_raw_key(raw, "sweep");
    if (sweep_key && validate_sweep(ctx, sweep_key + 1, root, cfg))
        return -1;
    const raw_node *except_key = find_raw_key(raw, "sweep_except");
    if (except_key && validate_sweep_except(ctx, except_key, except_key + 1, cfg))
        return -1;
    ctx->axes  = cfg->axes;
    ctx->naxes = cfg->naxes;
    cfg->root_entry = (ycfg_schema){ .key = "", .type = YCFG_MAP, .items = root };
    cfg->base.type   = YCFG_MAP;
    cfg->base.schema = &cfg->root_entry;
    cfg->base.line   = raw->line;
    cfg->base.col    = raw->col;
    if (validate_map(ctx, raw, root, "", true, &cfg->base))
        return -1;
    if (record_defaults(cfg, &cfg->base, ""))
        return fail_oom(ctx);
    if (set_name(ctx, cfg, root) || declare_defaults(ctx, cfg))
        return -1;
    return expand_points(ctx, cfg);
}

static ycfg *load_text(const char *path, const char *text, size_t len,
                         const ycfg_schema *root, char *err, size_t errlen)
{
    if (find_key(root, "sweep") >= 0)
        program_bug("sweep", "is declared in the root schema, but it is reserved for the sweep section");
    if (find_key(root, "sweep_except") >= 0)
        program_bug("sweep_except", "is declared in the root schema, but it is reserved for the "
                    "points left out of the sweep");
    /* Parsing costs far more memory and time than the text (a 10 MB file
     * took 10 s and 750 MB): no real config comes near the limit. */
    if (len > YCFG_MAX_BYTES) {
        if (err && errlen)
            snprintf(err, errlen, "%s: the config is larger than %d bytes (1 MiB), the most "
                     "a config may be", path, YCFG_MAX_BYTES);
        return NULL;
    }
    ycfg *cfg = calloc(1, sizeof *cfg);
    load_ctx ctx = { .name = path, .err = err, .errlen = errlen };
    if (!cfg) {
        fail_oom(&ctx);
        return NULL;
    }
    ctx.mem = &cfg->mem;
    arena raw_mem = {0};
    raw_node *raw = NULL;
    cfg->path = arena_strdup(&cfg->mem, path);
    int rc = cfg->path ? 0 : fail_oom(&ctx);
    if (!rc)
        rc = parse_text(&ctx, &raw_mem, text, len, &raw);
    if (!rc)
        rc = check_root(&ctx, raw);
    if (!rc)
        rc = load_tree(&ctx, cfg, raw, root);
    arena_free(&raw_mem);
    if (rc) {
        ycfg_free(cfg);
        return NULL;
    }
    return cfg;
}

/* The whole file in a malloc'd buffer; NULL and errno on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int no_memory = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                no_memory = 1;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0 || n > YCFG_MAX_BYTES)   /* enough to refuse it */
            break;
    }
    int failed = ferror(f) || no_memory;
    int saved = failed && errno ? errno : ENOMEM;
    fclose(f);
    if (failed) {
        free(buf);
        errno = saved;
        return NULL;
    }
    *len = n;
    return buf;
}

ycfg *ycfg_load(const char *path, const ycfg_schema *root, char *err, size_t errlen)
{
    size_t len = 0;
    errno = 0;
    char *text = read_file(path, &len);
    if (!text) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    ycfg *cfg = load_text(path, text, len, root, err, errlen);
    free(text);
    return cfg;
}

ycfg *ycfg_load_string(const char *name, const char *yaml, const ycfg_schema *root,
                           char *err, size_t errlen)
{
    return load_text(name, yaml, strlen(yaml), root, err, errlen);
}

void ycfg_free(ycfg *cfg)
{
    if (!cfg)
        return;
    free(cfg->defaults);
    free(cfg->declared);
    arena_free(&cfg->mem);
    free(cfg);
}
