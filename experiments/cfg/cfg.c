/*
 * config.c - strict YAML experiment configs and their sweeps (see config.h).
 *
 * Loading runs in three stages, each in its own section below:
 *   1. parse:    libyaml events -> a raw node tree that keeps every node's
 *                source mark (anchors, aliases, tags and extra documents are
 *                refused here, where the events still show them);
 *   2. validate: raw tree + schema -> ycfg_value tree, defaults filled.
 *                The sweep section is validated first, so that a swept key
 *                can stand in for a required one;
 *   3. expand:   one point per element of the cartesian product of the sweep
 *                lists, sharing the unchanged parts of the base tree, each
 *                with the FNV-1a hash of its canonical text as its id.
 * Everything a ycfg owns lives in one arena and is freed at once; the raw
 * tree lives in a second arena that is dropped when loading ends.
 */
#include "autoconfig.h"

#include "cfg/cfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

/* Deeper nesting than this is a mistake (or a hostile file), and recursion
 * over it must stay within the stack. */
#define MAX_DEPTH       64
/* A sweep that expands further than this is almost surely a typo. */
#define MAX_POINTS      1000000u
/* Longest dotted path ("bench.shapes[3]") kept for messages and matching. */
#define PATH_LEN        256
/* Longest key compared for "did you mean" (longer ones are not typos). */
#define SUGGEST_LEN     64

/* ================================================================ arena */

#define ARENA_BLOCK 16384

typedef struct arena_block arena_block;
struct arena_block {
    arena_block *next;
    size_t       used, cap;
    max_align_t  data[];
};

typedef struct {
    arena_block *head;
} arena;

/* Zeroed memory that lives until arena_free; NULL when out of memory. */
static void *arena_alloc(arena *a, size_t size)
{
    const size_t align = sizeof(max_align_t);
    size = size ? (size + align - 1) / align * align : align;
    arena_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap  = cap;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

static void *arena_array(arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return arena_alloc(a, n * size);
}

static char *arena_strndup(arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (p)
        memcpy(p, s, len);
    return p;
}

static char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

static void arena_free(arena *a)
{
    for (arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}

/* ======================================================= string builder */

typedef struct {
    char  *p;
    size_t len, cap;
    bool   failed;      /* an allocation failed: the text is incomplete */
} strbuf;

static void sb_putn(strbuf *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 64;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *p = realloc(sb->p, cap);
        if (!p) {
            sb->failed = true;
            return;
        }
        sb->p   = p;
        sb->cap = cap;
    }
    memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
}

static void sb_puts(strbuf *sb, const char *s) { sb_putn(sb, s, strlen(s)); }
static void sb_putc(strbuf *sb, char c)        { sb_putn(sb, &c, 1); }

static void sb_printf(strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *sb, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        sb->failed = true;          /* only ever used for numbers */
    else
        sb_putn(sb, buf, (size_t)n);
}

/* The finished text (caller frees), or NULL if building it ran out of memory. */
static char *sb_take(strbuf *sb)
{
    if (sb->failed || !sb->p) {
        free(sb->p);
        return sb->failed ? NULL : strdup("");
    }
    return sb->p;
}

/* ====================================================== small text tools */

static bool is_digit(char c)  { return c >= '0' && c <= '9'; }
static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static bool equals_any(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

/* Optimal string alignment distance: edits plus adjacent swaps, the usual
 * shape of a typo ("threads" -> "thraeds" is one edit, not two). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t prev2[SUGGEST_LEN + 1], prev[SUGGEST_LEN + 1], cur[SUGGEST_LEN + 1];
    if (la > SUGGEST_LEN || lb > SUGGEST_LEN)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        memcpy(prev2, prev, sizeof prev);
        memcpy(prev, cur, sizeof cur);
    }
    return prev[lb];
}

/* A candidate is close when a few edits (about one per four letters) turn
 * the typed word into it; farther candidates would be guesses, not help. */
static bool is_close(const char *typed, const char *candidate, size_t d)
{
    size_t longer = strlen(typed) > strlen(candidate) ? strlen(typed) : strlen(candidate);
    return d <= 1 + longer / 4 && d < strlen(candidate);
}

/* The closest key of a table to word, or NULL when none is close. */
static const char *closest_key(const ycfg_schema *table, const char *word)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (; table && table->key; table++) {
        size_t d = edit_distance(word, table->key);
        if (d < best_d && is_close(word, table->key, d)) {
            best   = table->key;
            best_d = d;
        }
    }
    return best;
}

static const char *closest_choice(const char *const *choices, const char *word)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (; choices && *choices; choices++) {
        size_t d = edit_distance(word, *choices);
        if (d < best_d && is_close(word, *choices, d)) {
            best   = *choices;
            best_d = d;
        }
    }
    return best;
}

/* ", did you mean 'near'?" or nothing when no candidate was close. */
static void suggest(char *buf, size_t size, const char *near)
{
    if (near)
        snprintf(buf, size, ", did you mean '%s'?", near);
    else
        buf[0] = '\0';
}

/* Where a key sits, for messages: "at the top level" or "in 'bench'". */
static void describe_level(char *buf, size_t size, const char *path)
{
    if (*path)
        snprintf(buf, size, "in '%s'", path);
    else
        snprintf(buf, size, "at the top level");
}

