/*
 * cfg.h - strict YAML experiment configs and their sweeps: the config
 * engine, a small library of its own (libyaml and libc only, prefix ycfg_).
 *
 * A program describes the keys it accepts with a static schema tree; the
 * loader parses a YAML file, checks it against the schema, fills defaults,
 * and expands its `sweep:` section into points (less those its
 * `sweep_except:` section drops), each with a stable id.
 *
 *     static const ycfg_schema bench_keys[] = {
 *         { "repetitions", YCFG_INT, "21", .min = 20, .max = 1e6,
 *           .help = "timed repetitions per row" },
 *         { "mode", YCFG_ENUM, "hot", .choices = (const char *[]){"hot", "cold", NULL} },
 *         { NULL }
 *     };
 *     static const ycfg_schema root[] = {
 *         { "name",  YCFG_STRING, NULL, .help = "run name" },   // required
 *         { "bench", YCFG_MAP, "{}", .items = bench_keys },
 *         { NULL }
 *     };
 *     char err[512];
 *     ycfg *cfg = ycfg_load("configs/kernels.yaml", root, err, sizeof err);
 *     if (!cfg) { fprintf(stderr, "%s\n", err); return 1; }  // "file:3:5: ..."
 *     for (size_t i = 0; i < ycfg_npoints(cfg); i++) {
 *         const ycfg_point *pt = ycfg_point_at(cfg, i);
 *         long long reps = ycfg_int(pt, "bench.repetitions");
 *         ...
 *     }
 *     ycfg_free(cfg);
 *
 * (Give every entry at least one designated field, such as .help: a purely
 * positional { "key", TYPE, "def" } draws -Wmissing-field-initializers.)
 *
 * A tagged mapping is one whose keys depend on the value of its tag key, as
 * a network's layers do on their type:
 *
 *     static const ycfg_schema conv_keys[] = {
 *         { "out", YCFG_INT, NULL, .min = 1, .max = 65536, .help = "output channels" },
 *         { "k",   YCFG_INT, "3",  .min = 1, .max = 64, .help = "kernel size" },
 *         { NULL }
 *     };
 *     static const ycfg_schema no_keys[] = { { NULL } };
 *     static const ycfg_schema variants[] = {
 *         { "conv", YCFG_MAP, NULL, .items = conv_keys, .help = "2-D convolution" },
 *         { "relu", YCFG_MAP, NULL, .items = no_keys, .help = "max(x, 0)" },
 *         { NULL }
 *     };
 *     static const ycfg_schema layer[] = {
 *         { "layer", YCFG_TAGGED, NULL, .tag = "type", .items = variants, .help = "a layer" }
 *     };
 *     ... { "trunk", YCFG_LIST, NULL, .min = 1, .max = 100, .items = layer } ...
 *
 * so that "trunk: [{type: conv, out: 8}, {type: relu}]" is valid and
 * ycfg_value_get(&trunk->items[0], "k")->i is 3.
 *
 * Rules:
 *   - Every key must be in the schema: an unknown key is an error that names
 *     the closest known key at that level ("did you mean ...").
 *   - Types are checked (an int where a float is expected is fine, not the
 *     reverse); INT/FLOAT values must lie in [min, max] when min <= max
 *     (min = max = 0, what an entry without .min/.max gets, means no range); ENUM
 *     values must be one of choices; duplicate keys in one map are errors.
 *     A STRING entry's check, when it has one, also passes the value (the
 *     program's own rule, such as a name that becomes a directory).
 *   - Scalars are strict: INT is decimal only (no 1.5, 12abc, 1e3, 0x10, or
 *     leading zeros, which YAML 1.1 reads as octal); FLOAT is a finite decimal
 *     number (no .inf/.nan); BOOL is true or false (also True/TRUE/False/FALSE;
 *     yes/no/on/off are refused: they are booleans only in YAML 1.1). A quoted
 *     value is a string, so "21" is no INT. An empty value (key: with nothing)
 *     is refused for every type; write {} or [] or "".
 *   - A missing key with a default takes the default (parsed as YAML text);
 *     a missing MAP with default "{}" gets its keys' own defaults. A missing
 *     key without one is an error, unless the sweep gives it. The defaults
 *     used are listed by ycfg_default_path/text in schema order: each value
 *     the file did not write, mappings (and written lists of mappings)
 *     entered key by key ("bench.threads", "layers[0].stride"), anything else
 *     whole ("bench.shapes"); swept keys are never listed.
 *   - `sweep:` at the root is always the sweep section (a root schema must
 *     not declare a key of that name). It maps dotted key paths
 *     ("bench.threads") to non-empty lists; each path must name a schema key
 *     that is not itself under a list, and two paths must not overlap; each
 *     list element is checked as a whole value of that key (sweeping a MAP
 *     replaces all of it).
 *   - Points are the cartesian product of the sweep lists; the first sweep
 *     key (in file order) varies slowest. Without a sweep there is one point.
 *   - `sweep_except:` at the root (reserved like `sweep`) leaves points out
 *     of that product: a non-empty list of entries, each a non-empty mapping
 *     of sweep paths (exactly as the sweep writes them) to non-empty lists of
 *     values of that path's sweep; a value that is not a list stands for a
 *     one-element list (so a swept list value is written inside a list:
 *     [[...]]). A point is dropped when, for every path of some entry, its
 *     value is one of the entry's values (compared as id texts, so 1e-3
 *     matches 0.001):
 *         sweep_except:
 *           - {model.head: [gem, lse], train.seed: [3, 4]}
 *     The other points keep their order and their ids; ycfg_dropped_at
 *     gives the dropped ones. Errors: sweep_except without a sweep, a path
 *     the sweep lacks (the closest suggested), a value its sweep does not
 *     list (naming that sweep's values), an empty list or entry, and a
 *     sweep_except that drops every point.
 *   - A point's id is 16 hex digits of a 64-bit FNV-1a hash of its id
 *     text: the canonical text of its resolved config with every key whose
 *     value equals its schema default left out, headed by the experiment
 *     name: "{name: heads, model: {trunk: [{type: conv, out: 8, pad: 1},
 *     {type: relu}], head: gap}, train: {seed: 2}}". In detail:
 *       . a key with a default is left out when its value's canonical text
 *         equals the default's (keys below it compared the same way, so
 *         the texts compared are themselves id texts); "k: 3" written and
 *         the default 3 are the same, as are 1e-3 and 0.001;
 *       . a key without a default (a required key, a tagged map's tag) is
 *         always written, but a mapping all of whose keys are at their
 *         defaults is left out;
 *       . inside a value that differs from its default, each key is
 *         compared with its own default, as when a file writes that value
 *         (the id text reads as the config with only what differs from the
 *         defaults). This holds inside maps, tagged maps and list elements
 *         (a trunk layer): elements are never left out, but their keys at
 *         defaults are;
 *       . the name is the root key "name" when the schema has one (written
 *         even at its default), else the config's name (ycfg_name);
 *       . keys marked .id_exempt (and everything below them) are left out
 *         too, so they can be added or changed without changing ids; such
 *         a key cannot be swept.
 *     So the id is stable across runs, machines and key order in the
 *     file, writing a default gives the id of leaving it out, and adding
 *     a key with a default changes no id. Changing a default does change
 *     the ids of the points that write the old default value explicitly
 *     (and the meaning of those that took it: see ycfg_defaults_digest).
 *     ycfg_point_legacy_id gives the id of the previous release, which
 *     hashed the full text with every default filled in.
 *   - Lists outside `sweep:` are plain values (a list of shapes, of layers).
 *   - A FLOAT entry marked .or_list takes a number or a non-empty list of
 *     numbers ("mean: 0.5" or "mean: [0.49, 0.48, 0.45]"), each checked as
 *     the number would be; a single number keeps the text, and so the id,
 *     it has without the mark.
 *   - TAGGED: the tag key is required and its value must name one of the
 *     variants (items: each a MAP without a default, whose key table may be
 *     empty; an error at the value lists them, with "did you mean" for a
 *     near miss). The tag is checked before the other
 *     keys, which follow every rule above against the chosen variant's key
 *     table (an unknown key suggests the closest of that variant's keys and
 *     the tag). The resolved value has type YCFG_TAGGED and reads like a
 *     MAP: items[0] is the tag (an ENUM whose ->s is the variant name, and
 *     whose schema's choices are the variant names), then the variant's keys
 *     in schema order; its canonical text is "{type: conv, out: 8, k: 3}".
 *     Defaults inside it are listed as for a MAP ("trunk[2].k"). A TAGGED
 *     value can be a list element, a map value or a swept value (a sweep
 *     element is checked as a whole value); a sweep path cannot go into one,
 *     since its keys depend on its tag.
 *   - Anchors, aliases, YAML tags (!!str) and a second document are refused: a config
 *     says what ran in plain values.
 * Errors are "FILE:LINE:COLUMN: MESSAGE" (1-based) in the caller's buffer;
 * the first error found is reported (YAML syntax errors before any other,
 * and the sweep section is checked before the rest). An error in a schema
 * default is reported as the program's, where the default would have gone.
 * Misuse by the program (asking for a path the schema lacks, or with the
 * wrong type) is a bug: it prints the path and aborts.
 */
