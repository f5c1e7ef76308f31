/*
 * ew.c - which elementwise and batchnorm kernels (gpi_ew.h, gpi_bn.h) this
 * CPU runs.
 */
#include "autoconfig.h"

#include "gpi.h"
#include "gpi_bn.h"
#include "gpi_ew.h"

const gpi_ew_kernels *gpi_ew_pick(void)
{
#ifdef GPOOL_HAVE_AVX512_KERNELS
    if (gp_cpu_has(GP_ISA_AVX512))
        return &gpi_ew_avx512;
#endif
#ifdef GPOOL_HAVE_AVX2_KERNELS
    if (gp_cpu_has(GP_ISA_AVX2))
        return &gpi_ew_avx2;
#endif
    return NULL;
}

const gpi_bn_kernels *gpi_bn_pick(void)
{
    const gpi_ew_kernels *k = gpi_ew_pick();
    return k ? k->bn : NULL;
}
