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

/* destroy for kinds with no scratch beyond params, buffers and priv. */
void      gpi_layer_destroy_plain(gp_layer *l);

#endif /* GPI_LAYER_H */
