/*
 * gpool_nn.h - CNN layers, networks, optimizers, checkpoints and data files
 * of libgpool (public API, part two; gpool.h holds the pooling kernels).
 *
 * Overview
 * --------
 * Tensors are float32, NCHW, batch first. A layer is made for a maximum
 * batch (gp_shape.n of its input); every forward/backward call passes the
 * actual batch n <= that maximum, so the last partial batch of an epoch runs
 * without reallocating. Layers own their parameters, gradients and scratch;
 * a gp_net owns its layers and the activations between them. Nothing is
 * allocated inside a training step.
 *
 * Every layer kind implements the same verbs through a small table of
 * function pointers (gp_layer_ops): forward, backward, out_shape, reshape,
 * destroy. backward OVERWRITES the gradients of the layer's parameters (one
 * backward per step, so there is nothing to zero) and writes dx unless dx is
 * NULL (the first layer of a network needs no input gradient). reshape
 * re-plans a layer for another input size or maximum batch, keeping its
 * parameters, so a trained network can run at another input size in place
 * (gp_net_reshape) instead of being rebuilt.
 *
 * The layer kinds are one list (gp_layer_kind): each has a name (its
 * layers' ops->kind and the kind in checkpoint file names) and typed
 * options (gp_layer_spec); gp_layer_create makes a layer of any kind from
 * its spec, and each layer keeps the spec it was made from.
 *
 * Every type has one constructor named _create and one destructor named
 * _destroy (gp_net, gp_optim, gp_idx, gp_npy_array, and every layer kind, whose layers
 * gp_layer_destroy frees). Counters say what they count: _floats for
 * float elements, _tensors for whole tensors.
 *
 * Threading: layers split work with OpenMP over images or channels with a
 * static schedule, and sgemm runs on OpenBLAS's OpenMP build, so one thread
 * pool serves both. For a fixed thread count results are bit-identical from
 * run to run.
 *
 * FLOPs are forward FLOPs per image, counted as 2 x multiply-adds (plus one
 * per elementwise operation where a layer has no multiply-adds).
 *
 * Example: a tiny net trained for one step with Adam, then evaluated at 32x32
 * ---------------------------------------------------------------------------
 *     gp_shape in = { .n = 64, .c = 1, .h = 28, .w = 28 };
 *     gp_net *net;
 *     gp_layer *l;
 *     gp_net_create(&net, in);
 *     gp_conv2d_create(&l, gp_net_out_shape(net), 8, 3, 3, 1, 1, 1);
 *     gp_net_add(net, l);
 *     gp_relu_create(&l, gp_net_out_shape(net));           gp_net_add(net, l);
 *     gp_conv2d_create(&l, gp_net_out_shape(net), 10, 1, 1, 1, 0, 1);
 *     gp_net_add(net, l);
 *     gp_head_pool_create(&l, gp_net_out_shape(net), GP_HEAD_AVG);
 *     gp_net_add(net, l);                                  // output 10 x 1 x 1
 *     gp_net_finalize(net);
 *
 *     gp_rng rng;
 *     gp_rng_seed(&rng, 0);
 *     gp_net_init(net, GP_INIT_TORCH_DEFAULT, 0.0f, &rng);
 *
 *     gp_optim_desc od = gp_optim_defaults(GP_OPTIM_ADAM);
 *     od.lr = 3e-4f;
 *     gp_optim *opt;
 *     gp_optim_create(&opt, &od, net);
 *
 *     const float *logits;
 *     float loss, dlogits[64 * 10];
 *     gp_net_forward(net, 64, x, GP_TRAIN, &logits);
 *     gp_softmax_xent(64, 10, logits, labels, 0, &loss, dlogits, NULL);
 *     gp_net_backward(net, 64, dlogits);
 *     gp_optim_step(opt, od.lr);
 *
 *     gp_shape big = { .n = 16, .c = 1, .h = 32, .w = 32 };
 *     gp_net_reshape(net, big);                 // the same weights, 32x32 inputs
 *     gp_net_forward(net, 16, x32, GP_EVAL, &logits);
 *
 *     gp_optim_destroy(opt);
 *     gp_net_destroy(net);
 *
 * Errors follow gpool.h: a gp_status, and gp_last_error() for the message.
 */
#ifndef GPOOL_NN_H
#define GPOOL_NN_H

#include <stddef.h>
#include <stdint.h>

#include "gpool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ basics */

/* Shape of a batch: n images of c x h x w. A feature vector is c x 1 x 1. */
typedef struct {
    int n, c, h, w;
} gp_shape;

/* Floats in one image of shape s (c * h * w). */
size_t      gp_shape_image_size (gp_shape s);

/* Training or inference: batchnorm and dropout behave differently. */
typedef enum { GP_EVAL = 0, GP_TRAIN = 1 } gp_mode;

/* Deterministic generator (xoshiro256**), seeded by splitmix64. */
typedef struct {
    uint64_t s[4];
} gp_rng;

/* Seed rng; the same seed always gives the same stream. */
void        gp_rng_seed         (gp_rng *rng, uint64_t seed);

