/*
 * net.c - a sequential network: a list of layers, the activations between
 * them and two ping-pong buffers for the gradients flowing back.
 *
 * The input is the caller's (never copied); out[i] is layer i's output,
 * allocated once at finalize for the maximum batch, so a training step
 * allocates nothing. Backward only needs the gradient of the layer
 * being processed and the one it produces, so two buffers of the largest
 * activation size serve every layer: layer i writes dx into grad[i % 2]
 * while it reads dy from grad[(i + 1) % 2] (or the caller's dy).
 *
 * An eval forward saves nothing for backward, which frees it to run the
 * batch in slices small enough that every activation slice is still in L2
 * when the next layer reads it, and to fold each batchnorm2d and relu
 * that follows a conv2d into the conv's output (gpi_epilogue). Folding
 * gives the same bits as the layers one by one; slicing does too where
 * each image is computed on its own (the direct conv kernels), while
 * OpenBLAS may round a slice's narrower sgemm differently (tests/test_net).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "gpi_layer.h"

#ifdef _OPENMP
#include <omp.h>
#endif

struct gp_net {
    gp_shape    in;
    gp_layer  **layers;
    int         nlayers, cap;
    gp_param  **params;     /* every layer's params, in layer order */
    int         nparams;
    const float *x;         /* the input of the last forward */
    float     **out;        /* out[i]: output of layer i */
    float      *grad[2];
    int         finalized;
    int         last_n;     /* batch of the last training forward (0: none since) */
    int        *fused;      /* fused[i]: layers after conv i folded into it in eval */
    size_t      eval_image_bytes;   /* the widest layer's input + output of one image */
};

gp_status gp_net_create(gp_net **out, gp_shape in)
{
    if (!out)
        return gpi_fail(GP_ERR_ARG, "gp_net_create: out is NULL");
    *out = NULL;
    if (in.n < 1 || in.c < 1 || in.h < 1 || in.w < 1)
        return gpi_fail(GP_ERR_ARG, "gp_net_create: input shape %dx%dx%dx%d is not positive",
                        in.n, in.c, in.h, in.w);
    gp_net *net = calloc(1, sizeof *net);
    if (!net)
        return gpi_fail(GP_ERR_NOMEM, "gp_net_create: out of memory");
    net->in = in;
    *out = net;
    return GP_OK;
}

gp_shape gp_net_out_shape(const gp_net *net)
{
    gp_shape none = { 0, 0, 0, 0 };
    if (!net)
        return none;
    return net->nlayers ? net->layers[net->nlayers - 1]->out : net->in;
}

static int net_shape_equal(gp_shape a, gp_shape b)
{
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
}

/* Room for one more layer and its parameters. */
static gp_status net_reserve(gp_net *net, int more_params)
{
    if (net->nlayers == net->cap) {
        int cap = net->cap ? 2 * net->cap : 8;
        gp_layer **grown = realloc(net->layers, (size_t)cap * sizeof *grown);
        if (!grown)
            return gpi_fail(GP_ERR_NOMEM, "gp_net_add: out of memory");
        net->layers = grown;
        net->cap = cap;
    }
    gp_param **params = realloc(net->params,
                                (size_t)(net->nparams + more_params + 1) * sizeof *params);
    if (!params)
        return gpi_fail(GP_ERR_NOMEM, "gp_net_add: out of memory");
    net->params = params;
    return GP_OK;
}

static gp_status net_check_add(gp_net *net, const gp_layer *l)
{
    if (!net || !l)
        return gpi_fail(GP_ERR_ARG, "gp_net_add: NULL argument");
    if (net->finalized)
        return gpi_fail(GP_ERR_ARG, "gp_net_add: the net is finalized; no layers may be added");
    gp_shape want = gp_net_out_shape(net);
    if (!net_shape_equal(l->in, want))
        return gpi_fail(GP_ERR_ARG, "gp_net_add: layer %d (%s) takes %dx%dx%dx%d but the net "
                        "produces %dx%dx%dx%d (n x c x h x w)", net->nlayers, l->ops->kind,
                        l->in.n, l->in.c, l->in.h, l->in.w, want.n, want.c, want.h, want.w);
    return GP_OK;
}

gp_status gp_net_add(gp_net *net, gp_layer *l)
{
    gp_status st = net_check_add(net, l);
    if (st == GP_OK)
        st = net_reserve(net, l->nparams);
    if (st != GP_OK) {
        gp_layer_destroy(l);
        return st;
    }
    net->layers[net->nlayers++] = l;
    for (int i = 0; i < l->nparams; i++)
        net->params[net->nparams++] = &l->params[i];
    return GP_OK;
}

static size_t net_act_floats(const gp_net *net, int i)
{
    return (size_t)net->in.n * gp_shape_image_size(net->layers[i]->out);
}

/* Floats in one ping-pong gradient buffer: the largest layer output. */
static size_t net_grad_floats(const gp_net *net)
{
    size_t most = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (net_act_floats(net, i) > most)
            most = net_act_floats(net, i);
    return most;
}

