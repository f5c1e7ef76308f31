/*
 * gpi_layer.h - what every layer file shares: the entry each kind gives the
 * list of kinds, and allocation of the layer record, its parameters, buffers
 * and scratch (not installed).
 *
 * gp_layer_create makes every kind the same way: check the options
 * (kind->check), a zeroed record with the spec, the input shape and
 * kind->priv_bytes of private state, ops->out_shape (may the layer take the
 * input?), kind->init (parameters, buffers, and what does not depend on the
 * input size), then ops->reshape (shapes, FLOPs, description and scratch
 * for the input). A reshape later runs the same ops->reshape, so a reshaped
 * layer is planned exactly as a fresh one.
 */
#ifndef GPI_LAYER_H
#define GPI_LAYER_H

#include "gpi.h"
#include "gpool_nn.h"

/* Alignment of every float array a layer allocates (one cache line, one zmm). */
#define GPI_ALIGN 64

/* One entry of the list of kinds (layer.c holds the list, in gp_layer_kind
 * order; each kind's file defines its entry). */
typedef struct {
    gp_layer_ops        ops;          /* its layers' l->ops points here */
    size_t              priv_bytes;   /* zeroed private state, l->priv */
    /* GP_ERR_ARG, naming the option, for options the kind cannot take. */
    gp_status         (*check)(const gp_layer_spec *spec);
    /* Parameters, buffers and size-independent state of a fresh record
     * whose spec and in are set; NULL for none. */
    gp_status         (*init)(gp_layer *l);
    /* The options as key=value words (gp_layer_spec_format); NULL for none. */
    int               (*format)(const gp_layer_spec *spec, char *buf, size_t len);
} gpi_layer_kind;

extern const gpi_layer_kind gpi_conv2d_kind, gpi_batchnorm2d_kind, gpi_relu_kind,
    gpi_sigmoid_kind, gpi_avgpool2d_kind, gpi_maxpool2d_kind, gpi_dropout_kind,
    gpi_flatten_kind, gpi_dense_kind, gpi_head_pool_kind, gpi_topk_pool_kind,
    gpi_adaptive_avgpool2d_kind, gpi_adaptive_maxpool2d_kind, gpi_spp_kind, gpi_attn_pool_kind,
    gpi_simpool_kind;

/* count zeroed floats, GPI_ALIGN-aligned; NULL on failure (count 0 gives a
 * valid one-float block so callers need no special case). */
float    *gpi_falloc(size_t count);

/* Zeroed, aligned bytes for non-float scratch (indices, masks). */
void     *gpi_balloc(size_t bytes);

/* Free what gpi_falloc/gpi_balloc returned (NULL is fine). */
void      gpi_free(void *p);

/* Append a parameter of dims[0..ndims) (value and grad zeroed); returns it
 * or NULL (with gp_last_error set) when out of memory or slots. */
gp_param *gpi_layer_add_param(gp_layer *l, const char *name, int ndims, const size_t *dims,
                              int fan_in, int fan_out, int is_bias);

/* Append a one-dimensional buffer of count zeroed floats; NULL on failure. */
gp_buffer *gpi_layer_add_buffer(gp_layer *l, const char *name, size_t count);

/* Free params, buffers, priv and l itself. A kind's destroy frees its own
 * scratch first, then calls this. */
void      gpi_layer_free(gp_layer *l);

/* destroy for kinds with no scratch beyond params, buffers and priv. */
void      gpi_layer_destroy_plain(gp_layer *l);

/* The last step of every reshape: l->in = in and l->out = what
 * ops->out_shape gives for it (out.n = in.n). */
void      gpi_layer_set_shapes(gp_layer *l, gp_shape in);

/* out_shape of the kinds whose output has the input's shape. */
gp_status gpi_same_shape(const gp_layer *l, gp_shape in, gp_shape *out);

/* GP_ERR_ARG, naming the kind, unless in.c is the channel count l was made
 * for (kinds whose parameters are per channel). */
gp_status gpi_check_channels(const gp_layer *l, gp_shape in);

/* GP_ERR_ARG (with the layer kind in the message) unless 1 <= n <= in.n. */
gp_status gpi_check_batch(const gp_layer *l, int n);