#ifndef GPOOL_EXPERIMENTS_CFG_H
#define GPOOL_EXPERIMENTS_CFG_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    YCFG_INT,     /* 64-bit integer */
    YCFG_FLOAT,   /* double; an integer literal is accepted */
    YCFG_BOOL,    /* true / false */
    YCFG_STRING,  /* any scalar kept as text */
    YCFG_ENUM,    /* one of choices */
    YCFG_LIST,    /* sequence; items[0] is the element schema (key unused) */
    YCFG_MAP,     /* mapping; items is the key table ended by { NULL } */
    YCFG_TAGGED   /* mapping whose keys depend on its tag key's value; items =
                     variants, each a MAP with its key table, ended by { NULL } */
} ycfg_type;

typedef struct ycfg_schema ycfg_schema;
struct ycfg_schema {
    const char        *key;        /* NULL ends a key table */
    ycfg_type          type;
    const char        *def;        /* default as YAML text; NULL = required */
    double             min, max;   /* INT/FLOAT range, LIST length: checked if min <= max,
                                      not both 0 */
    const char *const *choices;    /* ENUM: NULL-terminated */
    const ycfg_schema *items;      /* MAP: key table; LIST: element schema; TAGGED: variants */
    const char        *help;       /* one line, for --help and messages */
    const char        *tag;        /* TAGGED: the key whose value picks the variant */
    int                id_exempt;  /* a map key (and all below it) that does not enter
                                      point ids and cannot be swept: how results are
                                      presented, not what runs */
    const char      *(*check)(const char *s);  /* STRING: NULL when s will do, else why
                                      not ("must not contain '/'"), reported at the value */
    int                or_list;    /* FLOAT: a non-empty list of such numbers will do too
                                      (each in [min, max]; .max_items long at most when
                                      set); the value is then a LIST of FLOATs whose
                                      schema is this entry: read it with ycfg_floats */
    int                max_items;  /* or_list: the longest list (0: no limit) */
};