/* Shortest decimal text that reads back as the same double. */
static void format_double(char *buf, size_t size, double x)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* A double as a YAML float that YAML 1.1 and 1.2 readers both take for a
 * float: the mantissa always has a '.' ("2.0", "1.0e+06", "0.25"). */
static void format_float_yaml(char *buf, size_t size, double x)
{
    char tmp[40];
    format_double(tmp, sizeof tmp, x);
    char *exp = strchr(tmp, 'e');
    size_t mant = exp ? (size_t)(exp - tmp) : strlen(tmp);
    if (memchr(tmp, '.', mant))
        snprintf(buf, size, "%s", tmp);
    else
        snprintf(buf, size, "%.*s.0%s", (int)mant, tmp, exp ? exp : "");
}

/* A range bound for messages: integral values without exponent or ".0". */
static void format_bound(char *buf, size_t size, double x)
{
    if (x == floor(x) && fabs(x) < 1e15)
        snprintf(buf, size, "%.0f", x);
    else
        format_double(buf, size, x);
}

/* Whether a string can be written as a plain YAML scalar and read back as
 * the same string by any YAML reader (so not a number, bool or null look-alike). */
static bool is_plain_safe(const char *s)
{
    static const char *const reserved[] = {
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", NULL
    };
    if (!(is_letter(s[0]) || s[0] == '_' || s[0] == '/'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(is_letter(*p) || is_digit(*p) || strchr("_./-", *p)))
            return false;
    for (const char *const *w = reserved; *w; w++)
        if (strcasecmp(s, *w) == 0)
            return false;
    return true;
}

static void put_quoted(strbuf *sb, const char *s)
{
    sb_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  sb_puts(sb, "\\\""); break;
        case '\\': sb_puts(sb, "\\\\"); break;
        case '\n': sb_puts(sb, "\\n");  break;
        case '\t': sb_puts(sb, "\\t");  break;
        case '\r': sb_puts(sb, "\\r");  break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                sb_printf(sb, "\\x%02X", *p);
            else
                sb_putc(sb, (char)*p);
        }
    }
    sb_putc(sb, '"');
}

static void put_string(strbuf *sb, const char *s)
{
    if (is_plain_safe(s))
        sb_puts(sb, s);
    else
        put_quoted(sb, s);
}

/* ====================================================== canonical text */

/* The canonical flow text of a value: map keys in schema order, floats in
 * their shortest exact form, strings plain when unambiguous. It is what a
 * point's id hashes, so changing it changes every id. */
static void put_value(strbuf *sb, const ycfg_value *v, bool for_id)
{
    char num[48];
    switch (v->type) {
    case YCFG_INT:
        sb_printf(sb, "%lld", v->i);
        break;
    case YCFG_FLOAT:
        format_float_yaml(num, sizeof num, v->f);
        sb_puts(sb, num);
        break;
    case YCFG_BOOL:
        sb_puts(sb, v->i ? "true" : "false");
        break;
    case YCFG_STRING:
    case YCFG_ENUM:
        put_string(sb, v->s);
        break;
    case YCFG_LIST:
        sb_putc(sb, '[');
        for (size_t k = 0; k < v->n; k++) {
            if (k)
                sb_puts(sb, ", ");
            put_value(sb, &v->items[k], for_id);
        }
        sb_putc(sb, ']');
        break;
    case YCFG_MAP:
    case YCFG_TAGGED:         /* its tag is items[0]: written first */
        sb_putc(sb, '{');
        for (size_t k = 0, written = 0; k < v->n; k++) {
            if (for_id && v->items[k].schema->id_exempt)
                continue;
            if (written++)
                sb_puts(sb, ", ");
            sb_puts(sb, v->items[k].schema->key);
            sb_puts(sb, ": ");
            put_value(sb, &v->items[k], for_id);
        }
        sb_putc(sb, '}');
        break;
    }
}

char *ycfg_value_text(const ycfg_value *v)
{
    strbuf sb = {0};
    put_value(&sb, v, false);
    return sb_take(&sb);
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ================================================== loader state, errors */

typedef struct {
    const char          *path;      /* "bench.threads" */
    const ycfg_schema *schema;    /* the swept key */
    size_t               n;
    ycfg_value        *values;    /* n validated values, file order */
} sweep_axis;

typedef struct {
    const char *path, *text;
} default_entry;

struct ycfg_point {
    ycfg_value root;
    char         id[17];
};

struct ycfg {
    arena          mem;             /* owns everything below except defaults */
    const char    *path, *name;
    ycfg_schema  root_entry;      /* the root table as a MAP entry: base.schema */
    ycfg_value   base;            /* defaults filled, before substitution */
    sweep_axis    *axes;
    size_t         naxes;
    ycfg_point  *points;
    size_t         npoints;
    default_entry *defaults;        /* malloc'd: grows while recording */
    size_t         ndefaults, defaults_cap;
};

typedef struct {
    const char       *name;         /* file name in messages */
    char             *err;
    size_t            errlen;
    arena            *mem;          /* where values are allocated */
    const sweep_axis *axes;         /* known once the sweep is validated */
    size_t            naxes;
    int               depth;
    /* Where a missing key is reported: the nearest map written in the file. */
    int               anchor_line, anchor_col;
    /* Set while a schema default is loaded: its errors are the program's. */
    const char       *default_path, *default_text;
    /* Checking a schema alone: a required key inside a default map is the
     * user's to write, not a fault of the default. */
    bool              skip_required;
} load_ctx;

static void set_error(load_ctx *ctx, int line, int col, const char *msg)
{
    if (!ctx->err || !ctx->errlen)
        return;
    if (line > 0)
        snprintf(ctx->err, ctx->errlen, "%s:%d:%d: %s", ctx->name, line, col, msg);
    else
        snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->name, msg);
}