/* Next 64 random bits. */
uint64_t    gp_rng_next         (gp_rng *rng);

/* Uniform float in [lo, hi). */
float       gp_rng_uniform      (gp_rng *rng, float lo, float hi);

/* Standard normal (Box-Muller in double). */
double      gp_rng_normal       (gp_rng *rng);

/* Uniform integer in [0, bound), without modulo bias. */
uint64_t    gp_rng_below        (gp_rng *rng, uint64_t bound);

/* Fisher-Yates shuffle of idx[0..count). */
void        gp_rng_shuffle      (gp_rng *rng, int *idx, size_t count);

/* ============================================================ layers */

/* Most dimensions a parameter or buffer has (a conv2d weight has four). */
#define GP_TENSOR_MAX_DIMS 4

/* A learnable tensor with its gradient (both owned by the layer). */
typedef struct {
    const char *name;       /* "weight", "bias", "p", "r", "alpha" ... */
    float      *value;
    float      *grad;
    size_t      count;      /* floats: the product of dims */
    int         ndims;      /* 1 .. GP_TENSOR_MAX_DIMS */
    size_t      dims[GP_TENSOR_MAX_DIMS];  /* PyTorch's shape: [cout, cin, kh, kw] for a
                                            * conv2d weight, [out, in] for dense, else [count] */
    int         fan_in;     /* for initializers; 0 for scalars */
    int         fan_out;
    int         is_bias;    /* initialized by the bias rule, not the weight rule */
    int         fixed_init; /* 1: keep the layer's own initial value (gem p, bn gamma) */
} gp_param;

/* Non-learned state that checkpoints carry (batchnorm running statistics). */
typedef struct {
    const char *name;       /* "running_mean", "running_var" */
    float      *value;
    size_t      count;      /* floats: the product of dims */
    int         ndims;
    size_t      dims[GP_TENSOR_MAX_DIMS];
} gp_buffer;

#define GP_LAYER_MAX_PARAMS  4
#define GP_LAYER_MAX_BUFFERS 4

/* The layer kinds of the library, one list: gp_layer_kind_name gives each
 * its name, gp_layer_create makes a layer of it from a gp_layer_spec. */
typedef enum {
    GP_LAYER_CUSTOM = 0,     /* made outside the library, with its own gp_layer_ops */
    GP_LAYER_CONV2D,         /* gp_conv2d_create */
    GP_LAYER_BATCHNORM2D,    /* gp_batchnorm2d_create */
    GP_LAYER_RELU,           /* gp_relu_create */
    GP_LAYER_SIGMOID,        /* gp_sigmoid_create */
    GP_LAYER_AVGPOOL2D,      /* gp_pool2d_create with GP_POOL_AVG */
    GP_LAYER_MAXPOOL2D,      /* gp_pool2d_create with GP_POOL_MAX */
    GP_LAYER_DROPOUT,        /* gp_dropout_create */
    GP_LAYER_FLATTEN,        /* gp_flatten_create */
    GP_LAYER_DENSE,          /* gp_dense_create */
    GP_LAYER_HEAD_POOL,      /* gp_head_pool_create */
    GP_LAYER_TOPK_POOL,      /* gp_topk_pool_create */
    GP_LAYER_ADAPTIVE_AVGPOOL2D, /* gp_adaptive_pool2d_create with GP_POOL_AVG */
    GP_LAYER_ADAPTIVE_MAXPOOL2D, /* gp_adaptive_pool2d_create with GP_POOL_MAX */
    GP_LAYER_SPP,            /* gp_spp_create */
    GP_LAYER_ATTN_POOL,      /* gp_attn_pool_create */
    GP_LAYER_SIMPOOL         /* gp_simpool_create */
} gp_layer_kind;

/* Number of entries of gp_layer_kind, GP_LAYER_CUSTOM included. */
#define GP_LAYER_NKINDS 17

/* Most levels a spatial pyramid (gp_spp_create) has. */
#define GP_SPP_MAX_LEVELS 8

/* Pooling ops for heads: a reduction over H x W per channel. */
typedef enum {
    GP_HEAD_AVG = 0,     /* mean (the dispatched global pooling kernels) */
    GP_HEAD_MAX,         /* max (the dispatched kernels) */
    GP_HEAD_GEM,         /* ((1/N) sum max(x,eps)^p)^(1/p), learnable p (init 3), eps 1e-6 */
    GP_HEAD_LSE,         /* (1/r) log((1/N) sum exp(r x)), max-subtracted, learnable r (init 10) */
    GP_HEAD_MIXED,       /* a max + (1-a) avg, a = sigmoid(learnable scalar, init 0 so a = 0.5) */
    GP_HEAD_AVGMAX,      /* (avg + max) / 2 */
    GP_HEAD_CATAVGMAX    /* [avg, max]: 2C features */
} gp_head_op;

/* What a layer is apart from its input shape: its kind and the options of
 * that kind, in the union member named after it (avgpool2d and maxpool2d
 * share pool2d, the adaptive ones adaptive_pool2d; relu, sigmoid and
 * flatten have none). The options mean what
 * the kind's _create arguments of the same names mean. */
