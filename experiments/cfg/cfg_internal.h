/*
 * cfg_internal.h - what the files of the config engine share (not for its
 * users: they read cfg/cfg.h).
 *
 * Loading runs in three stages:
 *   1. read:     libyaml events -> a raw node tree that keeps every node's
 *                source mark (reader.c; anchors, aliases, tags and extra
 *                documents are refused there, where the events still show them);
 *   2. validate: raw tree + schema -> ycfg_value tree, defaults filled
 *                (scalars.c, validate.c, tagged.c). The sweep section is
 *                validated first (sweep.c), so that a swept key can stand in
 *                for a required one;
 *   3. expand:   one point per element of the cartesian product of the sweep
 *                lists, sharing the unchanged parts of the base tree (sweep.c),
 *                each with its id (ids.c); the points `sweep_except:` names
 *                are set aside (except.c, read right after the sweep).
 * Everything a ycfg owns lives in one arena and is freed at once; the raw
 * tree lives in a second arena that is dropped when loading ends. text.c
 * holds the arena, the string builder and the canonical text; schema.c the
 * checks of a schema on its own; defaults.c the defaults used and declared;
 * write.c the resolved output; load.c the entry points and accessors.
 */
#ifndef GPOOL_EXPERIMENTS_CFG_INTERNAL_H
#define GPOOL_EXPERIMENTS_CFG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg/cfg.h"

/* Deeper nesting than this is a mistake (or a hostile file), and recursion
 * over it must stay within the stack. */
#define MAX_DEPTH       64
/* A sweep that expands further than this is almost surely a typo. */
#define MAX_POINTS      1000000u
/* Longest dotted path ("bench.shapes[3]") kept for messages and matching. */
#define PATH_LEN        256
/* Longest key compared for "did you mean" (longer ones are not typos). */
#define SUGGEST_LEN     64
/* A required key that a schema default leaves to the user, while defaults
 * are loaded on their own (schema checks, declared defaults): its value has
 * this column and no content, and is never part of a loaded config. */
#define LEFT_TO_USER    (-1)

/* ------------------------------------------------------ arena (text.c) */

typedef struct arena_block arena_block;
typedef struct {
    arena_block *head;
} arena;

/* Zeroed memory that lives until arena_free; NULL when out of memory. */
void *arena_alloc  (arena *a, size_t size);
void *arena_array  (arena *a, size_t n, size_t size);
char *arena_strndup(arena *a, const char *s, size_t len);
char *arena_strdup (arena *a, const char *s);
void  arena_free   (arena *a);

/* Make room for n + 1 elements of size in a malloc'd vector; 0 or -1. */
int   grow_vector  (void **vec, size_t *cap, size_t n, size_t size);

/* ---------------------------------------------- string builder (text.c) */

typedef struct {
    char  *p;
    size_t len, cap;
    bool   failed;      /* an allocation failed: the text is incomplete */
} strbuf;

void  sb_putn  (strbuf *sb, const char *s, size_t n);
void  sb_puts  (strbuf *sb, const char *s);
void  sb_putc  (strbuf *sb, char c);
void  sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The finished text (caller frees), or NULL if building it ran out of memory. */
char *sb_take  (strbuf *sb);

/* ------------------------------------------------- text tools (text.c) */

bool        is_digit      (char c);
bool        equals_any    (const char *s, const char *const *words);
size_t      edit_distance (const char *a, const char *b);
bool        is_close      (const char *typed, const char *candidate, size_t d);
const char *closest_key   (const ycfg_schema *table, const char *word);
const char *closest_choice(const char *const *choices, const char *word);
void        suggest       (char *buf, size_t size, const char *near);
void        describe_level(char *buf, size_t size, const char *path);
void        format_bound  (char *buf, size_t size, double x);
void        list_choices  (char *buf, size_t size, const char *const *choices);
void        list_keys     (char *buf, size_t size, const ycfg_schema *table);
void        mark_if_truncated(char *buf, int n);
void        join_key      (char *buf, const char *parent, const char *key);
void        join_index    (char *buf, const char *parent, size_t k);
/* A scalar's canonical text (every type but LIST, MAP and TAGGED). */
void        put_scalar    (strbuf *sb, const ycfg_value *v);
/* The canonical flow text of a value; for_id: the legacy id text. */
void        put_value     (strbuf *sb, const ycfg_value *v, bool for_id);
/* FNV-1a 64 of s, and of more text after what h has hashed so far. */
#define     FNV1A64_OFFSET 0xcbf29ce484222325ull
uint64_t    fnv1a64       (const char *s);
uint64_t    fnv1a64_more  (uint64_t h, const char *s);
bool        is_mapping    (const ycfg_value *v);
bool        is_list_of_maps(const ycfg_value *v);