static void net_free_buffers(gp_net *net)
{
    if (net->out)
        for (int i = 0; i < net->nlayers; i++)
            gpi_free(net->out[i]);
    free(net->out);
    gpi_free(net->grad[0]);
    gpi_free(net->grad[1]);
    net->out = NULL;
    net->grad[0] = net->grad[1] = NULL;
}

/* The eval forward's plan: how many layers after each conv its epilogue
 * takes over (conv2d [batchnorm2d] [relu]), and the per-image bytes that
 * size its slices. */
static gp_status net_plan_fusion(gp_net *net)
{
    net->fused = calloc((size_t)net->nlayers, sizeof *net->fused);
    if (!net->fused)
        return GP_ERR_NOMEM;
    for (int i = 0; i < net->nlayers; i++) {
        const gp_layer *l = net->layers[i];
        size_t bytes = sizeof(float) * (gp_shape_image_size(l->in) + gp_shape_image_size(l->out));
        if (bytes > net->eval_image_bytes)
            net->eval_image_bytes = bytes;
        if (!gpi_is_conv2d(net->layers[i]))
            continue;
        int j = i + 1;
        if (j < net->nlayers && gpi_is_batchnorm2d(net->layers[j]))
            j++;
        if (j < net->nlayers && gpi_is_relu(net->layers[j]))
            j++;
        net->fused[i] = j - i - 1;
    }
    return GP_OK;
}

gp_status gp_net_finalize(gp_net *net)
{
    if (!net)
        return gpi_fail(GP_ERR_ARG, "gp_net_finalize: net is NULL");
    if (net->finalized)
        return gpi_fail(GP_ERR_ARG, "gp_net_finalize: already finalized");
    if (net->nlayers == 0)
        return gpi_fail(GP_ERR_ARG, "gp_net_finalize: the net has no layers");
    net->out = calloc((size_t)net->nlayers, sizeof *net->out);
    int ok = net->out != NULL;
    for (int i = 0; ok && i < net->nlayers; i++)
        ok = (net->out[i] = gpi_falloc(net_act_floats(net, i))) != NULL;
    if (ok) {
        size_t g = net_grad_floats(net);
        net->grad[0] = gpi_falloc(g);
        net->grad[1] = gpi_falloc(g);
        ok = net->grad[0] && net->grad[1];
    }
    if (!ok) {
        net_free_buffers(net);
        return gpi_fail(GP_ERR_NOMEM, "gp_net_finalize: out of memory for activations");
    }
    if (net_plan_fusion(net) != GP_OK)
        return gpi_fail(GP_ERR_NOMEM, "gp_net_finalize: out of memory");
    net->finalized = 1;
    return GP_OK;
}

void gp_net_destroy(gp_net *net)
{
    if (!net)
        return;
    net_free_buffers(net);
    for (int i = 0; i < net->nlayers; i++)
        gp_layer_destroy(net->layers[i]);
    free(net->layers);
    free(net->fused);
    free(net->params);
    free(net);
}

int gp_net_layer_count(const gp_net *net)
{
    return net ? net->nlayers : 0;
}

gp_layer *gp_net_layer(gp_net *net, int i)
{
    return net && i >= 0 && i < net->nlayers ? net->layers[i] : NULL;
}

int gp_net_param_count(const gp_net *net)
{
    return net ? net->nparams : 0;
}

gp_param *gp_net_param(gp_net *net, int i)
{
    return net && i >= 0 && i < net->nparams ? net->params[i] : NULL;
}

size_t gp_net_num_params(const gp_net *net)
{
    size_t total = 0;
    for (int i = 0; net && i < net->nparams; i++)
        total += net->params[i]->count;
    return total;
}

double gp_net_flops(const gp_net *net)
{
    double total = 0;
    for (int i = 0; net && i < net->nlayers; i++)
        total += net->layers[i]->flops;
    return total;
}

gp_mem_report gp_net_memory(const gp_net *net, size_t optim_floats_per_param)
{
    gp_mem_report r;
    memset(&r, 0, sizeof r);
    if (!net)
        return r;
    size_t params = gp_net_num_params(net);
    r.params = params * sizeof(float);
    r.grads = r.params;
    r.optim_state = r.params * optim_floats_per_param;
    size_t acts = 2 * net_grad_floats(net);
    for (int i = 0; i < net->nlayers; i++) {
        acts += net_act_floats(net, i);
        r.workspace += net->layers[i]->workspace_bytes;
    }
    r.activations = acts * sizeof(float);
    r.total = r.params + r.grads + r.optim_state + r.activations + r.workspace;
    return r;
}

static const float *net_input(const gp_net *net, int i)
{
    return i ? net->out[i - 1] : net->x;
}

static gp_status net_check_pass(const gp_net *net, int n, const char *verb)
{
    if (!net->finalized)
        return gpi_fail(GP_ERR_ARG, "gp_net_%s: call gp_net_finalize first", verb);
    if (n < 1 || n > net->in.n)
        return gpi_fail(GP_ERR_ARG, "gp_net_%s: batch %d outside 1..%d", verb, n, net->in.n);
    return GP_OK;
}

