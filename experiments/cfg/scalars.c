/*
 * scalars.c - checking one written scalar against its schema entry: strict
 * integers, finite decimal numbers, YAML 1.2 booleans, strings and choices,
 * with ranges; and how a raw value is described in "got ..." messages.
 */
#include "autoconfig.h"

#include "cfg/cfg_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool raw_is_null(const raw_node *raw)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
    return raw->kind == RAW_SCALAR && !raw->quoted && equals_any(raw->text, nulls);
}

/* How a raw value reads in "got ..." (short, quoted as written). */
void describe_raw(const raw_node *raw, char *buf, size_t size)
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

int fail_type(load_ctx *ctx, const raw_node *raw, const char *expected,
                     const char *path, const char *hint)
{
    char got[96];
    describe_raw(raw, got, sizeof got);
    return fail_at(ctx, raw->line, raw->col, "expected %s for '%s', got %s%s",
                   expected, path, got, hint ? hint : "");
}

/* min <= max turns the check on, but a schema that leaves both out gets
 * 0 and 0 from the initializer: that means "no range", not "only 0". */
bool has_range(const ycfg_schema *sch)
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
    const char *expected = sch->or_list ? "a number or a list of numbers" : "a number";
    if (require_plain_scalar(ctx, raw, expected, path))
        return -1;
    if (looks_non_finite(raw->text))
        return fail_at(ctx, raw->line, raw->col, "'%s' must be a finite number, got %s",
                       path, raw->text);
    if (!is_decimal_number(raw->text))
        return fail_type(ctx, raw, expected, path, NULL);
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
    const char *why = sch->check ? sch->check(raw->text) : NULL;
    if (why)
        return fail_at(ctx, raw->line, raw->col, "'%s' %s", path, why);
    return 0;
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

int validate_scalar(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                    const char *path, ycfg_value *out)
{
    switch (sch->type) {
    case YCFG_INT:    return validate_int(ctx, raw, sch, path, out);
    case YCFG_FLOAT:  return validate_float(ctx, raw, sch, path, out);
    case YCFG_BOOL:   return validate_bool(ctx, raw, sch, path, out);
    case YCFG_STRING: return validate_string(ctx, raw, sch, path, out);
    case YCFG_ENUM:   return validate_enum(ctx, raw, sch, path, out);
    case YCFG_LIST: case YCFG_MAP: case YCFG_TAGGED:
        break;
    }
    program_bug(path, "is no scalar");
}