/* A problem with the file (or, while a default loads, with the program's
 * default text, reported where the default would have gone). Returns -1. */
static int fail_at(load_ctx *ctx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(load_ctx *ctx, int line, int col, const char *fmt, ...)
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

static int fail_oom(load_ctx *ctx)
{
    set_error(ctx, 0, 0, "out of memory");
    return -1;
}

/* The program handed over a schema or a request that cannot work. */
static _Noreturn void program_bug(const char *path, const char *what)
{
    fprintf(stderr, "ycfg: bug in the program: '%s' %s\n", path, what);
    abort();
}

static long find_key(const ycfg_schema *table, const char *key);

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
static bool schema_entry_problem(const ycfg_schema *e, char *why, size_t size)
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

static void require_sound_entry(const ycfg_schema *e, const char *path)
{
    char why[256];
    if (schema_entry_problem(e, why, sizeof why))
        program_bug(path, why);
}

/* ============================================================ raw tree */

typedef enum { RAW_SCALAR, RAW_SEQ, RAW_MAP } raw_kind;

typedef struct raw_node raw_node;
struct raw_node {
    raw_kind    kind;
    int         line, col;      /* 1-based */
    const char *text;           /* scalar */
    bool        quoted;         /* quoted or block scalar: always a string */
    size_t      n;              /* SEQ: items; MAP: key/value pairs */
    raw_node   *items;          /* SEQ: n nodes; MAP: 2n, key then value */
};

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

/* Parse YAML text into a raw tree allocated in mem. */
static int parse_text(load_ctx *ctx, arena *mem, const char *text, size_t len, raw_node **root)
{
    raw_reader r = { .ctx = ctx, .mem = mem, .text = text, .len = len };
    if (!yaml_parser_initialize(&r.parser))
        return fail_oom(ctx);
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    int rc = parse_stream(&r, root);
    yaml_parser_delete(&r.parser);
    return rc;
}

/* =========================================================== validation */

static bool raw_is_null(const raw_node *raw)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
    return raw->kind == RAW_SCALAR && !raw->quoted && equals_any(raw->text, nulls);
}

/* How a raw value reads in "got ..." (short, quoted as written). */
static void describe_raw(const raw_node *raw, char *buf, size_t size)
{
    if (raw->kind == RAW_SEQ)
        snprintf(buf, size, "a list");
    else if (raw->kind == RAW_MAP)
        snprintf(buf, size, "a mapping");
    else if (raw_is_null(raw))
        snprintf(buf, size, "an empty value");
    else if (raw->quoted)
        snprintf(buf, size, "the quoted string \"%.40s%s\"", raw->text,
                 strlen(raw->text) > 40 ? "..." : "");
    else
        snprintf(buf, size, "'%.40s%s'", raw->text, strlen(raw->text) > 40 ? "..." : "");
}

static int fail_type(load_ctx *ctx, const raw_node *raw, const char *expected,
                     const char *path, const char *hint)
{
    char got[96];
    describe_raw(raw, got, sizeof got);
    return fail_at(ctx, raw->line, raw->col, "expected %s for '%s', got %s%s",
                   expected, path, got, hint ? hint : "");
}

/* A path too long for the buffer still reads as one in messages. */
static void mark_if_truncated(char *buf, int n)
{
    if (n < 0 || n >= PATH_LEN)
        memcpy(buf + PATH_LEN - 4, "...", 4);
}

static void join_key(char *buf, const char *parent, const char *key)
{
    mark_if_truncated(buf, snprintf(buf, PATH_LEN, "%s%s%s", parent, *parent ? "." : "", key));
}

static void join_index(char *buf, const char *parent, size_t k)
{
    mark_if_truncated(buf, snprintf(buf, PATH_LEN, "%s[%zu]", parent, k));
}

/* min <= max turns the check on, but a schema that leaves both out gets
 * 0 and 0 from the initializer: that means "no range", not "only 0". */
static bool has_range(const ycfg_schema *sch)
{
    return sch->min <= sch->max && !(sch->min == 0 && sch->max == 0);
}

static int check_range(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                       const char *path, double x)
{
    if (!has_range(sch) || (x >= sch->min && x <= sch->max))
        return 0;
    char lo[40], hi[40];
    format_bound(lo, sizeof lo, sch->min);
    format_bound(hi, sizeof hi, sch->max);
    return fail_at(ctx, raw->line, raw->col, "'%s' must be in [%s, %s], got %s",
                   path, lo, hi, raw->text);
}

/* A plain scalar, or else a type error naming what was expected. */
static int require_plain_scalar(load_ctx *ctx, const raw_node *raw, const char *expected,
                                const char *path)
{
    if (raw->kind != RAW_SCALAR || raw_is_null(raw))
        return fail_type(ctx, raw, expected, path, NULL);
    if (raw->quoted)
        return fail_type(ctx, raw, expected, path, " (remove the quotes)");
    return 0;
}

