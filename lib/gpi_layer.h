/*
 * gpi_layer.h - what every layer file shares: allocation of the layer
 * record, its parameters, buffers and scratch (not installed).
 */
#ifndef GPI_LAYER_H
#define GPI_LAYER_H

#include "gpi.h"
#include "gpool_nn.h"

/* Alignment of every float array a layer allocates (one cache line, one zmm). */
#define GPI_ALIGN 64

/* count zeroed floats, GPI_ALIGN-aligned; NULL on failure (count 0 gives a
 * valid one-float block so callers need no special case). */
float    *gpi_falloc(size_t count);

/* Zeroed, aligned bytes for non-float scratch (indices, masks). */
void     *gpi_balloc(size_t bytes);

/* Free what gpi_falloc/gpi_balloc returned (NULL is fine). */
void      gpi_free(void *p);

/* A zeroed layer with ops, shapes and priv_bytes of zeroed private state
 * (l->priv, freed by gpi_layer_free). GP_ERR_ARG on a non-positive shape. */
gp_status gpi_layer_new(gp_layer **out, const gp_layer_ops *ops, gp_shape in,
                        gp_shape out_shape, size_t priv_bytes);

/* Append a parameter of count floats (value and grad zeroed); returns it or
 * NULL (with gp_last_error set) when out of memory or slots. */
gp_param *gpi_layer_add_param(gp_layer *l, const char *name, size_t count,
                              int fan_in, int fan_out, int is_bias);

/* Append a buffer of count zeroed floats; NULL on failure. */
gp_buffer *gpi_layer_add_buffer(gp_layer *l, const char *name, size_t count);

/* Free params, buffers, priv and l itself. A kind's destroy frees its own
 * scratch first, then calls this. */
void      gpi_layer_free(gp_layer *l);

/* GP_ERR_ARG (with the layer kind in the message) unless 1 <= n <= in.n. */
gp_status gpi_check_batch(const gp_layer *l, int n);

/* destroy for kinds with no scratch beyond params, buffers and priv. */
void      gpi_layer_destroy_plain(gp_layer *l);

/* ------------------------------------------------ eval-mode fusion (net.c)
 * An eval forward needs nothing saved for backward, so conv2d can apply
 * the batchnorm2d and relu that follow it to each output image while the
 * image is still in cache, instead of in two more passes over memory. The
 * fused result is bit-identical to the layers run one after another. */

/* What conv2d applies to each finished output image, in this order. */
typedef struct {
    gp_layer *bn;           /* a batchnorm2d in eval mode, or NULL */
    int relu;               /* then max(y, 0) */
} gpi_epilogue;

/* Kind tests on the layer's ops. */
int       gpi_is_conv2d(const gp_layer *l);
int       gpi_is_batchnorm2d(const gp_layer *l);
int       gpi_is_relu(const gp_layer *l);

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

#endif /* GPI_LAYER_H */