typedef struct {
    gp_layer_kind kind;
    union {
        struct { int cout, kh, kw, stride, pad, bias; } conv2d;
        struct { float momentum, eps; }                 batchnorm2d;
        struct { int k, stride, pad, ceil_mode; }       pool2d;
        struct { float p; uint64_t seed; }              dropout;
        struct { int out_features, bias; }              dense;
        struct { gp_head_op op; }                       head_pool;
        struct { int k; float fraction; }               topk_pool;
        struct { int size; }                            adaptive_pool2d;
        struct { int nlevels; int levels[GP_SPP_MAX_LEVELS]; gp_pool_op op; } spp;
        struct { int heads; }                           attn_pool;
        struct { int heads; }                           simpool;
    } u;
} gp_layer_spec;

typedef struct gp_layer gp_layer;

/* The verbs every layer kind implements. */
typedef struct {
    const char *kind;   /* "conv2d", "relu", ...: gp_layer_kind_name of the kind */
    /* y = f(x) for n images (n <= in.n). GP_TRAIN keeps what backward needs. */
    gp_status (*forward) (gp_layer *l, int n, const float *x, float *y, gp_mode mode);
    /* Given dy, overwrite the parameter gradients and (unless dx is NULL)
     * write dx. x and y are the forward call's input and output. */
    gp_status (*backward)(gp_layer *l, int n, const float *x, const float *y,
                          const float *dy, float *dx);
    /* Free everything the layer owns, including l. */
    void      (*destroy) (gp_layer *l);
    /* The output shape for inputs of shape in, or an error saying why the
     * layer cannot take them (a channel or feature count its parameters do
     * not fit, a map its window does not fit); changes nothing. NULL: the
     * layer cannot be reshaped. */
    gp_status (*out_shape)(const gp_layer *l, gp_shape in, gp_shape *out);
    /* Take inputs of shape in (which out_shape accepts; in.n the new maximum
     * batch) from now on: shapes, FLOPs, workspace, description and scratch
     * become what creating the layer for in gives, and the parameters and
     * buffers are kept. On failure (out of memory) the layer is unchanged. */
    gp_status (*reshape)(gp_layer *l, gp_shape in);
} gp_layer_ops;

/* One layer: its verbs, shapes, parameters and costs. */
struct gp_layer {
    const gp_layer_ops *ops;
    gp_layer_spec spec;             /* what it was made from (kind GP_LAYER_CUSTOM if
                                     * not by the library) */
    gp_shape   in, out;             /* n = maximum batch */
    gp_param   params[GP_LAYER_MAX_PARAMS];
    int        nparams;
    gp_buffer  buffers[GP_LAYER_MAX_BUFFERS];
    int        nbuffers;
    double     flops;               /* forward FLOPs per image */
    size_t     workspace_bytes;     /* scratch and saved state at maximum batch */
    char       desc[64];            /* e.g. "3x3/1 pad 1, bias" for the build log */
    void      *priv;                /* kind-specific state */
};

/* "conv2d", "batchnorm2d", "relu", "sigmoid", "avgpool2d", "maxpool2d",
 * "dropout", "flatten", "dense", "head_pool", "topk_pool",
 * "adaptive_avgpool2d", "adaptive_maxpool2d", "spp", "attn_pool", "simpool"
 * ("custom" for GP_LAYER_CUSTOM, NULL out of range): its layers' ops->kind
 * and checkpoints' <kind>. */
const char *gp_layer_kind_name  (gp_layer_kind kind);

/* Parse a name from gp_layer_kind_name; GP_ERR_NOTFOUND if unknown. */
gp_status   gp_layer_kind_parse (const char *name, gp_layer_kind *kind);

/* A layer of spec for inputs of shape in (in.n = maximum batch): what the
 * kind's own _create does with the same options. */
gp_status   gp_layer_create     (gp_layer **out, gp_shape in, const gp_layer_spec *spec);

/* spec's options as space-separated key=value words named as the
 * gp_layer_spec fields ("cout=8 kh=3 kw=3 stride=1 pad=1 bias=1"; "" for a
 * kind without options), floats as the shortest decimal that reads back as
 * them; for programs that rebuild a net elsewhere (tests/parity.py). Returns
 * what snprintf would, or -1 for a kind out of range. */
int         gp_layer_spec_format(const gp_layer_spec *spec, char *buf, size_t len);

/* Run a layer's verbs (they check n against the layer's maximum batch). */
gp_status   gp_layer_forward    (gp_layer *l, int n, const float *x, float *y, gp_mode mode);
gp_status   gp_layer_backward   (gp_layer *l, int n, const float *x, const float *y,
                                 const float *dy, float *dx);

/* The output shape l would give inputs of shape in (ops->out_shape). */
gp_status   gp_layer_out_shape  (const gp_layer *l, gp_shape in, gp_shape *out);