/* [-+]?digits, decimal only: "012" is octal to YAML 1.1 readers, so a
 * leading zero is refused rather than read one way here and another there. */
static bool is_decimal_integer(const char *s, bool *leading_zero)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!is_digit(*s))
        return false;
    *leading_zero = s[0] == '0' && s[1] != '\0';
    for (; *s; s++)
        if (!is_digit(*s))
            return false;
    return true;
}

static int validate_int(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                        const char *path, ycfg_value *out)
{
    bool leading_zero = false;
    if (require_plain_scalar(ctx, raw, "an integer", path))
        return -1;
    if (!is_decimal_integer(raw->text, &leading_zero))
        return fail_type(ctx, raw, "an integer", path, NULL);
    if (leading_zero)
        return fail_at(ctx, raw->line, raw->col,
                       "'%s': write %s without leading zeros (YAML 1.1 reads them as octal)",
                       path, raw->text);
    errno = 0;
    out->i = strtoll(raw->text, NULL, 10);
    if (errno == ERANGE)
        return fail_at(ctx, raw->line, raw->col,
                       "'%s' must fit in a 64-bit integer, got %s", path, raw->text);
    return check_range(ctx, raw, sch, path, (double)out->i);
}

/* The YAML 1.2 core float syntax, minus .inf and .nan. */
static bool is_decimal_number(const char *s)
{
    bool digits = false;
    if (*s == '-' || *s == '+')
        s++;
    for (; is_digit(*s); s++)
        digits = true;
    if (*s == '.')
        for (s++; is_digit(*s); s++)
            digits = true;
    if (!digits)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        if (!is_digit(*s))
            return false;
        while (is_digit(*s))
            s++;
    }
    return *s == '\0';
}

static bool looks_non_finite(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (*s == '.')
        s++;
    return strcasecmp(s, "inf") == 0 || strcasecmp(s, "infinity") == 0
        || strcasecmp(s, "nan") == 0;
}

/* Infinities and NaN are refused: no setting needs them, and NaN would
 * make a config compare unequal to itself. */
static int validate_float(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                          const char *path, ycfg_value *out)
{
    if (require_plain_scalar(ctx, raw, "a number", path))
        return -1;
    if (looks_non_finite(raw->text))
        return fail_at(ctx, raw->line, raw->col, "'%s' must be a finite number, got %s",
                       path, raw->text);
    if (!is_decimal_number(raw->text))
        return fail_type(ctx, raw, "a number", path, NULL);
    out->f = strtod(raw->text, NULL);
    if (!isfinite(out->f))
        return fail_at(ctx, raw->line, raw->col, "'%s' is too large for a double: %s",
                       path, raw->text);
    return check_range(ctx, raw, sch, path, out->f);
}

/* Only the YAML 1.2 core spellings: yes/no/on/off are booleans in YAML 1.1
 * only, so a file using them would mean different things to different tools. */
static int validate_bool(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                         const char *path, ycfg_value *out)
{
    static const char *const yes[] = { "true", "True", "TRUE", NULL };
    static const char *const no[]  = { "false", "False", "FALSE", NULL };
    static const char *const yaml11[] = { "yes", "Yes", "YES", "no", "No", "NO", "on", "On",
                                          "ON", "off", "Off", "OFF", "y", "Y", "n", "N", NULL };
    if (require_plain_scalar(ctx, raw, "true or false", path))
        return -1;
    if (equals_any(raw->text, yes) || equals_any(raw->text, no)) {
        out->i = equals_any(raw->text, yes);
        return 0;
    }
    return fail_type(ctx, raw, "true or false", path,
                     equals_any(raw->text, yaml11) ? " (only true and false are booleans here)" : NULL);
}

static int validate_string(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                           const char *path, ycfg_value *out)
{
    if (raw->kind != RAW_SCALAR || raw_is_null(raw))
        return fail_type(ctx, raw, "a string", path,
                         raw_is_null(raw) ? " (write \"\" for an empty string)" : NULL);
    return 0;
}

static void list_choices(char *buf, size_t size, const char *const *choices)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *const *c = choices; *c && used < size; c++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", c == choices ? "" : ", ", *c);
}

static int validate_enum(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                         const char *path, ycfg_value *out)
{
    char choices[512], expected[540];
    list_choices(choices, sizeof choices, sch->choices);
    snprintf(expected, sizeof expected, "one of %s", choices);
    if (raw->kind != RAW_SCALAR || raw_is_null(raw))
        return fail_type(ctx, raw, expected, path, NULL);
    if (equals_any(raw->text, sch->choices))
        return 0;
    char hint[SUGGEST_LEN + 24];
    suggest(hint, sizeof hint, closest_choice(sch->choices, raw->text));
    return fail_at(ctx, raw->line, raw->col, "'%s' must be one of %s; got '%s'%s",
                   path, choices, raw->text, hint);
}

static int validate_value(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                          const char *path, ycfg_value *out);

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

static size_t count_keys(const ycfg_schema *table)
{
    size_t n = 0;
    while (table[n].key)
        n++;
    return n;
}