/* Images per slice of an eval forward: as many as keep the largest layer's
 * input and output slices within GPI_EVAL_SLICE_BYTES per thread (about an
 * L2), so that a large batch's activations need not go out to memory and
 * back between layers. Each slice costs every layer a call (weight packing,
 * a parallel region), so slices must not be small: on the BN trunk at batch
 * 256, 2 threads, 128 KiB ran 0.64x, 512 KiB 0.95x and 2-4 MiB 1.0x of the
 * whole batch at once. Training cannot slice: batchnorm needs the whole
 * batch's statistics. */
#define GPI_EVAL_SLICE_BYTES ((size_t)2048 << 10)

static int net_eval_slice(const gp_net *net, int n)
{
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    size_t slice = GPI_EVAL_SLICE_BYTES * (size_t)threads / net->eval_image_bytes;
    if (slice < 1)
        slice = 1;
    return slice < (size_t)n ? (int)slice : n;
}

/* Layer i's input and output for the images from i0 on. */
static const float *net_slice_in(const gp_net *net, int i, int i0)
{
    return net_input(net, i) + (size_t)i0 * gp_shape_image_size(net->layers[i]->in);
}

static float *net_slice_out(const gp_net *net, int i, int i0)
{
    return net->out[i] + (size_t)i0 * gp_shape_image_size(net->layers[i]->out);
}

/* Layer i, and the layers its eval epilogue takes over, over images
 * [i0, i0 + n); returns the index of the last layer it ran. */
static gp_status net_eval_step(gp_net *net, int i, int i0, int n, int *last)
{
    *last = i + net->fused[i];
    if (!net->fused[i])
        return gp_layer_forward(net->layers[i], n, net_slice_in(net, i, i0),
                                net_slice_out(net, i, i0), GP_EVAL);
    gpi_epilogue epi = { NULL, 0 };
    for (int j = i + 1; j <= *last; j++) {
        if (gpi_is_batchnorm2d(net->layers[j]))
            epi.bn = net->layers[j];
        else
            epi.relu = 1;
    }
    return gpi_conv_forward_eval_fused(net->layers[i], n, net_slice_in(net, i, i0),
                                       net_slice_out(net, *last, i0), &epi);
}

/* Every layer over images [i0, i0 + n) of the batch. */
static gp_status net_eval_images(gp_net *net, int i0, int n)
{
    for (int i = 0, last; i < net->nlayers; i = last + 1) {
        gp_status st = net_eval_step(net, i, i0, n, &last);
        if (st != GP_OK)
            return st;
    }
    return GP_OK;
}

static gp_status net_eval_forward(gp_net *net, int n)
{
    int slice = net_eval_slice(net, n);
    for (int i0 = 0; i0 < n; i0 += slice) {
        gp_status st = net_eval_images(net, i0, n - i0 < slice ? n - i0 : slice);
        if (st != GP_OK)
            return st;
    }
    return GP_OK;
}

static gp_status net_train_forward(gp_net *net, int n)
{
    for (int i = 0; i < net->nlayers; i++) {
        gp_status st = gp_layer_forward(net->layers[i], n, net_input(net, i), net->out[i],
                                        GP_TRAIN);
        if (st != GP_OK)
            return st;
    }
    return GP_OK;
}

gp_status gp_net_forward(gp_net *net, int n, const float *x, gp_mode mode, const float **y)
{
    if (!net || !x || !y)
        return gpi_fail(GP_ERR_ARG, "gp_net_forward: NULL argument");
    gp_status st = net_check_pass(net, n, "forward");
    if (st != GP_OK)
        return st;
    net->last_n = 0;
    net->x = x;
    st = mode == GP_TRAIN ? net_train_forward(net, n) : net_eval_forward(net, n);
    if (st != GP_OK)
        return st;
    if (mode == GP_TRAIN)
        net->last_n = n;
    *y = net->out[net->nlayers - 1];
    return GP_OK;
}

gp_status gp_net_backward(gp_net *net, int n, const float *dy)
{
    if (!net || !dy)
        return gpi_fail(GP_ERR_ARG, "gp_net_backward: NULL argument");
    gp_status st = net_check_pass(net, n, "backward");
    if (st != GP_OK)
        return st;
    if (net->last_n != n)
        return gpi_fail(GP_ERR_ARG, "gp_net_backward: batch %d but the last forward was %s",
                        n, net->last_n ? "of another batch" : "not a successful GP_TRAIN one");
    const float *g = dy;
    for (int i = net->nlayers - 1; i >= 0; i--) {
        float *dx = i > 0 ? net->grad[i % 2] : NULL;
        st = gp_layer_backward(net->layers[i], n, net_input(net, i), net->out[i], g, dx);
        if (st != GP_OK)
            return st;
        g = dx;
    }
    return GP_OK;
}