/* Re-plan l for inputs of shape in (ops->out_shape, then ops->reshape); on
 * failure l is unchanged. A layer of a net is reshaped with its net
 * (gp_net_reshape), which also reallocates the activations between them. */
gp_status   gp_layer_reshape    (gp_layer *l, gp_shape in);

/* Free l (ops->destroy); NULL is fine. */
void        gp_layer_destroy    (gp_layer *l);

/* Learnable floats in the layer (the sum of its parameters' counts). */
size_t      gp_layer_param_floats(const gp_layer *l);

/* 2-D convolution, cross-correlation as in PyTorch; weight cout x cin x kh x kw.
 * Two execution paths, chosen here once per layer by a fixed rule (never by
 * timing, so results are reproducible): "same" convolutions (stride 1, odd
 * square kernel k > 1, pad (k - 1) / 2) with few channels run direct
 * kernels of the widest instruction set the CPU has and GPOOL_CPU_MASK /
 * gp_set_cpu_mask leave visible: AVX-512 up to 192 input and output
 * channels, AVX2+FMA up to 32 in and 64 out (64 and 64 on maps of at most
 * 64 pixels), where they were measured faster; everything else, and CPUs
 * without AVX2, runs im2col + sgemm over chunks of images (a 1x1 stride-1
 * unpadded conv skips im2col). l->desc ends in ", direct avx512" or
 * ", direct avx2" when a direct path was chosen. A reshape chooses again,
 * by the same rule, for the new size.
 * GPOOL_CONV (read here) overrides the rule: "im2col" everywhere, or
 * "avx2" / "avx512" for every conv the direct kernels handle, 1x1 included
 * (with the next narrower path where that ISA is unavailable); "auto" or
 * unset is the rule, anything else fails with GP_ERR_ENV. Paths differ in
 * summation order only: results agree within float rounding, and each path
 * is bit-identical from run to run for a fixed thread count. */
gp_status   gp_conv2d_create    (gp_layer **out, gp_shape in, int cout, int kh, int kw,
                                 int stride, int pad, int bias);

/* max(x, 0); the gradient at exactly 0 is 0 (as PyTorch). */
gp_status   gp_relu_create      (gp_layer **out, gp_shape in);

/* 1 / (1 + exp(-x)). */
gp_status   gp_sigmoid_create   (gp_layer **out, gp_shape in);

/* Local average (GP_POOL_AVG: kind avgpool2d) or max (GP_POOL_MAX:
 * maxpool2d) pooling over k x k windows, PyTorch semantics: padding counts
 * as -inf for max and as zeros in the divisor for avg (count_include_pad =
 * 1); ceil_mode keeps a last window that starts inside the input or left
 * pad. Max ties and backward go to the first maximum in the window. */
gp_status   gp_pool2d_create    (gp_layer **out, gp_shape in, gp_pool_op op,
                                 int k, int stride, int pad, int ceil_mode);

/* Batch normalization over N, H, W per channel. Train: batch statistics,
 * running stats updated with momentum and the unbiased variance; eval: the
 * running stats. PyTorch defaults: momentum 0.1, eps 1e-5. gamma = 1, beta = 0. */
gp_status   gp_batchnorm2d_create(gp_layer **out, gp_shape in, float momentum, float eps);

/* Fully connected: y = W x + b over the c*h*w features of each image;
 * weight is out_features x (c*h*w), output out_features x 1 x 1. A reshape
 * must keep c*h*w. */
gp_status   gp_dense_create     (gp_layer **out, gp_shape in, int out_features, int bias);

/* Inverted dropout with probability p in training; identity in eval. The
 * mask stream is seeded here and advances on every training forward (a
 * reshape continues it). */
gp_status   gp_dropout_create   (gp_layer **out, gp_shape in, float p, uint64_t seed);

/* c x h x w -> (c*h*w) x 1 x 1 (a copy; the memory order is unchanged). */
gp_status   gp_flatten_create   (gp_layer **out, gp_shape in);

/* "avg", "max", "gem", "lse", "mixed", "avgmax", "catavgmax". */
const char *gp_head_op_name     (gp_head_op op);

/* Parse a name from gp_head_op_name(); GP_ERR_NOTFOUND if unknown. */
gp_status   gp_head_op_parse    (const char *name, gp_head_op *op);

/* Global pooling layer for heads: c x h x w -> c x 1 x 1 (2c for catavgmax). */
gp_status   gp_head_pool_create (gp_layer **out, gp_shape in, gp_head_op op);

/* Top-k pooling, c x h x w -> c x 1 x 1: the mean of the k largest of each
 * plane (the dispatched GP_POOL_TOPK kernels: ties to the first in scan
 * order, backward dy / k to each of the k). k > 0 takes min(k, h x w);
 * k = 0 takes the fraction f in (0, 1]: ceil(f h w) clamped to 1..h x w, f
 * read as the decimal that gives the float (0.1f as 0.1), so a reshape to
 * another size keeps the fraction. */
gp_status   gp_topk_pool_create (gp_layer **out, gp_shape in, int k, float fraction);