static long find_key(const ycfg_schema *table, const char *key)
{
    for (long k = 0; table[k].key; k++)
        if (strcmp(table[k].key, key) == 0)
            return k;
    return -1;
}

static const sweep_axis *find_axis(const sweep_axis *axes, size_t naxes, const char *path)
{
    for (size_t k = 0; k < naxes; k++)
        if (strcmp(axes[k].path, path) == 0)
            return &axes[k];
    return NULL;
}

static int copy_value(arena *mem, const ycfg_value *src, ycfg_value *dst);

/* Parse a schema default as YAML and validate it like a written value; its
 * values get line 0 ("not in the file"). */
static int load_default(load_ctx *ctx, const ycfg_schema *key, const char *path, ycfg_value *out)
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
    if (key->def)
        return load_default(ctx, key, path, out);
    if (ctx->skip_required)
        return 0;
    /* The user's omission even inside a default "{}": not the program's. */
    const char *saved = ctx->default_path;
    ctx->default_path = NULL;
    fail_at(ctx, ctx->anchor_line, ctx->anchor_col, "missing required key '%s'%s%s%s", path,
            key->help ? " (" : "", key->help ? key->help : "", key->help ? ")" : "");
    ctx->default_path = saved;
    return -1;
}

/* The key of a mapping pair as a name, or an error. */
static int check_key_node(load_ctx *ctx, const raw_node *key)
{
    if (key->kind != RAW_SCALAR)
        return fail_at(ctx, key->line, key->col, "a key must be a name, not %s",
                       key->kind == RAW_SEQ ? "a list" : "a mapping");
    if (raw_is_null(key))
        return fail_at(ctx, key->line, key->col, "empty key");
    return 0;
}

static const raw_node *find_raw_key(const raw_node *map, const char *key);

/* How a mapping is checked, besides its key table. */
typedef struct {
    const ycfg_schema *table;     /* the keys it may have */
    const char          *path;      /* its path, for messages and its children's */
    /* A key validated on its own (the root's `sweep`, a tagged map's tag):
     * skipped here but for duplicates, and offered by "did you mean". */
    const char          *own_key;
    const char          *variant;   /* a tagged map's "type: conv" for messages, or NULL */
} map_rules;

/* The keys of a table as "out, k, stride". */
static void list_keys(char *buf, size_t size, const ycfg_schema *table)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const ycfg_schema *e = table; e->key && used < size; e++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", e == table ? "" : ", ", e->key);
}

/* The closest key of the table, or the map's own key ("sweeps:" at the
 * root, "tpye:" in a tagged map), is suggested. In a tagged map without a
 * close key, the keys of its variant are listed instead: the key may well
 * belong to another variant. */