/* A resolved value (every value of a loaded config has all its keys).
 * Read-only: points share the subtrees a sweep does not change. */
typedef struct ycfg_value ycfg_value;
struct ycfg_value {
    ycfg_type          type;
    const ycfg_schema *schema;
    int                line, col;  /* where it was written (in the sweep, if swept); 0 for
                                      a default */
    int                from_default; /* 1: taken from its own schema default, the file (and
                                        any default around it) leaving it out */
    long long          i;          /* INT, BOOL */
    double             f;          /* FLOAT */
    const char        *s;          /* STRING, ENUM; and the source text of every scalar */
    size_t             n;          /* LIST: items; MAP: keys (schema order); TAGGED: tag + keys */
    ycfg_value        *items;      /* LIST / MAP / TAGGED children */
};

typedef struct ycfg       ycfg;
typedef struct ycfg_point ycfg_point;

/* The largest config the loader reads (bytes); a larger file or string is
 * refused before it is parsed. */
#define YCFG_MAX_BYTES (1 << 20)

/* Parse, validate and expand path against root; NULL and err on failure. */
ycfg              *ycfg_load         (const char *path, const ycfg_schema *root,
                                      char *err, size_t errlen);

/* Same, from a string; name is used in error messages in place of a path. */
ycfg              *ycfg_load_string  (const char *name, const char *yaml,
                                      const ycfg_schema *root, char *err, size_t errlen);

/* Free everything the config owns (points and values included). */
void               ycfg_free         (ycfg *cfg);

/* Number of sweep points (1 without a sweep), those sweep_except drops left out. */
size_t             ycfg_npoints      (const ycfg *cfg);

/* Point i, 0 <= i < ycfg_npoints(). */
const ycfg_point  *ycfg_point_at     (const ycfg *cfg, size_t i);

/* Stable id of a point: 16 lowercase hex digits (the rules above). */
const char        *ycfg_point_id     (const ycfg_point *pt);

/* The text its id hashes, "{name: ..., ...}" (caller frees; NULL: out of memory). */
char              *ycfg_point_id_text(const ycfg *cfg, const ycfg_point *pt);

/* The id the previous release gave this point, for a config that writes
 * every key that release knew, as the config.yaml it wrote beside its
 * results does (every default written out): FNV-1a 64 of the canonical
 * text of the point's resolved config, id_exempt keys and the keys the
 * file leaves to their defaults left out. Those are keys added since, so
 * they do not change it. For mapping old results directories to the new
 * ids (gpool migrate); of a config that leaves defaults out, it is no
 * id any release gave. */
const char        *ycfg_point_legacy_id(const ycfg_point *pt);

/* Number of points sweep_except drops (0 without it) and the k-th of them,
 * in product order, with the id each would have: for telling a run that
 * the config drops from one that is no point of it. */
size_t             ycfg_ndropped     (const ycfg *cfg);
const ycfg_point  *ycfg_dropped_at   (const ycfg *cfg, size_t k);