/* Adaptive average (GP_POOL_AVG: kind adaptive_avgpool2d) or max
 * (GP_POOL_MAX: adaptive_maxpool2d) pooling to size x size, any input size:
 * PyTorch's AdaptiveAvgPool2d / AdaptiveMaxPool2d (bin i covers
 * floor(i H / size) .. ceil((i + 1) H / size) - 1; the dispatched
 * GP_POOL_ADAPTIVE_* kernels). Max ties and backward go to the first
 * maximum of a bin. */
gp_status   gp_adaptive_pool2d_create(gp_layer **out, gp_shape in, gp_pool_op op, int size);

/* Spatial pyramid pooling (He et al. 2014), c x h x w -> (c sum l^2) x 1 x 1:
 * for each of levels[0..nlevels) (1..GP_SPP_MAX_LEVELS distinct sizes, each
 * 1..64) the adaptive op (GP_POOL_AVG or GP_POOL_MAX) to l x l, flattened
 * per image (channel, bin row, bin column) and concatenated in level order,
 * as torch.cat([adaptive_pool(x, l).flatten(1) for l in levels], 1). The
 * length does not depend on h and w, so any input size fits a dense after it. */
gp_status   gp_spp_create       (gp_layer **out, gp_shape in, const int *levels, int nlevels,
                                 gp_pool_op op);

/* Attention pooling for heads (GCNet's context block, attention-based MIL
 * pooling): c x h x w -> c x 1 x 1. A 1x1 conv without bias (weight
 * heads x c x 1 x 1, over all c channels) gives each of the heads one score
 * per position; a softmax over the h x w positions turns each score map into
 * weights; output channel k is the weighted sum of its own plane under the
 * weights of its group, the k / (c / heads)-th. heads must divide c. */
gp_status   gp_attn_pool_create (gp_layer **out, gp_shape in, int heads);

/* SimPool (Psomas et al., ICCV 2023) as timm's SimPool2d with its defaults
 * (no qkv bias, no qk norm, no gamma): c x h x w -> c x 1 x 1. The query
 * is the GAP vector of x, projected by q_weight (c x c); the keys are the
 * layer-normalised positions (over the c channels, eps 1e-5, learned
 * norm_weight and norm_bias, initial 1 and 0) projected by k_weight (c x c);
 * the values are the layer-normalised positions themselves. Each of the
 * heads (heads must divide c) takes its c / heads channels of query and
 * keys, a softmax over the h x w positions of their dot products scaled by
 * (c / heads)^-1/2, and the weighted average of its channels of the values. */
gp_status   gp_simpool_create   (gp_layer **out, gp_shape in, int heads);

/* The attention map of an attn_pool or simpool layer's last forward (train
 * or eval): *weights points at *n x *heads planes of l->in.h x l->in.w
 * softmax weights (image-major, each plane summing to 1), owned by the
 * layer and valid until its next forward or reshape; *n is that forward's
 * batch. An eval gp_net_forward runs a large batch in slices, each a call,
 * so the map is then the last slice's: forward the images wanted in one
 * call of gp_layer_forward (or a batch small enough for one slice).
 * GP_ERR_ARG for another kind, or before the first forward. */
gp_status   gp_attention_map    (const gp_layer *l, int *n, int *heads, const float **weights);
/* Softmax cross-entropy, mean over the batch, log-sum-exp stabilised.
 * sigmoid_inputs = 1 applies a sigmoid to the logits first (the tutorial's
 * loss on sigmoid outputs); dlogits (may be NULL) is then the gradient with
 * respect to the raw logits. *correct (may be NULL) counts argmax hits;
 * labels are class indices in [0, classes). */
gp_status   gp_softmax_xent     (int n, int classes, const float *logits, const int *labels,
                                 int sigmoid_inputs, float *loss, float *dlogits, int *correct);

/* ========================================================== networks */

typedef struct gp_net gp_net;

/* A sequential network for inputs of shape in (in.n = maximum batch). */
gp_status   gp_net_create       (gp_net **out, gp_shape in);

/* Append l (the net takes ownership, also on failure). l->in must equal
 * the current output shape. */
gp_status   gp_net_add          (gp_net *net, gp_layer *l);

/* Shape the next layer must accept (the input shape while empty). */
gp_shape    gp_net_out_shape    (const gp_net *net);

/* Allocate activations and their gradients; no layers may be added after.
 * A net needs at least one layer. */
gp_status   gp_net_finalize     (gp_net *net);

/* Re-plan a finalized net for inputs of shape in (in.n the new maximum
 * batch), in place, as darknet's resize verbs do: every layer is reshaped
 * (ops->reshape: the parameters and buffers stay, the scratch and the
 * activations are reallocated), so that a trained net runs at another
 * input size, or batch, with the same weights and the same results as a
 * net built for that size and given them. in.c must be the net's input
 * channels. First every layer's ops->out_shape is asked, in order: when one
 * refuses (a dense layer whose feature count would change, a window larger
 * than its map, a layer without a reshape verb) the error names it and the
 * net is unchanged. The old activations are freed before the new ones are
 * allocated, so a reshape never holds both. Out of memory part way, the
 * layers and activations are taken back to the old size; should even that
 * fail, passes are refused until a gp_net_reshape succeeds. Backward needs a training forward after
 * the reshape. */