static int fail_unknown_key(load_ctx *ctx, const raw_node *key, const map_rules *m)
{
    char where[PATH_LEN + 8], note[SUGGEST_LEN * 2 + 8] = "", hint[600];
    const char *near = closest_key(m->table, key->text);
    if (m->own_key) {
        size_t d = edit_distance(key->text, m->own_key);
        if (is_close(key->text, m->own_key, d) && (!near || d < edit_distance(key->text, near)))
            near = m->own_key;
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

static int fail_duplicate_key(load_ctx *ctx, const raw_node *key, const raw_node *first)
{
    return fail_at(ctx, key->line, key->col,
                   "duplicate key '%s' (first written at line %d, column %d)",
                   key->text, first->line, first->col);
}

/* Validate the keys a mapping writes into items (one per key of m->table,
 * in table order), recording where each was first written. */
static int validate_map_keys(load_ctx *ctx, const raw_node *raw, const map_rules *m,
                             const raw_node **first_key, ycfg_value *items)
{
    const raw_node *first_own = NULL;
    for (size_t p = 0; p < raw->n; p++) {
        const raw_node *key = &raw->items[2 * p], *val = &raw->items[2 * p + 1];
        if (check_key_node(ctx, key))
            return -1;
        if (m->own_key && strcmp(key->text, m->own_key) == 0) {
            if (first_own)
                return fail_duplicate_key(ctx, key, first_own);
            first_own = key;
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
static int validate_keys(load_ctx *ctx, const raw_node *raw, const map_rules *m,
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

/* At the root, `sweep` is skipped: it was validated on its own. */
static int validate_map(load_ctx *ctx, const raw_node *raw, const ycfg_schema *table,
                        const char *path, bool is_root, ycfg_value *out)
{
    if (raw->kind != RAW_MAP)
        return fail_type(ctx, raw, "a mapping", path,
                         raw_is_null(raw) ? " (write {} to take every default)" : NULL);
    map_rules m = { .table = table, .path = path, .own_key = is_root ? "sweep" : NULL };
    out->n = count_keys(table);
    out->items = arena_array(ctx->mem, out->n, sizeof *out->items);
    if (out->n && !out->items)
        return fail_oom(ctx);
    return validate_keys(ctx, raw, &m, out->items, out->n);
}

/* ----------------------------------------------------- tagged mappings */

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
static int validate_tagged(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
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
    map_rules m = { .table = variant->items, .path = path, .own_key = sch->tag, .variant = note };
    size_t n = count_keys(variant->items);
    out->n = n + 1;
    out->items = arena_array(ctx->mem, n + 1, sizeof *out->items);
    if (!out->items)
        return fail_oom(ctx);
    out->items[0] = tag;
    return validate_keys(ctx, raw, &m, out->items + 1, n);
}

static int validate_value(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
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
    case YCFG_INT:    rc = validate_int(ctx, raw, sch, path, out);    break;
    case YCFG_FLOAT:  rc = validate_float(ctx, raw, sch, path, out);  break;
    case YCFG_BOOL:   rc = validate_bool(ctx, raw, sch, path, out);   break;
    case YCFG_STRING: rc = validate_string(ctx, raw, sch, path, out); break;
    case YCFG_ENUM:   rc = validate_enum(ctx, raw, sch, path, out);   break;
    case YCFG_LIST:   rc = validate_list(ctx, raw, sch, path, out);   break;
    case YCFG_MAP:    rc = validate_map(ctx, raw, sch->items, path, false, out); break;
    case YCFG_TAGGED: rc = validate_tagged(ctx, raw, sch, path, out); break;
    }
    ctx->depth--;
    return rc;
}

/* ================================================================ sweep */

static const char *type_noun(ycfg_type t)
{
    switch (t) {
    case YCFG_INT:    return "an integer";
    case YCFG_FLOAT:  return "a number";
    case YCFG_BOOL:   return "a boolean";
    case YCFG_STRING: return "a string";
    case YCFG_ENUM:   return "a choice";
    case YCFG_LIST:   return "a list";
    case YCFG_MAP:    return "a mapping";
    case YCFG_TAGGED: return "a tagged mapping";
    }
    return "a value";
}

/* The schema entry a dotted sweep path names, or an error at the path. */
static int resolve_sweep_path(load_ctx *ctx, const raw_node *key, const ycfg_schema *root,
                              const ycfg_schema **found)
{
    const char *path = key->text;
    const ycfg_schema *table = root, *entry = NULL;
    char walked[PATH_LEN] = "";
    for (const char *seg = path;; ) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        char name[PATH_LEN];
        if (len == 0 || len >= sizeof name)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' is malformed: write keys joined by dots, "
                           "like 'bench.threads'", path);
        memcpy(name, seg, len);
        name[len] = '\0';
        long k = find_key(table, name);
        if (k < 0) {
            char where[PATH_LEN + 8], hint[SUGGEST_LEN + 24];
            describe_level(where, sizeof where, walked);
            suggest(hint, sizeof hint, closest_key(table, name));
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' names no key: there is no '%s' %s%s",
                           path, name, where, hint);
        }
        entry = &table[k];
        char next[PATH_LEN];
        join_key(next, walked, entry->key);
        memcpy(walked, next, sizeof walked);
        require_sound_entry(entry, walked);
        if (entry->id_exempt)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' cannot be swept: '%s' says how results are "
                           "presented, not what runs", path, walked);
        if (!dot)
            break;
        if (entry->type == YCFG_LIST)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' goes into the list '%s': keys inside a list "
                           "cannot be swept (sweep the whole list '%s' instead)",
                           path, walked, walked);
        if (entry->type == YCFG_TAGGED)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' goes into the tagged mapping '%s': its keys depend "
                           "on its '%s' (sweep the whole '%s' instead)",
                           path, walked, entry->tag, walked);
        if (entry->type != YCFG_MAP)
            return fail_at(ctx, key->line, key->col,
                           "sweep path '%s' names no key: '%s' is %s, not a mapping",
                           path, walked, type_noun(entry->type));
        table = entry->items;
        seg = dot + 1;
    }
    *found = entry;
    return 0;
}

/* Two swept paths where one contains the other would both set one value. */
static int check_overlap(load_ctx *ctx, const sweep_axis *axes, size_t naxes, const raw_node *key)
{
    for (size_t k = 0; k < naxes; k++) {
        const char *a = axes[k].path, *b = key->text;
        size_t la = strlen(a), lb = strlen(b);
        const char *shorter = la < lb ? a : b, *longer = la < lb ? b : a;
        size_t ls = la < lb ? la : lb;
        if (la != lb && strncmp(shorter, longer, ls) == 0 && longer[ls] == '.')
            return fail_at(ctx, key->line, key->col,
                           "sweep paths '%s' and '%s' overlap: sweep one or the other", a, b);
    }
    return 0;
}

static int validate_axis(load_ctx *ctx, const raw_node *key, const raw_node *list,
                         const ycfg_schema *root, sweep_axis *axis)
{
    if (resolve_sweep_path(ctx, key, root, &axis->schema))
        return -1;
    if (list->kind != RAW_SEQ)
        return fail_type(ctx, list, "a list of values", key->text, " (a sweep needs [v1, v2, ...])");
    if (list->n == 0)
        return fail_at(ctx, list->line, list->col,
                       "the sweep list for '%s' is empty: give at least one value", key->text);
    axis->path = arena_strdup(ctx->mem, key->text);
    axis->values = arena_array(ctx->mem, list->n, sizeof *axis->values);
    if (!axis->path || !axis->values)
        return fail_oom(ctx);
    axis->n = list->n;
    for (size_t k = 0; k < list->n; k++)
        if (validate_value(ctx, &list->items[k], axis->schema, key->text, &axis->values[k]))
            return -1;
    return 0;
}