/* ------------------------------------------------ raw tree (reader.c) */

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

/* -------------------------------------------- loader state and errors */

typedef struct {
    const char          *path;      /* "bench.threads" */
    const ycfg_schema   *schema;    /* the swept key */
    size_t               n;
    ycfg_value          *values;    /* n validated values, file order */
} sweep_axis;

/* One path of a `sweep_except:` entry: the values it lists of that axis. */
typedef struct {
    size_t       axis;      /* index into the ycfg's axes */
    size_t       n;
    ycfg_value  *values;    /* n values as written, validated as the axis's values */
    bool        *listed;    /* per value of the axis: listed here (match_except_values) */
} except_term;

/* A `sweep_except:` entry: it drops the points that hold a listed value on
 * every one of its axes. */
typedef struct {
    except_term *terms;
    size_t       nterms;
} except_entry;

typedef struct {
    const char *path, *text;
} used_default;

/* A default the schema declares: its generic path ("model.trunk[conv].k"),
 * its entry (several paths may share one) and its id text (ids.c). */
typedef struct {
    const char        *path;
    const ycfg_schema *entry;
    const char        *text;
} declared_default;

struct ycfg_point {
    ycfg_value root;
    char       id[17];
    char       legacy_id[17];
};

struct ycfg {
    arena              mem;         /* owns everything below but the vectors */
    const char        *path, *name;
    ycfg_schema        root_entry;  /* the root table as a MAP entry: base.schema */
    ycfg_value         base;        /* defaults filled, before substitution */
    sweep_axis        *axes;
    size_t             naxes;
    ycfg_point        *points;      /* the product's points less those dropped */
    size_t             npoints;
    except_entry      *excepts;     /* sweep_except, in file order */
    size_t             nexcepts;
    int                except_line, except_col;  /* where `sweep_except` is written */
    ycfg_point        *dropped;     /* the points sweep_except drops, product order */
    size_t             ndropped;
    used_default      *defaults;    /* malloc'd: grows while recording */
    size_t             ndefaults, defaults_cap;
    declared_default  *declared;    /* malloc'd: grows while declaring */
    size_t             ndeclared, declared_cap;
    char               digest[17];
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
    /* Loading defaults on their own: a required key inside a default map is
     * the user's to write, not a fault of the default (LEFT_TO_USER). */
    bool              skip_required;
} load_ctx;

/* A problem with the file (or, while a default loads, with the program's
 * default text, reported where the default would have gone). Returns -1. */