gp_status   gp_net_reshape      (gp_net *net, gp_shape in);

/* Whether gp_net_reshape(net, in) would be refused for a shape, without
 * changing anything: GP_OK, or the error. When a layer refuses, *layer is
 * its index (else -1), *at the input it would get, and gp_last_error() its
 * own message (layer and at may be NULL). */
gp_status   gp_net_reshape_check(const gp_net *net, gp_shape in, int *layer, gp_shape *at);

/* Free the net, its layers and its activations. */
void        gp_net_destroy      (gp_net *net);

/* Number of layers, and layer i. */
int         gp_net_layer_count  (const gp_net *net);
gp_layer   *gp_net_layer        (gp_net *net, int i);

/* All parameters in layer order: how many tensors, and parameter i. */
int         gp_net_param_tensors(const gp_net *net);
gp_param   *gp_net_param        (gp_net *net, int i);

/* Learnable floats (the sum of every parameter's count). */
size_t      gp_net_param_floats (const gp_net *net);

/* Forward FLOPs per image. */
double      gp_net_flops        (const gp_net *net);

/* Analytic memory of one training step at the maximum batch, in bytes:
 *   params       4 x learnable floats (gp_net_param_floats)
 *   grads        the same (one gradient per parameter)
 *   optim_state  params x optim_floats_per_param (gp_optim_state_per_param)
 *   activations  every layer's output at the maximum batch, plus the two
 *                ping-pong gradient buffers of the largest output that
 *                backward uses (the input belongs to the caller)
 *   workspace    the sum of the layers' workspace_bytes
 *   total        the sum of the above. Allocator overhead is not counted. */
typedef struct {
    size_t params, grads, optim_state, activations, workspace, total;
} gp_mem_report;
gp_mem_report gp_net_memory     (const gp_net *net, size_t optim_floats_per_param);

/* Measured memory, as the library allocates it: the bytes of every block it
 * holds for parameters, gradients, optimizer state, activations, running
 * statistics and workspace (rounded to 64 bytes each; the small records of
 * layers, nets and optimizers are left out), now and at most at once since
 * the process started or the last gp_alloc_reset_peak. Process-wide. */
typedef struct {
    size_t current, peak;
} gp_alloc_stats;
gp_alloc_stats gp_alloc_stats_get(void);

/* Start a new peak: peak = current. */
void          gp_alloc_reset_peak(void);

/* Forward n images; *y points at the net's output (valid until the next call).
 * x is read in place, not copied: keep it unchanged until backward is done.
 * GP_EVAL runs the batch in cache-sized slices and folds each batchnorm2d
 * and relu that follows a conv2d into the conv (the same bits as layer by
 * layer on the direct conv paths; sgemm may round a slice differently);
 * the other layers' outputs are then not kept, and backward is refused. */
gp_status   gp_net_forward      (gp_net *net, int n, const float *x, gp_mode mode,
                                 const float **y);

/* Backward from dy (the loss gradient w.r.t. the output of the last forward,
 * which must have been GP_TRAIN with the same n). Layer 0 gets dx = NULL. */
gp_status   gp_net_backward     (gp_net *net, int n, const float *dy);

/* A training pass runs the net in parts: a layer on its own, or a conv2d
 * with the batchnorm2d and/or relu right after it fused into its epilogue
 * (the batch statistics gathered as the conv's chunks finish and merged
 * once every image is convolved, then each image normalised and clamped on
 * the thread that convolved it; backward
 * builds the conv's output gradient chunk by chunk just before the conv
 * reads it), with the same bits as the layers one by one. The part
 * functions run one part on the caller's activations, as gp_net_forward and
 * gp_net_backward do on the net's, so that a profiler can time each part.
 * Layers after layer i that its part takes in (0: i is a part alone, or
 * not the first layer of one). */
int         gp_net_part_fused   (const gp_net *net, int i);

/* The part that starts at layer i (count = 1 + gp_net_part_fused), training
 * mode: ys[k] is layer i + k's output; a fused part writes the conv's only
 * when a batchnorm2d reads it, and the last layer's (the others may be
 * NULL). *epi_s (unless NULL): the seconds the calling thread spent in the
 * epilogue, of *total_s (unless NULL) for the whole call (wall clock). */
gp_status   gp_net_part_forward (gp_net *net, int i, int n, const float *x, float *const *ys,
                                 double *epi_s, double *total_s);

/* Its backward: x and ys as in the part's forward, dy the gradient of its
 * last output; a fused part builds the conv's output gradient in work (the
 * size of the conv's output; may be dy itself, not dx), others ignore it.
 * dx may be NULL (no input gradient). */
gp_status   gp_net_part_backward(gp_net *net, int i, int n, const float *x,
                                 float *const *ys, const float *dy, float *work, float *dx,
                                 double *epi_s, double *total_s);