static int check_point_count(load_ctx *ctx, const raw_node *sweep, const sweep_axis *axes,
                             size_t naxes)
{
    size_t points = 1;
    for (size_t k = 0; k < naxes; k++) {
        if (points > MAX_POINTS / axes[k].n)
            return fail_at(ctx, sweep->line, sweep->col,
                           "the sweep expands to more than %u points", MAX_POINTS);
        points *= axes[k].n;
    }
    return 0;
}

static int validate_sweep(load_ctx *ctx, const raw_node *sweep, const ycfg_schema *root,
                          ycfg *cfg)
{
    if (sweep->kind != RAW_MAP)
        return fail_type(ctx, sweep, "a mapping of key paths to lists", "sweep",
                         " (like 'bench.threads: [1, 2, 4]')");
    if (sweep->n == 0)
        return fail_at(ctx, sweep->line, sweep->col,
                       "the sweep section is empty: remove it or add 'path: [values]'");
    cfg->axes = arena_array(&cfg->mem, sweep->n, sizeof *cfg->axes);
    if (!cfg->axes)
        return fail_oom(ctx);
    for (size_t p = 0; p < sweep->n; p++) {
        const raw_node *key = &sweep->items[2 * p];
        if (check_key_node(ctx, key))
            return -1;
        for (size_t q = 0; q < p; q++)
            if (strcmp(sweep->items[2 * q].text, key->text) == 0)
                return fail_duplicate_key(ctx, key, &sweep->items[2 * q]);
        if (check_overlap(ctx, cfg->axes, cfg->naxes, key)
            || validate_axis(ctx, key, &sweep->items[2 * p + 1], root, &cfg->axes[cfg->naxes]))
            return -1;
        cfg->naxes++;
    }
    return check_point_count(ctx, sweep, cfg->axes, cfg->naxes);
}

/* =============================================================== points */

/* Deep copy of a value tree into mem (strings are shared: never modified). */
static int copy_value(arena *mem, const ycfg_value *src, ycfg_value *dst)
{
    *dst = *src;
    if (!src->n)
        return 0;
    dst->items = arena_array(mem, src->n, sizeof *dst->items);
    if (!dst->items)
        return -1;
    for (size_t k = 0; k < src->n; k++)
        if (copy_value(mem, &src->items[k], &dst->items[k]))
            return -1;
    return 0;
}

static ycfg_value *map_child(const ycfg_value *map, const char *key, size_t keylen)
{
    if (map->type != YCFG_MAP && map->type != YCFG_TAGGED)
        return NULL;
    for (size_t k = 0; k < map->n; k++) {
        const char *name = map->items[k].schema->key;
        if (strlen(name) == keylen && strncmp(name, key, keylen) == 0)
            return &map->items[k];
    }
    return NULL;
}

/* Put v at path in a point's tree, copying the maps on the way (and only
 * those) so that the base tree and the other points stay as they were. */
static int substitute(arena *mem, ycfg_value *root, const char *path, const ycfg_value *v)
{
    ycfg_value *node = root;
    for (const char *seg = path;; ) {
        size_t len = strcspn(seg, ".");
        ycfg_value *items = arena_array(mem, node->n, sizeof *items);
        if (!items)
            return -1;
        memcpy(items, node->items, node->n * sizeof *items);
        node->items = items;
        node = map_child(node, seg, len);
        if (!node)
            program_bug(path, "was swept but is not in the value tree");
        if (!seg[len])
            break;
        seg += len + 1;
    }
    *node = *v;
    return 0;
}

static int make_point_id(ycfg_point *pt)
{
    strbuf sb = {0};
    put_value(&sb, &pt->root, true);
    char *text = sb_take(&sb);
    if (!text)
        return -1;
    snprintf(pt->id, sizeof pt->id, "%016llx", (unsigned long long)fnv1a64(text));
    free(text);
    return 0;
}

/* Point i of the product: the last axis varies fastest, the first slowest. */
static int build_point(ycfg *cfg, size_t i, ycfg_point *pt)
{
    pt->root = cfg->base;
    for (size_t k = cfg->naxes; k-- > 0; ) {
        const sweep_axis *axis = &cfg->axes[k];
        if (substitute(&cfg->mem, &pt->root, axis->path, &axis->values[i % axis->n]))
            return -1;
        i /= axis->n;
    }
    return make_point_id(pt);
}

static int expand_points(load_ctx *ctx, ycfg *cfg)
{
    cfg->npoints = 1;
    for (size_t k = 0; k < cfg->naxes; k++)
        cfg->npoints *= cfg->axes[k].n;
    cfg->points = arena_array(&cfg->mem, cfg->npoints, sizeof *cfg->points);
    if (!cfg->points)
        return fail_oom(ctx);
    for (size_t i = 0; i < cfg->npoints; i++)
        if (build_point(cfg, i, &cfg->points[i]))
            return fail_oom(ctx);
    return 0;
}

/* ============================================================= defaults */

static bool is_swept_or_under(const ycfg *cfg, const char *path)
{
    for (size_t k = 0; k < cfg->naxes; k++) {
        size_t len = strlen(cfg->axes[k].path);
        if (strncmp(path, cfg->axes[k].path, len) == 0 && (path[len] == '\0' || path[len] == '.'
                                                          || path[len] == '['))
            return true;
    }
    return false;
}