int  fail_at(load_ctx *ctx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int  fail_oom(load_ctx *ctx);
/* The program handed over a schema or a request that cannot work. */
_Noreturn void program_bug(const char *path, const char *what);
/* k, if k < n; else the program asked for the k-th what of n: it aborts. */
size_t checked_index(const char *what, size_t k, size_t n);

/* Parse YAML text into a raw tree allocated in mem (*root NULL: no document). */
int  parse_text(load_ctx *ctx, arena *mem, const char *text, size_t len, raw_node **root);

/* ------------------------------------------------------ schema.c */

long        find_key(const ycfg_schema *table, const char *key);
size_t      count_keys(const ycfg_schema *table);
const char *type_noun(ycfg_type t);
bool        schema_entry_problem(const ycfg_schema *e, char *why, size_t size);
void        require_sound_entry(const ycfg_schema *e, const char *path);

/* ------------------------------------------------------ scalars.c */

bool raw_is_null(const raw_node *raw);
void describe_raw(const raw_node *raw, char *buf, size_t size);
int  fail_type(load_ctx *ctx, const raw_node *raw, const char *expected, const char *path,
               const char *hint);
bool has_range(const ycfg_schema *sch);
int  validate_scalar(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                     const char *path, ycfg_value *out);

/* ------------------------------------------- validate.c and tagged.c */

/* How a mapping is checked, besides its key table. */
typedef struct {
    const ycfg_schema *table;     /* the keys it may have */
    const char        *path;      /* its path, for messages and its children's */
    /* Keys validated on their own (the root's `sweep` and `sweep_except`, a
     * tagged map's tag), NULL-terminated or NULL: skipped here but for
     * duplicates, and offered by "did you mean". */
    const char *const *own_keys;
    const char        *variant;   /* a tagged map's "type: conv" for messages, or NULL */
} map_rules;

int  validate_value(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                    const char *path, ycfg_value *out);
int  validate_map(load_ctx *ctx, const raw_node *raw, const ycfg_schema *table,
                  const char *path, bool is_root, ycfg_value *out);
int  validate_keys(load_ctx *ctx, const raw_node *raw, const map_rules *m,
                   ycfg_value *items, size_t n);
int  validate_tagged(load_ctx *ctx, const raw_node *raw, const ycfg_schema *sch,
                     const char *path, ycfg_value *out);
int  check_key_node(load_ctx *ctx, const raw_node *key);
int  fail_duplicate_key(load_ctx *ctx, const raw_node *key, const raw_node *first);
/* The p-th key of a mapping checked as a name and against the keys before it. */
int  check_unique_key(load_ctx *ctx, const raw_node *map, size_t p);
const raw_node *find_raw_key(const raw_node *map, const char *key);
/* Parse a schema default as YAML and validate it like a written value; its
 * values get line 0 ("not in the file"). */
int  load_default(load_ctx *ctx, const ycfg_schema *key, const char *path, ycfg_value *out);

/* --------------------------------------------------------- sweep.c */

int               validate_sweep(load_ctx *ctx, const raw_node *sweep, const ycfg_schema *root,
                                 ycfg *cfg);
const sweep_axis *find_axis(const sweep_axis *axes, size_t naxes, const char *path);
ycfg_value       *map_child(const ycfg_value *map, const char *key, size_t keylen);
int               copy_value(arena *mem, const ycfg_value *src, ycfg_value *dst);
int               expand_points(load_ctx *ctx, ycfg *cfg);

/* -------------------------------------------------------- except.c */

/* `sweep_except:` (key and its value) read against the validated sweep. */
int  validate_sweep_except(load_ctx *ctx, const raw_node *key, const raw_node *list, ycfg *cfg);
/* Each listed value matched to its axis value (needs the declared defaults). */
int  match_except_values(load_ctx *ctx, ycfg *cfg);
/* Whether point i of the full product is dropped; scratch holds naxes indices. */
bool except_drops(const ycfg *cfg, size_t i, size_t *scratch);
/* The sweep_except section as YAML (nothing without one); 0, or -1. */
int  write_sweep_except(const ycfg *cfg, FILE *out);

/* ----------------------------------------------------------- ids.c */

/* A value's id text: canonical, keys at their defaults left out (caller frees). */
char *id_text_of(const ycfg *cfg, const ycfg_value *v);
/* Both ids of a point whose root is filled in; 0 or -1 (out of memory). */
int   make_point_ids(const ycfg *cfg, ycfg_point *pt);

/* ------------------------------------------------------ defaults.c */

/* The defaults a loaded config used (ycfg_default_path/text). */
int  record_defaults(ycfg *cfg, const ycfg_value *v, const char *path);
/* The defaults the schema declares, their id texts and digest. */
int  declare_defaults(load_ctx *ctx, ycfg *cfg);
/* The declared id text of an entry with a default (aborts if not declared). */
const char *declared_text(const ycfg *cfg, const ycfg_schema *entry);

#endif /* GPOOL_EXPERIMENTS_CFG_INTERNAL_H */
