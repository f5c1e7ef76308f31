/*
 * reader.c - YAML text to a raw node tree through libyaml's event parser,
 * every node with its line and column; and how loading reports errors.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* ============================================================== errors */

static void set_error(load_ctx *ctx, int line, int col, const char *msg)
{
    if (!ctx->err || !ctx->errlen)
        return;
    if (line > 0)
        snprintf(ctx->err, ctx->errlen, "%s:%d:%d: %s", ctx->name, line, col, msg);
    else
        snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->name, msg);
}

/* While a default loads, the error is the program's, reported where the
 * default would have gone. */
int fail_at(load_ctx *ctx, int line, int col, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ctx->default_path) {
        char wrapped[1400];
        snprintf(wrapped, sizeof wrapped, "the program's default for '%s' (%s) is invalid: %s",
                 ctx->default_path, ctx->default_text, msg);
        set_error(ctx, ctx->anchor_line, ctx->anchor_col, wrapped);
    } else {
        set_error(ctx, line, col, msg);
    }
    return -1;
}

int fail_oom(load_ctx *ctx)
{
    set_error(ctx, 0, 0, "out of memory");
    return -1;
}

_Noreturn void program_bug(const char *path, const char *what)
{
    fprintf(stderr, "ycfg: bug in the program: '%s' %s\n", path, what);
    abort();
}

size_t checked_index(const char *what, size_t k, size_t n)
{
    if (k < n)
        return k;
    fprintf(stderr, "ycfg: bug in the program: asked for %s %zu of %zu\n", what, k, n);
    abort();
}

/* ============================================================ raw tree */

typedef struct {
    load_ctx     *ctx;
    yaml_parser_t parser;
    arena        *mem;          /* where raw nodes go */
    const char   *text;
    size_t        len;
} raw_reader;

/* 1-based line and column of a byte offset (libyaml gives only the offset
 * for encoding errors). */
static void offset_to_mark(const char *text, size_t len, size_t offset, int *line, int *col)
{
    *line = 1;
    *col  = 1;
    for (size_t k = 0; k < offset && k < len; k++) {
        if (text[k] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[k] & 0xc0) != 0x80) {
            ++*col;
        }
    }
}

static int fail_syntax(raw_reader *r)
{
    yaml_parser_t *p = &r->parser;
    int line, col;
    if (p->error == YAML_MEMORY_ERROR)
        return fail_oom(r->ctx);
    if (p->error == YAML_READER_ERROR) {
        offset_to_mark(r->text, r->len, p->problem_offset, &line, &col);
        if (p->problem_value != -1)
            return fail_at(r->ctx, line, col, "YAML syntax error: %s (byte 0x%02X)",
                           p->problem, (unsigned)p->problem_value & 0xff);
        return fail_at(r->ctx, line, col, "YAML syntax error: %s", p->problem);
    }
    line = (int)p->problem_mark.line + 1;
    col  = (int)p->problem_mark.column + 1;
    if (p->context)
        return fail_at(r->ctx, line, col, "YAML syntax error: %s (%s at line %d, column %d)",
                       p->problem ? p->problem : "invalid YAML", p->context,
                       (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return fail_at(r->ctx, line, col, "YAML syntax error: %s",
                   p->problem ? p->problem : "invalid YAML");
}

static int next_event(raw_reader *r, yaml_event_t *ev)
{
    return yaml_parser_parse(&r->parser, ev) ? 0 : fail_syntax(r);
}

static int event_line(const yaml_event_t *ev) { return (int)ev->start_mark.line + 1; }
static int event_col (const yaml_event_t *ev) { return (int)ev->start_mark.column + 1; }

/* Anchors, aliases and tags are refused: they would make a value's meaning
 * depend on text elsewhere (or on YAML type rules), and results would no
 * longer say plainly what ran. */
static int refuse_anchor_and_tag(raw_reader *r, const yaml_event_t *ev,
                                 const yaml_char_t *anchor, const yaml_char_t *tag)
{
    static const char core[] = "tag:yaml.org,2002:";
    if (anchor)
        return fail_at(r->ctx, event_line(ev), event_col(ev),
                       "anchors (&%s) are not supported: write the value out in full",
                       (const char *)anchor);
    if (tag) {
        const char *t = (const char *)tag;
        bool short_form = strncmp(t, core, sizeof core - 1) == 0;
        return fail_at(r->ctx, event_line(ev), event_col(ev),
                       "tags (%s%s) are not supported: remove the tag "
                       "(quote a value to make it a string)",
                       short_form ? "!!" : "", short_form ? t + sizeof core - 1 : t);
    }
    return 0;
}

static int parse_node(raw_reader *r, yaml_event_t *ev, int depth, raw_node *out);

/* The children of a sequence or mapping up to its end event, into out->items. */
static int parse_children(raw_reader *r, yaml_event_type_t end, int depth, raw_node *out)
{
    raw_node *vec = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if ((rc = next_event(r, &ev)))
            break;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            raw_node *nv = realloc(vec, ncap * sizeof *nv);
            if (!nv) {
                yaml_event_delete(&ev);
                rc = fail_oom(r->ctx);
                break;
            }
            vec = nv;
            cap = ncap;
        }
        if ((rc = parse_node(r, &ev, depth + 1, &vec[n])))
            break;
        n++;
    }
    if (!rc && n) {
        out->items = arena_array(r->mem, n, sizeof *vec);
        if (!out->items)
            rc = fail_oom(r->ctx);
        else
            memcpy(out->items, vec, n * sizeof *vec);
    }
    out->n = out->kind == RAW_MAP ? n / 2 : n;
    free(vec);
    return rc;
}