static int add_default(ycfg *cfg, const char *path, const ycfg_value *v)
{
    if (cfg->ndefaults == cfg->defaults_cap) {
        size_t cap = cfg->defaults_cap ? 2 * cfg->defaults_cap : 16;
        default_entry *d = realloc(cfg->defaults, cap * sizeof *d);
        if (!d)
            return -1;
        cfg->defaults = d;
        cfg->defaults_cap = cap;
    }
    char *text = ycfg_value_text(v);
    default_entry *e = &cfg->defaults[cfg->ndefaults];
    e->path = arena_strdup(&cfg->mem, path);
    e->text = text ? arena_strdup(&cfg->mem, text) : NULL;
    free(text);
    if (!e->path || !e->text)
        return -1;
    cfg->ndefaults++;
    return 0;
}

static bool is_mapping(const ycfg_value *v)
{
    return v->type == YCFG_MAP || v->type == YCFG_TAGGED;
}

static bool is_list_of_maps(const ycfg_value *v)
{
    return v->type == YCFG_LIST && (v->schema->items[0].type == YCFG_MAP
                                      || v->schema->items[0].type == YCFG_TAGGED);
}

/* Every value the file did not write, in schema order: mappings (tagged
 * ones too, their tag first) and written lists of mappings are entered
 * (their keys are listed one by one), any other value is listed whole.
 * Swept keys are not defaults, whatever the base tree holds. */
static int record_defaults(ycfg *cfg, const ycfg_value *v, const char *path)
{
    if (*path && is_swept_or_under(cfg, path))
        return 0;
    if (v->line == 0 && !is_mapping(v))
        return add_default(cfg, path, v);
    bool enter = is_mapping(v) || is_list_of_maps(v);
    for (size_t k = 0; k < v->n && enter; k++) {
        char child[PATH_LEN];
        if (is_mapping(v))
            join_key(child, path, v->items[k].schema->key);
        else
            join_index(child, path, k);
        if (record_defaults(cfg, &v->items[k], child))
            return -1;
    }
    return 0;
}

/* ============================================================== loading */

static const raw_node *find_raw_key(const raw_node *map, const char *key)
{
    for (size_t p = 0; p < map->n; p++)
        if (map->items[2 * p].kind == RAW_SCALAR && strcmp(map->items[2 * p].text, key) == 0)
            return &map->items[2 * p];
    return NULL;
}

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
    if (set_name(ctx, cfg, root))
        return -1;
    return expand_points(ctx, cfg);
}

static ycfg *load_text(const char *path, const char *text, size_t len,
                         const ycfg_schema *root, char *err, size_t errlen)
{
    if (find_key(root, "sweep") >= 0)
        program_bug("sweep", "is declared in the root schema, but it is reserved for the sweep section");
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
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f) || n == cap;     /* n == cap: realloc failed */
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
    arena_free(&cfg->mem);
    free(cfg);
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
    if (!rc)
        rc = check_table(&ctx, root, "");
    arena_free(&mem);
    return rc;
}

/* ============================================================== queries */

size_t ycfg_npoints(const ycfg *cfg) { return cfg->npoints; }
size_t ycfg_nswept(const ycfg *cfg)  { return cfg->naxes; }
size_t ycfg_ndefaults(const ycfg *cfg) { return cfg->ndefaults; }
const char *ycfg_path(const ycfg *cfg) { return cfg->path; }
const char *ycfg_name(const ycfg *cfg) { return cfg->name; }
const char *ycfg_point_id(const ycfg_point *pt) { return pt->id; }
const ycfg_value *ycfg_point_root(const ycfg_point *pt) { return &pt->root; }

static _Noreturn void index_bug(const char *what, size_t k, size_t n)
{
    fprintf(stderr, "ycfg: bug in the program: %s %zu of %zu\n", what, k, n);
    abort();
}

const ycfg_point *ycfg_point_at(const ycfg *cfg, size_t i)
{
    if (i >= cfg->npoints)
        index_bug("asked for point", i, cfg->npoints);
    return &cfg->points[i];
}

const char *ycfg_swept_path(const ycfg *cfg, size_t k)
{
    if (k >= cfg->naxes)
        index_bug("asked for swept path", k, cfg->naxes);
    return cfg->axes[k].path;
}

const char *ycfg_default_path(const ycfg *cfg, size_t k)
{
    if (k >= cfg->ndefaults)
        index_bug("asked for default", k, cfg->ndefaults);
    return cfg->defaults[k].path;
}

const char *ycfg_default_text(const ycfg *cfg, size_t k)
{
    if (k >= cfg->ndefaults)
        index_bug("asked for default", k, cfg->ndefaults);
    return cfg->defaults[k].text;
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

int ycfg_bool(const ycfg_point *pt, const char *path)
{
    return (int)get_typed(pt, path, YCFG_BOOL, YCFG_BOOL)->i;
}

const char *ycfg_str(const ycfg_point *pt, const char *path)
{
    return get_typed(pt, path, YCFG_STRING, YCFG_ENUM)->s;
}

/* ======================================================= resolved output */

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
    if (write_map(cfg, out, &cfg->base, "", 0, false) || write_sweep(cfg, out))
        return -1;
    return ferror(out) ? -1 : 0;
}
