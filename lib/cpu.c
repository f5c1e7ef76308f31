/*
 * cpu.c - which instruction sets this CPU offers, and which of them the user
 * hid (GPOOL_CPU_MASK / gp_set_cpu_mask) so that fallbacks can be tested on a
 * machine that has everything.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gpi.h"

static pthread_once_t gpi_cpu_once = PTHREAD_ONCE_INIT;
static unsigned gpi_native_mask;          /* written once under gpi_cpu_once */
static gp_status gpi_env_status;          /* parse result of GPOOL_CPU_MASK */
static unsigned gpi_env_hidden;
static char gpi_env_bad_token[64];

/* -1 = follow the environment; otherwise a mask set through the API. */
static atomic_int gpi_api_hidden = -1;

/* __builtin_cpu_supports also checks that the OS saves the wide registers
 * (XCR0), which a raw CPUID test would miss. */
static unsigned detect_native(void)
{
    unsigned mask = 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        mask |= GP_CPU_MASK_AVX2;
    if ((mask & GP_CPU_MASK_AVX2) && __builtin_cpu_supports("avx512f"))
        mask |= GP_CPU_MASK_AVX512;
#endif
    return mask;
}

/* Hiding AVX2 hides AVX-512 too: every AVX-512 CPU has AVX2, and a CPU
 * "without AVX2 but with AVX-512" exists nowhere worth testing. */
static unsigned close_hidden(unsigned hidden)
{
    return (hidden & GP_CPU_MASK_AVX2) ? hidden | GP_CPU_MASK_AVX512 : hidden;
}

static int token_to_mask(const char *tok, size_t len, unsigned *bit)
{
    if (len == 4 && !strncmp(tok, "avx2", 4)) { *bit = GP_CPU_MASK_AVX2; return 1; }
    if (len == 6 && !strncmp(tok, "avx512", 6)) { *bit = GP_CPU_MASK_AVX512; return 1; }
    if (len == 4 && !strncmp(tok, "none", 4)) { *bit = 0; return 1; }
    return 0;
}

static void parse_env_mask(const char *text)
{
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ", ");
        unsigned bit;
        if (len > 0) {
            if (!token_to_mask(p, len, &bit)) {
                size_t keep = len < sizeof gpi_env_bad_token - 1 ? len : sizeof gpi_env_bad_token - 1;
                memcpy(gpi_env_bad_token, p, keep);
                gpi_env_bad_token[keep] = '\0';
                gpi_env_status = GP_ERR_ENV;
                return;
            }
            gpi_env_hidden |= bit;
        }
        p += len;
        p += strspn(p, ", ");
    }
    gpi_env_hidden = close_hidden(gpi_env_hidden);
}

static void init_once(void)
{
    gpi_native_mask = detect_native();
    const char *env = getenv("GPOOL_CPU_MASK");
    if (env)
        parse_env_mask(env);
}

unsigned gpi_cpu_native(void)
{
    pthread_once(&gpi_cpu_once, init_once);
    return gpi_native_mask;
}

gp_status gpi_cpu_hidden(unsigned *hidden)
{
    pthread_once(&gpi_cpu_once, init_once);
    int api = atomic_load(&gpi_api_hidden);
    if (api >= 0) {
        *hidden = (unsigned)api;
        return GP_OK;
    }
    if (gpi_env_status != GP_OK) {
        *hidden = 0;
        return gpi_fail(GP_ERR_ENV,
                        "GPOOL_CPU_MASK: unknown instruction set '%s' (known: avx2, avx512, none)",
                        gpi_env_bad_token);
    }
    *hidden = gpi_env_hidden;
    return GP_OK;
}

gp_status gp_set_cpu_mask(unsigned mask)
{
    if (mask & ~(GP_CPU_MASK_AVX2 | GP_CPU_MASK_AVX512))
        return gpi_fail(GP_ERR_ARG, "gp_set_cpu_mask: unknown bits 0x%x", mask);
    pthread_once(&gpi_cpu_once, init_once);
    atomic_store(&gpi_api_hidden, (int)close_hidden(mask));
    return GP_OK;
}

int gp_cpu_has_native(gp_isa isa)
{
    return isa == GP_ISA_SCALAR || (gpi_cpu_native() & (1u << isa)) != 0;
}

int gp_cpu_has(gp_isa isa)
{
    unsigned hidden;
    if (gpi_cpu_hidden(&hidden) != GP_OK)
        return isa == GP_ISA_SCALAR;
    return gp_cpu_has_native(isa) && (isa == GP_ISA_SCALAR || !(hidden & (1u << isa)));
}