/* Weight initializers. */
typedef enum {
    GP_INIT_TORCH_DEFAULT = 0, /* kaiming_uniform(a = sqrt(5)); bias U(+-1/sqrt(fan_in)) */
    GP_INIT_XAVIER_UNIFORM,    /* U(+-sqrt(6 / (fan_in + fan_out))); bias = bias_value */
    GP_INIT_XAVIER_NORMAL,     /* N(0, 2 / (fan_in + fan_out)); bias = bias_value */
    GP_INIT_KAIMING_UNIFORM,   /* U(+-sqrt(6 / fan_in)) (relu gain); bias = bias_value */
    GP_INIT_KAIMING_NORMAL     /* N(0, 2 / fan_in); bias = bias_value */
} gp_init_kind;

/* Initialize every weight and bias of the net in layer order from rng.
 * bias_value is the constant for biases under every kind but the default.
 * Parameters marked fixed_init (batchnorm gamma/beta, gem p, lse r, mixed
 * alpha) keep their layer-defined values. */
gp_status   gp_net_init         (gp_net *net, gp_init_kind kind, float bias_value, gp_rng *rng);

/* "torch_default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal". */
const char *gp_init_name        (gp_init_kind kind);
gp_status   gp_init_parse       (const char *name, gp_init_kind *kind);

/* ======================================================== optimizers */

typedef enum { GP_OPTIM_SGD = 0, GP_OPTIM_ADAM = 1, GP_OPTIM_ADAMW = 2 } gp_optim_kind;

/* Hyper-parameters, with PyTorch's meaning and defaults (gp_optim_defaults). */
typedef struct {
    gp_optim_kind kind;
    float lr;              /* SGD 0.01 (PyTorch requires one), Adam/AdamW 1e-3 */
    float momentum;        /* SGD: 0 */
    float dampening;       /* SGD: 0 */
    int   nesterov;        /* SGD: 0 */
    float beta1, beta2;    /* Adam: 0.9, 0.999 */
    float eps;             /* Adam: 1e-8 */
    float weight_decay;    /* SGD/Adam: 0 (L2 added to the gradient); AdamW: 1e-2 (decoupled) */
} gp_optim_desc;

typedef struct gp_optim gp_optim;

/* PyTorch's defaults for kind. */
gp_optim_desc gp_optim_defaults (gp_optim_kind kind);

/* "sgd", "adam", "adamw". */
const char *gp_optim_name       (gp_optim_kind kind);
gp_status   gp_optim_parse      (const char *name, gp_optim_kind *kind);

/* An optimizer over every parameter of net (the net must outlive it).
 * Rejects what torch.optim rejects: negative lr, weight_decay, momentum or
 * eps, betas outside [0, 1), nesterov without momentum or with dampening. */
gp_status   gp_optim_create     (gp_optim **out, const gp_optim_desc *d, gp_net *net);

/* One update of every parameter with learning rate lr, PyTorch's rule:
 *   SGD:   g += wd p; b = mu b + (1 - damp) g (b = g at the first step);
 *          g = nesterov ? g + mu b : b; p -= lr g
 *   Adam:  g += wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 *          p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   AdamW: p *= 1 - lr wd, then the Adam update without the L2 term.
 * The float32 operations and their order are those of torch.optim 1.13's
 * CPU single-tensor code (foreach=False), so results match it bit for bit;
 * float hyper-parameters are taken as the shortest decimal that gives them
 * (0.9f as Python's 0.9), as PyTorch computes its scalars in double. */
gp_status   gp_optim_step       (gp_optim *o, float lr);

/* Floats of state per parameter float (SGD 0 or 1, Adam 2). */
size_t      gp_optim_state_per_param(const gp_optim *o);

/* Steps taken so far (t in the Adam update). */
int64_t     gp_optim_steps      (const gp_optim *o);

/* Set the step count (restoring a checkpoint). SGD's momentum buffer is
 * taken from the gradient at the step after steps = 0, as in PyTorch. */
gp_status   gp_optim_set_steps  (gp_optim *o, int64_t steps);

/* The hyper-parameters o was created with. */
gp_optim_desc gp_optim_get_desc (const gp_optim *o);

/* State tensor k (0 <= k < gp_optim_state_per_param(o)) of parameter i (in
 * gp_net_param order): as many floats as the parameter, owned by o. *name
 * (may be NULL) gets its checkpoint name: "momentum" (SGD), "exp_avg" or
 * "exp_avg_sq" (Adam, AdamW). NULL when i or k is out of range. */
float      *gp_optim_state      (const gp_optim *o, int i, int k, const char **name);

/* The parameter the optimizer updates as its i-th (gp_net_param(net, i) of
 * the net it was created over); NULL when i is out of range. */
gp_param   *gp_optim_param      (const gp_optim *o, int i);

/* Free the optimizer and its state (NULL is fine); the net is not touched. */
void        gp_optim_destroy    (gp_optim *o);

/* ======================================================= checkpoints */

