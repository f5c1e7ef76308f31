/*
 * text.c - the config engine's memory and text: the arena every value lives
 * in, a growing string, the helpers of error messages ("did you mean"),
 * paths, and the canonical flow text of a value.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARENA_BLOCK 16384

/* ================================================================ arena */

struct arena_block {
    arena_block *next;
    size_t       used, cap;
    max_align_t  data[];
};

void *arena_alloc(arena *a, size_t size)
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

void *arena_array(arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return arena_alloc(a, n * size);
}

char *arena_strndup(arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (p)
        memcpy(p, s, len);
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

void arena_free(arena *a)
{
    for (arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}

int grow_vector(void **vec, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? 2 * *cap : 16;
    if (ncap > SIZE_MAX / size)
        return -1;
    void *p = realloc(*vec, ncap * size);
    if (!p)
        return -1;
    *vec = p;
    *cap = ncap;
    return 0;
}

/* ======================================================= string builder */

void sb_putn(strbuf *sb, const char *s, size_t n)
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

void sb_puts(strbuf *sb, const char *s) { sb_putn(sb, s, strlen(s)); }
void sb_putc(strbuf *sb, char c)        { sb_putn(sb, &c, 1); }

void sb_printf(strbuf *sb, const char *fmt, ...)
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

char *sb_take(strbuf *sb)
{
    if (sb->failed || !sb->p) {
        free(sb->p);
        return sb->failed ? NULL : strdup("");
    }
    return sb->p;
}

/* ====================================================== small text tools */

bool is_digit(char c)  { return c >= '0' && c <= '9'; }
static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool equals_any(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

/* Optimal string alignment distance: edits plus adjacent swaps, the usual
 * shape of a typo ("threads" -> "thraeds" is one edit, not two). */
size_t edit_distance(const char *a, const char *b)
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
bool is_close(const char *typed, const char *candidate, size_t d)
{
    size_t longer = strlen(typed) > strlen(candidate) ? strlen(typed) : strlen(candidate);
    return d <= 1 + longer / 4 && d < strlen(candidate);
}

/* The closest key of a table to word, or NULL when none is close. */
const char *closest_key(const ycfg_schema *table, const char *word)
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

const char *closest_choice(const char *const *choices, const char *word)
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
void suggest(char *buf, size_t size, const char *near)
{
    if (near)
        snprintf(buf, size, ", did you mean '%s'?", near);
    else
        buf[0] = '\0';
}

/* Where a key sits, for messages: "at the top level" or "in 'bench'". */
void describe_level(char *buf, size_t size, const char *path)
{
    if (*path)
        snprintf(buf, size, "in '%s'", path);
    else
        snprintf(buf, size, "at the top level");
}

void list_choices(char *buf, size_t size, const char *const *choices)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *const *c = choices; *c && used < size; c++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", c == choices ? "" : ", ", *c);
}

/* The keys of a table as "out, k, stride". */
void list_keys(char *buf, size_t size, const ycfg_schema *table)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const ycfg_schema *e = table; e->key && used < size; e++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", e == table ? "" : ", ", e->key);
}

/* A path too long for the buffer still reads as one in messages. */
void mark_if_truncated(char *buf, int n)
{
    if (n < 0 || n >= PATH_LEN)
        memcpy(buf + PATH_LEN - 4, "...", 4);
}

void join_key(char *buf, const char *parent, const char *key)
{
    mark_if_truncated(buf, snprintf(buf, PATH_LEN, "%s%s%s", parent, *parent ? "." : "", key));
}

void join_index(char *buf, const char *parent, size_t k)
{
    mark_if_truncated(buf, snprintf(buf, PATH_LEN, "%s[%zu]", parent, k));
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
void format_bound(char *buf, size_t size, double x)
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

bool is_mapping(const ycfg_value *v)
{
    return v->type == YCFG_MAP || v->type == YCFG_TAGGED;
}

bool is_list_of_maps(const ycfg_value *v)
{
    /* an or_list number's list has a FLOAT schema, without items */
    return v->type == YCFG_LIST && v->schema->type == YCFG_LIST
           && (v->schema->items[0].type == YCFG_MAP
               || v->schema->items[0].type == YCFG_TAGGED);
}


void put_scalar(strbuf *sb, const ycfg_value *v)
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
    case YCFG_LIST: case YCFG_MAP: case YCFG_TAGGED:
        program_bug(v->schema->key ? v->schema->key : "", "is no scalar");
    }
}

/* The canonical flow text of a value: map keys in schema order (a tagged
 * map's tag is items[0], so it comes first), floats in their shortest exact
 * form, strings plain when unambiguous. The previous release's ids hashed
 * it, so changing it changes every legacy id; for those, keys that are
 * id_exempt or that the file left to their defaults stay out (for_id). */
void put_value(strbuf *sb, const ycfg_value *v, bool for_id)
{
    if (v->type == YCFG_LIST) {
        sb_putc(sb, '[');
        for (size_t k = 0; k < v->n; k++) {
            if (k)
                sb_puts(sb, ", ");
            put_value(sb, &v->items[k], for_id);
        }
        sb_putc(sb, ']');
    } else if (is_mapping(v)) {
        sb_putc(sb, '{');
        for (size_t k = 0, written = 0; k < v->n; k++) {
            if (for_id && (v->items[k].schema->id_exempt || v->items[k].from_default))
                continue;
            if (written++)
                sb_puts(sb, ", ");
            sb_puts(sb, v->items[k].schema->key);
            sb_puts(sb, ": ");
            put_value(sb, &v->items[k], for_id);
        }
        sb_putc(sb, '}');
    } else {
        put_scalar(sb, v);
    }
}

char *ycfg_value_text(const ycfg_value *v)
{
    strbuf sb = {0};
    put_value(&sb, v, false);
    return sb_take(&sb);
}

uint64_t fnv1a64_more(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t fnv1a64(const char *s)
{
    return fnv1a64_more(FNV1A64_OFFSET, s);
}
