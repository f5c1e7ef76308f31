/*
 * pool_tuning.c - what the global pooling kernels assume about the core,
 * chosen once per process from the CPU vendor (GPOOL_POOL_TUNING and
 * gp_pool_tuning_force() override). docs/TUNING.md gives the figures
 * behind every value. No value changes a result bit: they decide how far
 * ahead the kernels prefetch and from what slice size the NCHW kernels
 * (AVX2 and AVX-512 avg and max, top-k's long planes) read several
 * sequential streams at once, never the order of an addition.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

#include "gpi.h"
#include "gpi_kernels.h"

/* The profiles, in the order of gpi_tuning_profile. */
static const gp_pool_tuning gpi_profiles[] = {
    /* Sapphire Rapids, where the kernels were tuned: four streams with a
     * 2 KiB prefetch from 2 MiB (the L2) on, no prefetch in single batches. */
    { "intel", 2048, (size_t)2 << 20, 0 },
    /* Zen 4/5: the L2 is 1 MiB, so a larger slice is not L2-resident; on
     * Zen 5, 2-thread slices of 1.6 MiB from DRAM read one batch at a time
     * ran at 32-38 GB/s, what one thread streams alone (docs/TUNING.md). A
     * prefetch in single batches lost 25 % (avg) and gained 10-20 % (max)
     * from DRAM on Zen 3, and lost up to 15 % hot: none, as on Intel. */
    { "amd", 2048, (size_t)1 << 20, 0 },
};
enum { GPI_NPROFILES = sizeof gpi_profiles / sizeof gpi_profiles[0] };

static pthread_once_t gpi_tuning_once = PTHREAD_ONCE_INIT;
static int gpi_vendor_profile;              /* index chosen from CPUID */
static int gpi_env_profile = -1;            /* GPOOL_POOL_TUNING, -1: auto */
static char gpi_env_bad[32];                /* an unknown GPOOL_POOL_TUNING */
static atomic_int gpi_api_profile = -2;     /* -2: follow the environment */
static gp_pool_tuning gpi_custom;           /* gp_pool_tuning_set's values */
static char gpi_custom_name[32];
enum { GPI_CUSTOM = GPI_NPROFILES };        /* gpi_api_profile of gpi_custom */

/* "amd" for AuthenticAMD and HygonGenuine (Zen cores), else "intel". */
static int vendor_profile(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    unsigned a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        char v[13];
        memcpy(v, &b, 4);
        memcpy(v + 4, &d, 4);
        memcpy(v + 8, &c, 4);
        v[12] = '\0';
        if (!strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine"))
            return 1;
    }
#endif
    return 0;
}

/* Profile index of name, -1 for "auto" (or NULL), -2 when unknown. */
static int profile_of(const char *name)
{
    if (!name || !strcmp(name, "auto"))
        return -1;
    for (int i = 0; i < GPI_NPROFILES; i++)
        if (!strcmp(gpi_profiles[i].name, name))
            return i;
    return -2;
}

/* "auto, intel, amd": the names profile_of takes, from the profile table,
 * for the error messages; written once by init_once. */
static char gpi_known_names[64];

static void list_known_names(void)
{
    size_t used = (size_t)snprintf(gpi_known_names, sizeof gpi_known_names, "auto");
    for (int i = 0; i < GPI_NPROFILES && used < sizeof gpi_known_names; i++)
        used += (size_t)snprintf(gpi_known_names + used, sizeof gpi_known_names - used,
                                 ", %s", gpi_profiles[i].name);
}

static void init_once(void)
{
    list_known_names();
    gpi_vendor_profile = vendor_profile();
    const char *env = getenv("GPOOL_POOL_TUNING");
    if (!env || !*env)
        return;
    gpi_env_profile = profile_of(env);
    if (gpi_env_profile == -2) {
        size_t keep = strlen(env) < sizeof gpi_env_bad - 1 ? strlen(env) : sizeof gpi_env_bad - 1;
        memcpy(gpi_env_bad, env, keep);
        gpi_env_bad[keep] = '\0';
        gpi_env_profile = -1;
    }
}

/* The profile in effect: the API's, else the environment's, else the vendor's. */
static int current_profile(void)
{
    pthread_once(&gpi_tuning_once, init_once);
    int api = atomic_load(&gpi_api_profile);
    if (api >= 0)
        return api;
    if (api == -1)
        return gpi_vendor_profile;
    return gpi_env_profile >= 0 ? gpi_env_profile : gpi_vendor_profile;
}

static const gp_pool_tuning *tuning_of(int profile)
{
    return profile == GPI_CUSTOM ? &gpi_custom : &gpi_profiles[profile];
}

const gp_pool_tuning *gpi_pool_tuning(void)
{
    return tuning_of(current_profile());
}

gp_status gp_pool_tuning_force(const char *name)
{
    pthread_once(&gpi_tuning_once, init_once);
    int p = profile_of(name);
    if (p == -2)
        return gpi_fail(GP_ERR_NOTFOUND, "gp_pool_tuning_force: no tuning named '%s' "
                        "(known: %s)", name, gpi_known_names);
    atomic_store(&gpi_api_profile, p);
    return GP_OK;
}

gp_status gp_pool_tuning_get(gp_pool_tuning *out)
{
    if (!out)
        return gpi_fail(GP_ERR_ARG, "gp_pool_tuning_get: out is NULL");
    pthread_once(&gpi_tuning_once, init_once);
    if (gpi_env_bad[0] && atomic_load(&gpi_api_profile) == -2)
        return gpi_fail(GP_ERR_ENV, "GPOOL_POOL_TUNING: unknown tuning '%s' (known: %s)",
                        gpi_env_bad, gpi_known_names);
    *out = *tuning_of(current_profile());
    return GP_OK;
}

gp_status gp_pool_tuning_set(const gp_pool_tuning *t)
{
    if (!t || !t->name || !t->name[0])
        return gpi_fail(GP_ERR_ARG, "gp_pool_tuning_set: %s", !t ? "t is NULL" : "t->name is empty");
    if (t->stream_prefetch > 65536 || t->batch_prefetch > 65536)
        return gpi_fail(GP_ERR_ARG, "gp_pool_tuning_set: prefetch distance %zu outside 0..65536",
                        t->stream_prefetch > 65536 ? t->stream_prefetch : t->batch_prefetch);
    pthread_once(&gpi_tuning_once, init_once);
    snprintf(gpi_custom_name, sizeof gpi_custom_name, "%s", t->name);
    gpi_custom = *t;
    gpi_custom.name = gpi_custom_name;
    atomic_store(&gpi_api_profile, GPI_CUSTOM);
    return GP_OK;
}
