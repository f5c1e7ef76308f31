/*
 * ids.c - the id section of an experiment manifest: written by every
 * manifest of gpool run, merge and rerun, read back (with libyaml) by
 * --resume, merge, rerun, table and migrate (see ids.h).
 */
#include "autoconfig.h"

#include "records/ids.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void gpx_ids_write(FILE *fp, const ycfg *cfg)
{
    size_t n = ycfg_schema_ndefaults(cfg);
    fputs("# run ids hash the experiment name and the values that differ from these defaults\n",
          fp);
    fprintf(fp, "id_scheme: %s\ndefaults_digest: %s\n", GPX_ID_SCHEME, ycfg_defaults_digest(cfg));
    fputs(n ? "defaults:\n" : "defaults: {}\n", fp);
    for (size_t k = 0; k < n; k++) {
        fprintf(fp, "  %s: ", ycfg_schema_default_path(cfg, k));
        gpx_yaml_string(fp, ycfg_schema_default_text(cfg, k));
        fputc('\n', fp);
    }
}

void gpx_ids_free(gpx_id_record *rec)
{
    for (size_t k = 0; k < rec->ndefaults; k++) {
        free(rec->path[k]);
        free(rec->text[k]);
    }
    free(rec->path);
    free(rec->text);
    memset(rec, 0, sizeof *rec);
}

/* A scalar node's text, or NULL for any other node. */
static const char *scalar(yaml_document_t *doc, int id)
{
    yaml_node_t *node = yaml_document_get_node(doc, id);
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* The pairs of a `defaults:` mapping (scalar keys and values). 0, or -1. */
static int read_defaults(yaml_document_t *doc, yaml_node_t *map, gpx_id_record *rec)
{
    if (map->type != YAML_MAPPING_NODE)
        return -1;
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    rec->path = calloc(n + 1, sizeof *rec->path);
    rec->text = calloc(n + 1, sizeof *rec->text);
    if (!rec->path || !rec->text)
        return -1;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *key = scalar(doc, p->key), *value = scalar(doc, p->value);
        if (!key || !value)
            return -1;
        rec->path[rec->ndefaults] = strdup(key);
        rec->text[rec->ndefaults] = strdup(value);
        if (!rec->path[rec->ndefaults++] || !rec->text[rec->ndefaults - 1])
            return -1;
    }
    return 0;
}

/* id_scheme, defaults_digest and defaults among the root keys. 0, or -1
 * (a malformed id section). */
static int read_id_keys(yaml_document_t *doc, gpx_id_record *rec)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return -1;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *key = scalar(doc, p->key);
        const char *value = scalar(doc, p->value);
        if (!key)
            continue;
        if (!strcmp(key, "id_scheme") && value)
            snprintf(rec->scheme, sizeof rec->scheme, "%s", value);
        else if (!strcmp(key, "defaults_digest") && value)
            snprintf(rec->digest, sizeof rec->digest, "%s", value);
        else if (!strcmp(key, "defaults") &&
                 read_defaults(doc, yaml_document_get_node(doc, p->value), rec))
            return -1;
    }
    return 0;
}

/* Parse path into rec; 0, or -1 with err. */
static int parse_manifest(FILE *fp, const char *path, gpx_id_record *rec, char *err,
                          size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "not YAML");
    } else {
        rc = read_id_keys(&doc, rec);
        if (rc)
            snprintf(err, errlen, "%s: its id section (id_scheme, defaults) is malformed", path);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int gpx_ids_read(const char *dir, gpx_id_record *rec, char *err, size_t errlen)
{
    char path[4200];
    memset(rec, 0, sizeof *rec);
    if (gpx_join(path, sizeof path, dir, "manifest.yaml")) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    rec->have_manifest = 1;
    int rc = parse_manifest(fp, path, rec, err, errlen);
    fclose(fp);
    if (rc)
        gpx_ids_free(rec);
    return rc;
}

int gpx_ids_check_current(const char *dir, char *err, size_t errlen)
{
    gpx_id_record rec;
    if (gpx_ids_read(dir, &rec, err, errlen))
        return -1;
    int old = rec.have_manifest && strcmp(rec.scheme, GPX_ID_SCHEME) != 0;
    if (old && !rec.scheme[0])
        snprintf(err, errlen,
                 "%s: its run ids are those of an earlier gpool (its manifest.yaml has no "
                 "id_scheme); run `gpool migrate %s` first",
                 dir, dir);
    else if (old)
        snprintf(err, errlen, "%s: its run ids are of the scheme '%s', which this gpool does "
                              "not know (it makes '%s')",
                 dir, rec.scheme, GPX_ID_SCHEME);
    gpx_ids_free(&rec);
    return old ? -1 : 0;
}

/* The current default text of a generic path, or NULL when the schema
 * declares none there. */
static const char *default_now(const ycfg *cfg, const char *path)
{
    for (size_t k = 0; k < ycfg_schema_ndefaults(cfg); k++)
        if (!strcmp(ycfg_schema_default_path(cfg, k), path))
            return ycfg_schema_default_text(cfg, k);
    return NULL;
}

int gpx_ids_check_defaults(const gpx_id_record *rec, const ycfg *cfg, const char *dir,
                           char *err, size_t errlen)
{
    /* the lists, not the digests, are compared: a digest also changes when a
     * key is added, which changes no meaning */
    for (size_t k = 0; k < rec->ndefaults; k++) {
        const char *now = default_now(cfg, rec->path[k]);
        if (!now || !strcmp(now, rec->text[k]) || ycfg_relies_on_default(cfg, rec->path[k]) != 1)
            continue;
        snprintf(err, errlen,
                 "%s was written when %s defaulted to %s; it defaults to %s now, and %s "
                 "leaves it to its default: its runs would mix the two meanings under one "
                 "run id (write the new results elsewhere: --out DIR)",
                 dir, rec->path[k], rec->text[k], now, ycfg_path(cfg));
        return -1;
    }
    return 0;
}