/* Save the net's parameters, buffers and (unless o is NULL) optimizer state
 * to directory dir (created if missing), one .npy file per tensor:
 *   L<ii>_<kind>.<name>.npy           parameters and buffers (layer ii, two digits)
 *   L<ii>_<kind>.<name>.<state>.npy   optimizer state ("momentum", "exp_avg", "exp_avg_sq")
 *   optim.txt                         "kind", "steps" and hyper-parameters, one per line
 *   crc32.txt                         "<crc32 in 8 hex digits>  <file>" per file above
 * Each .npy is little-endian float32 ('<f4'), C order, with the tensor's
 * dims (gp_param.dims, gp_buffer.dims: PyTorch's shapes), so numpy.load
 * reads it without gpool. optim.txt lines are
 * "key value": kind, steps, nesterov, lr, momentum, dampening, beta1, beta2,
 * eps, weight_decay. The directory is written as "dir.tmp-XXXXXX", synced
 * and renamed into place, so dir never holds a half-written checkpoint; an
 * existing dir is replaced only if it holds nothing but checkpoint files
 * (L*.npy, optim.txt). Missing parent directories are created. */
gp_status   gp_checkpoint_save  (const char *dir, gp_net *net, const gp_optim *o);

/* Load what gp_checkpoint_save wrote into a net of the same architecture
 * (and o, unless NULL: the kind must match; steps and state are restored,
 * the hyper-parameters o was created with are kept). Every tensor's shape
 * must match and the checkpoint must hold no tensor the net lacks. Every
 * file is first verified as gp_checkpoint_verify does; one without
 * crc32.txt (an older release's) loads unverified. On failure nothing is
 * changed. */
gp_status   gp_checkpoint_load  (const char *dir, gp_net *net, gp_optim *o);

/* Check every file of checkpoint dir against its crc32.txt: GP_OK when all
 * match and every file is listed, GP_ERR_PARSE naming the first corrupt,
 * truncated or unlisted file, GP_ERR_IO for a listed file that is missing,
 * GP_ERR_NOTFOUND when dir has no crc32.txt (written before checksums). */
gp_status   gp_checkpoint_verify(const char *dir);

/* Write count floats with shape dims[0..ndims) (ndims 0..8) to path as a
 * float32 .npy: format 1.0, '<f4', C order, header padded with spaces so
 * the data starts at a multiple of 64 bytes (as numpy.save does). */
gp_status   gp_npy_write        (const char *path, const float *data,
                                 const size_t *dims, int ndims);

/* Read a float32 .npy of exactly count floats into data; dims/ndims
 * (may be NULL) receive its shape (up to 8 dims). Accepts format versions
 * 1.0 and 2.0, dtype '<f4' and C order only; GP_ERR_PARSE for anything
 * else, a shape that does not hold count floats, or a truncated file or
 * trailing bytes (data may then be partly overwritten). */
gp_status   gp_npy_read         (const char *path, float *data, size_t count,
                                 size_t *dims, int *ndims);

/* The element types gp_npy_array_create reads (numpy's '<f4', '|u1', '<i4',
 * '<i8'). */
typedef enum { GP_NPY_F32 = 0, GP_NPY_U8, GP_NPY_I32, GP_NPY_I64 } gp_npy_dtype;

/* A .npy array of any supported type: count elements of shape dims[0 ..
 * ndims) in C order, little-endian on disk, host order in data. */
typedef struct {
    gp_npy_dtype dtype;
    int          ndims;
    size_t       dims[8];
    size_t       count;
    void        *data;      /* owned by the gp_npy_array */
} gp_npy_array;

/* Bytes of one element of t; 0 for an unknown type. */
size_t      gp_npy_dtype_size   (gp_npy_dtype t);

/* Read a .npy array: the file path, or, with bytes non-NULL, the len bytes
 * at bytes (path then only names it in messages: an .npz member). Versions
 * 1.0 and 2.0, C order, the dtypes of gp_npy_dtype; exactly the shape's
 * bytes must follow the header. GP_ERR_PARSE names path and what is wrong. */
gp_status   gp_npy_array_create (gp_npy_array **out, const char *path,
                                 const void *bytes, size_t len);

/* Free a and its data (NULL is fine). */
void        gp_npy_array_destroy(gp_npy_array *a);

/* ============================================================== data */

/* An IDX file's contents (unsigned byte data only, as MNIST-style sets use). */
typedef struct {
    int      ndims;
    size_t   dims[4];
    uint8_t *data;          /* dims[0] x ... in C order, owned by the gp_idx */
} gp_idx;

/* The contents of an IDX file, raw or gzip-compressed (detected from its
 * first bytes). Checks the magic, the type byte (0x08), the dimension count,
 * that the payload holds exactly the product of the dimensions, and that
 * nothing follows it (nor the last gzip member: the error gives the offset). */
gp_status   gp_idx_create       (gp_idx **out, const char *path);

/* Free idx and its data (NULL is fine). A caller that keeps data sets
 * idx->data to NULL first. */
void        gp_idx_destroy      (gp_idx *idx);

#ifdef __cplusplus
}
#endif

#endif /* GPOOL_NN_H */
