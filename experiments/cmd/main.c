/*
 * main.c - the gpool command: a table of subcommands and the dispatch to
 * them. Adding a subcommand is one line in gpx_commands[] (plus its entry
 * point in commands.h).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "gpool.h"

typedef struct {
    const char *name;
    const char *summary;  /* one line for `gpool --help` */
    int (*run)(int argc, char **argv);
    int long_running;     /* trains for minutes to hours: short_spin_default */
} gpx_command;

static int cmd_help(int argc, char **argv);

static const gpx_command gpx_commands[] = {
    { "run",     "train every point of an experiment config (configs/*.yaml)", gpx_cmd_run, 1 },
    { "merge",   "join the outputs of `gpool run --shard K/N` into one directory", gpx_cmd_merge, 0 },
    { "rerun",   "run one row of a results directory again and compare", gpx_cmd_rerun, 1 },
    { "migrate", "rewrite a results directory of an earlier gpool to this one's run ids",
      gpx_cmd_migrate, 0 },
    { "status",  "runs done, failed and remaining, the run in progress, the time left",
      gpx_cmd_status, 0 },
    { "table",   "tables (markdown, LaTeX) and charts from a results directory", gpx_cmd_table, 0 },
    { "claims",  "each claim of configs/claims.yaml tested on the studies' results",
      gpx_cmd_claims, 0 },
    { "cam",     "class activation maps of a run's kept weights, drawn over test images",
      gpx_cmd_cam, 0 },
    { "where",   "how well each run's maps find the item placed on a canvas (where.csv)",
      gpx_cmd_where, 1 },
    { "profile", "per-layer time of a training step of a config's network", gpx_cmd_profile, 0 },
    { "throughput", "training-step and inference images/s of a config's network",
      gpx_cmd_throughput, 0 },
    { "bench",   "time every pooling variant against this machine's read bandwidth", gpx_cmd_bench, 0 },
    { "help",    "show this help, or a command's: gpool help COMMAND", cmd_help, 0 },
};
#define GPX_NCOMMANDS (sizeof gpx_commands / sizeof gpx_commands[0])

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: gpool COMMAND [OPTIONS]\n"
            "       gpool --help | --version\n"
            "\n"
            "Global pooling kernels (libgpool %s) and their experiments.\n"
            "\n"
            "Commands:\n",
            gp_version());
    for (size_t i = 0; i < GPX_NCOMMANDS; i++)
        fprintf(out, "  %-11s %s\n", gpx_commands[i].name, gpx_commands[i].summary);
    fprintf(out,
            "\n"
            "Options:\n"
            "  -h, --help     show this help and exit\n"
            "  -V, --version  show the version and exit\n"
            "\n"
            "Run 'gpool COMMAND --help' for a command's options.\n"
            "Environment: GPOOL_VARIANT=NAME forces the variant that \"auto\" runs;\n"
            "GPOOL_CPU_MASK=avx512,avx2 hides instruction sets from the library.\n");
}

static const gpx_command *find_command(const char *name)
{
    for (size_t i = 0; i < GPX_NCOMMANDS; i++)
        if (!strcmp(gpx_commands[i].name, name))
            return &gpx_commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    fprintf(stderr, "gpool: unknown command '%s'\n", name);
    fprintf(stderr, "Try 'gpool --help' for the list of commands.\n");
    return 2;
}

/* gpool help [COMMAND]: the same text as --help. */
static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (argc > 2) {
        fprintf(stderr, "gpool help: too many arguments\nUsage: gpool help [COMMAND]\n");
        return 2;
    }
    const gpx_command *c = find_command(argv[1]);
    if (!c)
        return unknown_command(argv[1]);
    if (c->run == cmd_help) {
        usage(stdout);
        return 0;
    }
    char *help_argv[] = { argv[1], "--help", NULL };
    return c->run(2, help_argv);
}

/* libgomp lets a thread that waits at a barrier spin for about 300,000
 * rounds before it sleeps. Alone on the machine that is fastest; next to one
 * other busy process, a 2-thread training step of the BN trunk ran 5.7x
 * slower (832 against 4,766 images/s), the ready thread spinning while the
 * other waited for its core. Sweeps run for hours on shared machines, so
 * run and rerun default to a short spin, GOMP_SPINCOUNT=10000: 5% slower
 * alone, 2x faster next to a busy process (1,693 images/s). Benchmarks keep
 * libgomp's default. The runtime reads its environment when it is loaded,
 * hence the exec; OMP_WAIT_POLICY or GOMP_SPINCOUNT set by the user win. */
static void short_spin_default(char **argv)
{
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("GOMP_SPINCOUNT", "10000", 1) == 0)
        execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT");     /* no /proc: go on with the default */
#else
    (void)argv;
#endif
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *first = argv[1];
    if (!strcmp(first, "-h") || !strcmp(first, "--help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(first, "-V") || !strcmp(first, "--version")) {
        printf("gpool %s (libgpool %s)\n", PACKAGE_VERSION, gp_version());
        return 0;
    }
    if (first[0] == '-') {
        fprintf(stderr, "gpool: unknown option '%s'\n", first);
        fprintf(stderr, "Try 'gpool --help'.\n");
        return 2;
    }
    const gpx_command *c = find_command(first);
    if (!c)
        return unknown_command(first);
    if (c->long_running)
        short_spin_default(argv);
    return c->run(argc - 1, argv + 1);
}
