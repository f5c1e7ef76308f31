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
 *
 * A reshape re-plans every layer for another input shape (their own reshape
 * verbs) and reallocates the activations, in three steps so that a refusal
 * changes nothing: every layer's output shape is asked first, then the old
 * activations make way for the new ones, and only then are the layers
 * reshaped.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpi_layer.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* The activations between the layers, at the maximum batch. */
typedef struct {
    float     **out;        /* out[i]: output of layer i */
    float      *grad[2];    /* the ping-pong gradients, each the largest output */
} net_buffers;

struct gp_net {
    gp_shape    in;
    gp_layer  **layers;
    int         nlayers, cap;
    gp_param  **params;     /* every layer's params, in layer order */
    int         nparams;
    const float *x;         /* the input of the last forward */
    net_buffers buf;
    int         finalized;
    int         unusable;   /* a failed reshape could not restore the old size */
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

/* Floats in one ping-pong gradient buffer: the largest of the outputs
 * outs[0..count) at batch images. */
static size_t net_grad_floats(const gp_shape *outs, int count, int batch)
{
    size_t most = 0;
    for (int i = 0; i < count; i++)
        if ((size_t)batch * gp_shape_image_size(outs[i]) > most)
            most = (size_t)batch * gp_shape_image_size(outs[i]);
    return most;
}

static void net_free_buffers(net_buffers *b, int nlayers)
{
    if (b->out)
        for (int i = 0; i < nlayers; i++)
            gpi_free(b->out[i]);
    free(b->out);
    gpi_free(b->grad[0]);
    gpi_free(b->grad[1]);
    b->out = NULL;
    b->grad[0] = b->grad[1] = NULL;
}

/* Activations for layers of outputs outs[0..nlayers) at batch images. */
static gp_status net_alloc_buffers(net_buffers *b, const gp_shape *outs, int nlayers, int batch)
{
    b->out = calloc((size_t)nlayers, sizeof *b->out);
    b->grad[0] = b->grad[1] = NULL;
    int ok = b->out != NULL;
    for (int i = 0; ok && i < nlayers; i++)
        ok = (b->out[i] = gpi_falloc((size_t)batch * gp_shape_image_size(outs[i]))) != NULL;
    if (ok) {
        size_t g = net_grad_floats(outs, nlayers, batch);
        b->grad[0] = gpi_falloc(g);
        b->grad[1] = gpi_falloc(g);
        ok = b->grad[0] && b->grad[1];
    }
    if (!ok) {
        net_free_buffers(b, nlayers);
        return GP_ERR_NOMEM;
    }
    return GP_OK;
}

/* The widest layer's input and output of one image, in bytes: what sizes
 * the slices of an eval forward. */
static void net_eval_image_bytes(gp_net *net)
{
    net->eval_image_bytes = 0;
    for (int i = 0; i < net->nlayers; i++) {
        const gp_layer *l = net->layers[i];
        size_t bytes = sizeof(float) * (gp_shape_image_size(l->in) + gp_shape_image_size(l->out));
        if (bytes > net->eval_image_bytes)
            net->eval_image_bytes = bytes;
    }
}

static int net_layer_is(const gp_net *net, int i, gp_layer_kind kind)
{
    return i < net->nlayers && net->layers[i]->spec.kind == kind;
}

/* The eval forward's plan: how many layers after each conv its epilogue
 * takes over (conv2d [batchnorm2d] [relu]). */
static gp_status net_plan_fusion(gp_net *net)
{
    net->fused = calloc((size_t)net->nlayers, sizeof *net->fused);
    if (!net->fused)
        return GP_ERR_NOMEM;
    for (int i = 0; i < net->nlayers; i++) {
        if (!net_layer_is(net, i, GP_LAYER_CONV2D))
            continue;
        int j = i + 1;
        if (net_layer_is(net, j, GP_LAYER_BATCHNORM2D))
            j++;
        if (net_layer_is(net, j, GP_LAYER_RELU))
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
    gp_shape *outs = malloc((size_t)net->nlayers * sizeof *outs);
    if (!outs)
        return gpi_fail(GP_ERR_NOMEM, "gp_net_finalize: out of memory");
    for (int i = 0; i < net->nlayers; i++)
        outs[i] = net->layers[i]->out;
    gp_status st = net_alloc_buffers(&net->buf, outs, net->nlayers, net->in.n);
    free(outs);
    if (st != GP_OK)
        return gpi_fail(GP_ERR_NOMEM, "gp_net_finalize: out of memory for activations");
    if (net_plan_fusion(net) != GP_OK)
        return gpi_fail(GP_ERR_NOMEM, "gp_net_finalize: out of memory");
    net_eval_image_bytes(net);
    net->finalized = 1;
    return GP_OK;
}

/* Step 1 of a reshape: ins[i] = the input layer i would take after it,
 * ins[nlayers] the net's output; on a refusal, *layer is the layer that
 * refused and gp_last_error() its message. */
static gp_status net_plan_shapes(const gp_net *net, gp_shape in, gp_shape *ins, int *layer)
{
    ins[0] = in;
    for (int i = 0; i < net->nlayers; i++) {
        gp_status st = gp_layer_out_shape(net->layers[i], ins[i], &ins[i + 1]);
        if (st != GP_OK) {
            *layer = i;
            return st;
        }
    }
    return GP_OK;
}

/* Step 3: every layer to ins[i]. Should one fail (out of memory, or a bad
 * GPOOL_CONV: it is then unchanged), the ones before it go back to their
 * inputs in old. */
static gp_status net_reshape_layers(gp_net *net, const gp_shape *ins, const gp_shape *old)
{
    for (int i = 0; i < net->nlayers; i++) {
        gp_layer *l = net->layers[i];
        gp_status st = l->ops->reshape(l, ins[i]);
        if (st == GP_OK)
            continue;
        char why[256];
        snprintf(why, sizeof why, "%s", gp_last_error());
        for (int j = 0; j < i; j++)
            if (net->layers[j]->ops->reshape(net->layers[j], old[j]) != GP_OK)
                net->unusable = 1;
        return gpi_fail(st, "gp_net_reshape: layer %d: %s%s", i, why,
                        net->unusable ? "; some layers could not be taken back to the old "
                                        "size either" : "");
    }
    return GP_OK;
}

static gp_status net_check_reshape(const gp_net *net, gp_shape in)
{
    if (!net)
        return gpi_fail(GP_ERR_ARG, "gp_net_reshape: net is NULL");
    if (!net->finalized)
        return gpi_fail(GP_ERR_ARG, "gp_net_reshape: call gp_net_finalize first");
    if (in.n < 1 || in.c < 1 || in.h < 1 || in.w < 1)
        return gpi_fail(GP_ERR_ARG, "gp_net_reshape: input shape %dx%dx%dx%d is not positive",
                        in.n, in.c, in.h, in.w);
    if (in.c != net->in.c)
        return gpi_fail(GP_ERR_ARG, "gp_net_reshape: the net takes %d channels, not %d",
                        net->in.c, in.c);
    return GP_OK;
}

gp_status gp_net_reshape_check(const gp_net *net, gp_shape in, int *layer, gp_shape *at)
{
    if (layer)
        *layer = -1;
    gp_status st = net_check_reshape(net, in);
    if (st != GP_OK)
        return st;
    gp_shape *ins = malloc(((size_t)net->nlayers + 1) * sizeof *ins);
    if (!ins)
        return gpi_fail(GP_ERR_NOMEM, "gp_net_reshape_check: out of memory");
    int refused = -1;
    st = net_plan_shapes(net, in, ins, &refused);
    if (layer)
        *layer = refused;
    if (at && refused >= 0)
        *at = ins[refused];
    free(ins);
    if (st == GP_OK)
        gpi_clear_error();
    return st;
}

/* Step 1: the new shapes, or the refusal (nothing changed). */
static gp_status net_plan_reshape(const gp_net *net, gp_shape in, gp_shape *ins)
{
    int refused;
    if (net_plan_shapes(net, in, ins, &refused) == GP_OK)
        return GP_OK;
    char why[256];
    snprintf(why, sizeof why, "%s", gp_last_error());
    return gpi_fail(GP_ERR_ARG, "gp_net_reshape: a %dx%dx%d input: layer %d: %s", in.c, in.h,
                    in.w, refused, why);
}

/* Steps 2 and 3: the activations for the new shapes, then the layers. The
 * old activations are freed first: they are scratch between passes, and
 * holding both sets at once made an evaluation at a larger size peak at
 * the old size's activations more (79 MiB of RSS on configs/quick.yaml).
 * On a failure the layers are back at the old shapes (net_reshape_layers)
 * and so are the activations, or the net is left unusable. */
static gp_status net_replan(gp_net *net, gp_shape in, const gp_shape *ins, const gp_shape *old,
                            const gp_shape *old_outs)
{
    int nl = net->nlayers;
    net_free_buffers(&net->buf, nl);
    gp_status st = net_alloc_buffers(&net->buf, ins + 1, nl, in.n);
    if (st != GP_OK)
        gpi_fail(st, "gp_net_reshape: out of memory for activations");
    else if ((st = net_reshape_layers(net, ins, old)) != GP_OK)
        net_free_buffers(&net->buf, nl);
    if (st != GP_OK && net_alloc_buffers(&net->buf, old_outs, nl, net->in.n) != GP_OK)
        net->unusable = 1;
    return st;
}

gp_status gp_net_reshape(gp_net *net, gp_shape in)
{
    gp_status st = net_check_reshape(net, in);
    if (st != GP_OK)
        return st;
    int nl = net->nlayers;
    gp_shape *ins = malloc((3 * (size_t)nl + 1) * sizeof *ins);
    if (!ins)
        return gpi_fail(GP_ERR_NOMEM, "gp_net_reshape: out of memory");
    gp_shape *old = ins + nl + 1, *old_outs = old + nl;
    for (int i = 0; i < nl; i++) {
        old[i] = net->layers[i]->in;
        old_outs[i] = net->layers[i]->out;
    }
    st = net_plan_reshape(net, in, ins);
    if (st == GP_OK)
        st = net_replan(net, in, ins, old, old_outs);
    free(ins);
    if (st != GP_OK)
        return st;
    net->in = in;
    net->unusable = 0;
    net->last_n = 0;
    net_eval_image_bytes(net);
    gpi_clear_error();
    return GP_OK;
}

void gp_net_destroy(gp_net *net)
{
    if (!net)
        return;
    net_free_buffers(&net->buf, net->nlayers);
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

int gp_net_param_tensors(const gp_net *net)
{
    return net ? net->nparams : 0;
}

gp_param *gp_net_param(gp_net *net, int i)
{
    return net && i >= 0 && i < net->nparams ? net->params[i] : NULL;
}

size_t gp_net_param_floats(const gp_net *net)
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
    size_t params = gp_net_param_floats(net);
    r.params = params * sizeof(float);
    r.grads = r.params;
    r.optim_state = r.params * optim_floats_per_param;
    size_t acts = 0;
    for (int i = 0; i < net->nlayers; i++) {
        size_t floats = net_act_floats(net, i);
        acts = floats > acts ? floats : acts;
    }
    acts *= 2;
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
    return i ? net->buf.out[i - 1] : net->x;
}

/* The first layer of the part that ends at layer last. */
static int net_part_start(const gp_net *net, int last)
{
    for (int j = last - 1; j >= 0 && j >= last - 2; j--)
        if (net->fused[j] && j + net->fused[j] == last)
            return j;
    return last;
}

static gp_status net_check_pass(const gp_net *net, int n, const char *verb)
{
    if (!net->finalized)
        return gpi_fail(GP_ERR_ARG, "gp_net_%s: call gp_net_finalize first", verb);
    if (net->unusable)
        return gpi_fail(GP_ERR_ARG, "gp_net_%s: a gp_net_reshape that ran out of memory left "
                        "the layers at mixed sizes; reshape the net again first", verb);
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
    return net->buf.out[i] + (size_t)i0 * gp_shape_image_size(net->layers[i]->out);
}

/* The layers conv i's epilogue takes over, as an epilogue. */
static gpi_epilogue net_epilogue(const gp_net *net, int i)
{
    gpi_epilogue epi = { NULL, 0, 0 };
    for (int j = i + 1; j <= i + net->fused[i]; j++) {
        if (net_layer_is(net, j, GP_LAYER_BATCHNORM2D))
            epi.bn = net->layers[j];
        else
            epi.relu = 1;
    }
    return epi;
}

/* Layer i, and the layers its eval epilogue takes over, over images
 * [i0, i0 + n); returns the index of the last layer it ran. */
static gp_status net_eval_step(gp_net *net, int i, int i0, int n, int *last)
{
    *last = i + net->fused[i];
    if (!net->fused[i])
        return gp_layer_forward(net->layers[i], n, net_slice_in(net, i, i0),
                                net_slice_out(net, i, i0), GP_EVAL);
    gpi_epilogue epi = net_epilogue(net, i);
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

int gp_net_part_fused(const gp_net *net, int i)
{
    return net && net->fused && i >= 0 && i < net->nlayers ? net->fused[i] : 0;
}

/* The checks of a part call, and its times zeroed (a part alone has no
 * epilogue). */
static gp_status net_part_begin(const gp_net *net, int i, const float *x, float *const *ys,
                                const char *verb, double *epi_s, double *total_s)
{
    if (epi_s)
        *epi_s = 0.0;
    if (total_s)
        *total_s = 0.0;
    if (!net || !x || !ys)
        return gpi_fail(GP_ERR_ARG, "gp_net_part_%s: NULL argument", verb);
    if (!net->finalized || i < 0 || i >= net->nlayers)
        return gpi_fail(GP_ERR_ARG, "gp_net_part_%s: %s", verb, net->finalized
                        ? "no such layer" : "call gp_net_finalize first");
    if (!ys[net->fused[i]] || (net->fused[i] && !ys[0]))
        return gpi_fail(GP_ERR_ARG, "gp_net_part_%s: layer %d: an output it writes is NULL",
                        verb, i);
    return GP_OK;
}

gp_status gp_net_part_forward(gp_net *net, int i, int n, const float *x, float *const *ys,
                              double *epi_s, double *total_s)
{
    gp_status st = net_part_begin(net, i, x, ys, "forward", epi_s, total_s);
    if (st != GP_OK)
        return st;
    int f = net->fused[i];
    if (!f)
        return gp_layer_forward(net->layers[i], n, x, ys[0], GP_TRAIN);
    gpi_epilogue epi = net_epilogue(net, i);
    return gpi_conv_forward_train_fused(net->layers[i], n, x, ys[0], ys[f], &epi, epi_s,
                                        total_s);
}

gp_status gp_net_part_backward(gp_net *net, int i, int n, const float *x, float *const *ys,
                               const float *dy, float *work, float *dx, double *epi_s,
                               double *total_s)
{
    gp_status st = net_part_begin(net, i, x, ys, "backward", epi_s, total_s);
    if (st != GP_OK)
        return st;
    int f = net->fused[i];
    if (!f)
        return gp_layer_backward(net->layers[i], n, x, ys[0], dy, dx);
    if (!dy || !work || work == dx)
        return gpi_fail(GP_ERR_ARG, "gp_net_part_backward: layer %d: dy and work must be "
                        "given, and work must not be dx", i);
    gpi_epilogue epi = net_epilogue(net, i);
    return gpi_conv_backward_train_fused(net->layers[i], n, x, ys[0], ys[f], dy, work, dx,
                                         &epi, epi_s, total_s);
}

static gp_status net_train_forward(gp_net *net, int n)
{
    for (int i = 0; i < net->nlayers; i += 1 + net->fused[i]) {
        gp_status st = gp_net_part_forward(net, i, n, net_input(net, i), net->buf.out + i,
                                           NULL, NULL);
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
    *y = net->buf.out[net->nlayers - 1];
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
    for (int last = net->nlayers - 1, i; last >= 0; last = i - 1) {
        i = net_part_start(net, last);
        /* A fused part builds the conv's gradient in place when dy is the
         * net's own (not the caller's); dx goes to the other buffer. */
        float *work = g == net->buf.grad[1] ? net->buf.grad[1] : net->buf.grad[0];
        float *other = work == net->buf.grad[0] ? net->buf.grad[1] : net->buf.grad[0];
        float *dx = i > 0 ? (net->fused[i] || g == work ? other : work) : NULL;
        st = gp_net_part_backward(net, i, n, net_input(net, i), net->buf.out + i, g, work, dx,
                                  NULL, NULL);
        if (st != GP_OK)
            return st;
        g = dx;
    }
    return GP_OK;
}