/* Number of swept paths and the k-th one ("bench.threads"), in file order. */
size_t             ycfg_nswept       (const ycfg *cfg);
const char        *ycfg_swept_path   (const ycfg *cfg, size_t k);

/* The resolved value tree of a point (a MAP in root schema order). */
const ycfg_value  *ycfg_point_root   (const ycfg_point *pt);

/* The value at a dotted path of a point (aborts if the schema lacks it);
 * the typed forms also abort on another type (ycfg_str takes STRING and
 * ENUM, ycfg_float only FLOAT). */
const ycfg_value  *ycfg_get          (const ycfg_point *pt, const char *path);
long long          ycfg_int          (const ycfg_point *pt, const char *path);
double             ycfg_float        (const ycfg_point *pt, const char *path);
int                ycfg_bool         (const ycfg_point *pt, const char *path);
/* An or_list FLOAT's numbers: how many the value holds (1 for a single
 * number), the first max of them into out. */
size_t             ycfg_floats       (const ycfg_point *pt, const char *path, double *out,
                                      size_t max);
const char        *ycfg_str          (const ycfg_point *pt, const char *path);
/* An ENUM's value as its index in the schema's choices (a C enum listed in
 * the same order converts directly). */
int                ycfg_enum         (const ycfg_point *pt, const char *path);
/* The same for an ENUM value reached otherwise (an item of a list). */
int                ycfg_value_enum   (const ycfg_value *v);

/* Same as ycfg_get below any MAP or TAGGED value, e.g. one element of a
 * list of layers (its tag key included: ycfg_value_get(layer, "type")->s). */
const ycfg_value  *ycfg_value_get    (const ycfg_value *map, const char *path);

/* A value as canonical one-line YAML flow text (caller frees). */
char              *ycfg_value_text   (const ycfg_value *v);

/* Number of defaults the base tree used, and the k-th as path and value text. */
size_t             ycfg_ndefaults    (const ycfg *cfg);
const char        *ycfg_default_path (const ycfg *cfg, size_t k);
const char        *ycfg_default_text (const ycfg *cfg, size_t k);

/* The defaults the schema declares, for the manifest and for --resume:
 * every key with a default (id_exempt ones left out) in schema order, by
 * generic path: keys joined by ".", a list element as "[]", a tagged
 * value's variant by name in brackets, and a list of tagged maps' element
 * by its variant alone: "train.lr", "data.synthetic", "model.trunk[conv].k",
 * "stem[maxpool].stride", "bench.shapes", "layers[].channels". The text
 * is the default as an id text (keys at their own defaults left out):
 * "0.001", "{}", "{type: relu}". A variant's keys are listed once per
 * variant, though one key table may serve several. */
size_t             ycfg_schema_ndefaults   (const ycfg *cfg);
const char        *ycfg_schema_default_path(const ycfg *cfg, size_t k);
const char        *ycfg_schema_default_text(const ycfg *cfg, size_t k);

/* 16 hex digits of FNV-1a 64 over the declared defaults, "PATH: TEXT\n"
 * each, in that order: it changes when a default changes, and also when a
 * key with a default is added or removed (which changes no meaning), so a
 * digest that differs from a manifest's is a reason to compare the lists,
 * not to refuse. */
const char        *ycfg_defaults_digest(const ycfg *cfg);

/* Whether some point of the config takes the key at a generic path from
 * its own default (the file, the sweep and any default around it leave it
 * out): 1 yes, 0 no, -1 the schema declares no default there (gone, or
 * never had one). --resume refuses a directory whose manifest lists
 * another text for a path that answers 1, and names that key. */
int                ycfg_relies_on_default(const ycfg *cfg, const char *generic_path);

/* Write the resolved config (before sweep expansion, defaults filled and
 * marked "# default", swept keys marked "# swept", the sweep and
 * sweep_except sections with their values in canonical form) as YAML that loads to the same point ids;
 * 0, or -1 on a write error. */
int                ycfg_write_resolved(const ycfg *cfg, FILE *out);

/* Check a schema on its own (every default valid, ENUMs with choices, LIST
 * and MAP with items, TAGGED with a tag and variants that are MAPs with
 * items, without defaults and without the tag among their keys, no key or
 * variant twice, no root `sweep` or `sweep_except`): for a program's tests. */
int                ycfg_check_schema (const ycfg_schema *root, char *err, size_t errlen);

/* The source file's path and the name of the config (root key "name" if the
 * schema has one, else the file's base name without extension). */
const char        *ycfg_path         (const ycfg *cfg);
const char        *ycfg_name         (const ycfg *cfg);

#endif /* GPOOL_EXPERIMENTS_CFG_H */