/* ------------------------------------------------ eval-mode fusion (net.c)
 * An eval forward needs nothing saved for backward, so conv2d can apply
 * the batchnorm2d and relu that follow it to each output image while the
 * image is still in cache, instead of in two more passes over memory. The
 * fused result is bit-identical to the layers run one after another. */

/* What conv2d applies to each finished output image, in this order. */
typedef struct {
    gp_layer *bn;           /* a batchnorm2d in eval mode, or NULL */
    int relu;               /* then max(y, 0) */
    int train;              /* (conv2d.c only) bn is in training: per image,
                               gather its statistics instead */
} gpi_epilogue;

/* conv2d's eval forward followed by epi on every output image. */
gp_status gpi_conv_forward_eval_fused(gp_layer *conv, int n, const float *x, float *y,
                                      const gpi_epilogue *epi);

/* Work out a batchnorm2d's eval affine from its running statistics and
 * parameters; then gpi_bn_eval_image applies it to one image (all
 * channels) in place. */
void      gpi_bn_eval_prepare(gp_layer *bn);
void      gpi_bn_eval_image(const gp_layer *bn, float *image);

/* max(v, 0) in place, with relu's NaN rule. */
void      gpi_relu_inplace(float *v, size_t count);

/* ------------------------------------------- training-mode fusion (net.c)
 * A training forward fuses too (conv2d.c): once every image is convolved,
 * the batchnorm2d takes its batch statistics channel by channel, then each
 * thread normalises (and relu clamps) the images it convolved, still in its
 * cache; backward builds the conv's output gradient chunk by chunk just
 * before the conv reads it. The functions below are the layers' own verbs
 * cut into those steps, so the fused pass gives the layers' bits. */

/* conv2d's training forward with epi (bn: batch statistics): y_conv gets
 * the conv's output when there is a batchnorm (its backward reads it;
 * otherwise y_conv is not written and may be NULL), y the group's output.
 * *epi_s, when epi_s is not NULL: the seconds the calling thread spent in
 * the epilogue (wall clock), of *total_s for the whole call. */
gp_status gpi_conv_forward_train_fused(gp_layer *conv, int n, const float *x, float *y_conv,
                                       float *y, const gpi_epilogue *epi, double *epi_s,
                                       double *total_s);

/* Its backward: dy is the group's output gradient; the conv's output
 * gradient is built in work (which may be dy itself, not dx), then the
 * conv's dx (NULL: none) and parameter gradients as conv2d's backward. */
gp_status gpi_conv_backward_train_fused(gp_layer *conv, int n, const float *x,
                                        const float *y_conv, const float *y, const float *dy,
                                        float *work, float *dx, const gpi_epilogue *epi,
                                        double *epi_s, double *total_s);

/* A batchnorm2d's training forward in steps: begin (checks the batch,
 * GP_ERR_ARG), the statistics of channel c of the n images x (saved for
 * backward, running statistics updated, the affine set), then image by
 * image y = the affine of x, clamped by relu's rule when relu. */
gp_status gpi_bn_train_begin(gp_layer *bn, int n);
void      gpi_bn_train_stats(gp_layer *bn, int n, int c, const float *x);

/* Between begin and the statistics, the statistics' groups of every channel
 * that end in images [i0, i1) and start at image first or later, gathered
 * while a thread's just convolved images are in its cache (threads give
 * disjoint [i0, i1)); gpi_bn_train_stats gathers the rest and merges all
 * in its fixed order, so the results do not depend on who gathered what. */
void      gpi_bn_train_rows(gp_layer *bn, int n, int first, int i0, int i1, const float *x);
void      gpi_bn_train_image(const gp_layer *bn, const float *x, float *y, int relu);

/* Its backward in steps: channel c's parameter gradients from the n images
 * x and dy (relu: a relu follows, whose gradient mask then applies to dy,
 * recomputed from x and the forward's affine), then image by image dx
 * (may be dy). */
void      gpi_bn_grad_channel(gp_layer *bn, int n, int c, const float *x, const float *dy,
                              int relu);
void      gpi_bn_dx_image(const gp_layer *bn, const float *x, const float *dy, int relu,
                          float *dx);

/* relu's backward over count floats: dx = 0 where y <= 0, else dy (dx may
 * be dy). */
void      gpi_relu_backward_span(const float *y, const float *dy, float *dx, size_t count);

#endif /* GPI_LAYER_H */
