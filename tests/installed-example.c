/* installed-example.c - the worked example of gpool.h, built by `make
 * installcheck` against the installed header, library and gpool.pc only. */
#include <gpool.h>
#include <stdio.h>

int main(void)
{
    float x[2 * 3 * 4 * 4];
    float y[2 * 3];
    for (int i = 0; i < 96; i++)
        x[i] = (float)i;

    gp_pool_desc d = { .n = 2, .c = 3, .h = 4, .w = 4,
                       .layout = GP_LAYOUT_NCHW, .op = GP_POOL_AVG };
    if (gp_global_pool_forward(&d, NULL, x, y) != GP_OK) {
        fprintf(stderr, "gpool: %s\n", gp_last_error());
        return 1;
    }
    gp_variant_info v;
    if (gp_select_variant(&d, GP_PASS_FORWARD, &v) != GP_OK)
        return 1;
    printf("gpool %s: mean of plane 0 = %g by %s (%s)\n", gp_version(), y[0], v.name,
           gp_isa_name(v.isa));
    return y[0] == 7.5f && y[5] == 87.5f ? 0 : 1;
}