static int parse_scalar(raw_reader *r, const yaml_event_t *ev, raw_node *out)
{
    out->kind   = RAW_SCALAR;
    out->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    out->text   = arena_strndup(r->mem, (const char *)ev->data.scalar.value,
                                ev->data.scalar.length);
    if (!out->text)
        return fail_oom(r->ctx);
    if (strlen(out->text) != ev->data.scalar.length)
        return fail_at(r->ctx, out->line, out->col, "a NUL character inside a value is not supported");
    return refuse_anchor_and_tag(r, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
}

/* Build the node that ev starts (ev is consumed). */
static int parse_node(raw_reader *r, yaml_event_t *ev, int depth, raw_node *out)
{
    int rc;
    memset(out, 0, sizeof *out);
    out->line = event_line(ev);
    out->col  = event_col(ev);
    if (depth > MAX_DEPTH) {
        rc = fail_at(r->ctx, out->line, out->col, "values are nested deeper than %d levels", MAX_DEPTH);
    } else if (ev->type == YAML_SCALAR_EVENT) {
        rc = parse_scalar(r, ev, out);
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        out->kind = RAW_SEQ;
        rc = refuse_anchor_and_tag(r, ev, ev->data.sequence_start.anchor, ev->data.sequence_start.tag);
        if (!rc)
            rc = parse_children(r, YAML_SEQUENCE_END_EVENT, depth, out);
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        out->kind = RAW_MAP;
        rc = refuse_anchor_and_tag(r, ev, ev->data.mapping_start.anchor, ev->data.mapping_start.tag);
        if (!rc)
            rc = parse_children(r, YAML_MAPPING_END_EVENT, depth, out);
    } else if (ev->type == YAML_ALIAS_EVENT) {
        rc = fail_at(r->ctx, out->line, out->col,
                     "aliases (*%s) are not supported: write the value out in full",
                     (const char *)ev->data.alias.anchor);
    } else {
        rc = fail_at(r->ctx, out->line, out->col, "YAML syntax error: unexpected event");
    }
    yaml_event_delete(ev);
    return rc;
}

/* Read one event and check that it is the expected one. */
static int expect_event(raw_reader *r, yaml_event_type_t type)
{
    yaml_event_t ev;
    if (next_event(r, &ev))
        return -1;
    bool ok = ev.type == type;
    yaml_event_delete(&ev);
    return ok ? 0 : fail_at(r->ctx, 0, 0, "YAML syntax error: unexpected event");
}

/* The one document of the stream into *root; *root = NULL when the stream
 * has no document at all (an empty file, or only comments). */
static int parse_stream(raw_reader *r, raw_node **root)
{
    yaml_event_t ev;
    *root = NULL;
    if (expect_event(r, YAML_STREAM_START_EVENT) || next_event(r, &ev))
        return -1;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0;
    }
    yaml_event_delete(&ev);                 /* DOCUMENT_START */
    raw_node *node = arena_alloc(r->mem, sizeof *node);
    if (!node)
        return fail_oom(r->ctx);
    if (next_event(r, &ev) || parse_node(r, &ev, 0, node) || expect_event(r, YAML_DOCUMENT_END_EVENT)
        || next_event(r, &ev))
        return -1;
    bool second_document = ev.type == YAML_DOCUMENT_START_EVENT;
    int line = event_line(&ev), col = event_col(&ev);
    yaml_event_delete(&ev);
    if (second_document)
        return fail_at(r->ctx, line, col,
                       "a second YAML document starts here: a config is one document");
    *root = node;
    return 0;
}

int parse_text(load_ctx *ctx, arena *mem, const char *text, size_t len, raw_node **root)
{
    raw_reader r = { .ctx = ctx, .mem = mem, .text = text, .len = len };
    if (!yaml_parser_initialize(&r.parser))
        return fail_oom(ctx);
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    int rc = parse_stream(&r, root);
    yaml_parser_delete(&r.parser);
    return rc;
}
