/* installed-example.c - the worked examples of gpool.h and gpool_nn.h,
 * built by `make installcheck` against the installed headers, library and
 * gpool.pc only. */
#include <gpool.h>
#include <gpool_nn.h>
#include <stdio.h>

/* gpool.h: the mean of each 4x4 plane. */
static int pooling_example(void)
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

/* The net of gpool_nn.h's example: 1 -> 8 -> 10 channels, a GAP head. */
static gp_status build(gp_net **net)
{
    gp_shape in = { .n = 64, .c = 1, .h = 28, .w = 28 };
    gp_layer *l;
    gp_status st = gp_net_create(net, in);
    if (st == GP_OK)
        st = gp_conv2d_create(&l, gp_net_out_shape(*net), 8, 3, 3, 1, 1, 1);
    if (st == GP_OK)
        st = gp_net_add(*net, l);
    if (st == GP_OK)
        st = gp_relu_create(&l, gp_net_out_shape(*net));
    if (st == GP_OK)
        st = gp_net_add(*net, l);
    if (st == GP_OK)
        st = gp_conv2d_create(&l, gp_net_out_shape(*net), 10, 1, 1, 1, 0, 1);
    if (st == GP_OK)
        st = gp_net_add(*net, l);
    if (st == GP_OK)
        st = gp_head_pool_create(&l, gp_net_out_shape(*net), GP_HEAD_AVG);
    if (st == GP_OK)
        st = gp_net_add(*net, l);
    return st == GP_OK ? gp_net_finalize(*net) : st;
}

/* gpool_nn.h: one Adam step at 28x28, then the same weights at 32x32. */
static int network_example(void)
{
    static float x[64 * 28 * 28], x32[16 * 32 * 32], dlogits[64 * 10];
    int labels[64];
    for (int i = 0; i < 64 * 28 * 28; i++)
        x[i] = (float)((i * 7919) % 255) / 255.0f;
    for (int i = 0; i < 16 * 32 * 32; i++)
        x32[i] = (float)((i * 104729) % 255) / 255.0f;
    for (int i = 0; i < 64; i++)
        labels[i] = i % 10;

    gp_net *net = NULL;
    gp_optim *opt = NULL;
    gp_rng rng;
    gp_rng_seed(&rng, 0);
    gp_optim_desc od = gp_optim_defaults(GP_OPTIM_ADAM);
    od.lr = 3e-4f;
    const float *logits;
    float loss;
    gp_shape big = { .n = 16, .c = 1, .h = 32, .w = 32 };
    gp_status st = build(&net);
    if (st == GP_OK)
        st = gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0.0f, &rng);
    if (st == GP_OK)
        st = gp_optim_create(&opt, &od, net);
    if (st == GP_OK)
        st = gp_net_forward(net, 64, x, GP_TRAIN, &logits);
    if (st == GP_OK)
        st = gp_softmax_xent(64, 10, logits, labels, 0, &loss, dlogits, NULL);
    if (st == GP_OK)
        st = gp_net_backward(net, 64, dlogits);
    if (st == GP_OK)
        st = gp_optim_step(opt, od.lr);
    if (st == GP_OK)
        st = gp_net_reshape(net, big);
    if (st == GP_OK)
        st = gp_net_forward(net, 16, x32, GP_EVAL, &logits);
    if (st != GP_OK)
        fprintf(stderr, "gpool: %s\n", gp_last_error());
    else
        printf("gpool: loss %.4f after one step; %zu parameters; logit 0 at 32x32 %.4f\n",
               (double)loss, gp_net_param_floats(net), (double)logits[0]);
    gp_optim_destroy(opt);
    gp_net_destroy(net);
    return st == GP_OK ? 0 : 1;
}

int main(void)
{
    return pooling_example() || network_example();
}
