/*
 * gpi_conv2d.h - the conv2d layer's private state and what its three files
 * share (not installed): conv2d.c (the layer: options, shapes, the choice
 * of path, the verbs and their threading), conv_direct.c (the direct path's
 * geometry, tables, packed weights and chunks) and conv_im2col.c (the
 * im2col + sgemm path). gpi_conv.h is the separate contract between
 * conv_direct.c and the per-ISA kernels.
 */
#ifndef GPI_CONV2D_H
#define GPI_CONV2D_H

#include "gpi_conv.h"
#include "gpi_layer.h"

/* Target gemm width (images x P) of one chunk; measured 256..1024 alike. */
#define GPI_CONV_COLS 512

/* Target positions (images x H x W) of one direct chunk: long enough that
 * the weight-gradient tiles amortise their final horizontal sums, short
 * enough that 8 channels of dy stay in L1 (measured 512..2048: 1024 best). */
#define GPI_DIRECT_Q 1024

/* Smallest map (H x W) the AVX2 products read from shifted copies: below
 * it an image's last vector is too large a share of its positions. */
#define GPI_COPIES_MIN_P 100

/* Bytes of a direct layer's gradient accumulators for the chunks one
 * thread's range may have taken by others in a backward (each stolen
 * chunk sums into its own). */
#define GPI_STEAL_BYTES (128 * 1024)

/* Where the products of one direction (forward, or backward) run. */
typedef struct {
    int    in_place;            /* 1: on the NCHW tensors, one image per product
                                 * (the weight gradient takes a chunk at once) */
    size_t cs;                  /* channel stride of the planes the products read */
    void  *masks;               /* [taps][mld] lane masks, the kernels' format */
    size_t mld;
    int   *off_f, *off_b;       /* row offsets of the forward / backward-data products */
} gpi_layout;

/* The direct path's geometry, tables and packed weights. */
typedef struct {
    const gpi_conv_kernels *k;  /* NULL: the im2col path */
    int         nb;             /* most images per chunk */
    int         taps;           /* k * k */
    size_t      margin;         /* stacked: readable floats before each plane's data */
    size_t      ld_out;         /* stacked: images x P rounded up, the product row stride */
    int        *tap_f, *tap_b;  /* tap (mask row) of each row of the two products */
    float      *wf, *wb, *bias; /* weights packed for those products, bias padded */
    gpi_layout  lay[2];         /* in place and/or stacked */
    const gpi_layout *fwd, *bwd;
    /* Shifted copies (kernels without exact reads, maps of at least
     * GPI_COPIES_MIN_P): forward and backward-data run one image at a time
     * on k zero-padded copies of each input plane, copy kx shifted by
     * kx - pad columns, so no row needs a lane mask and the products write
     * the NCHW outputs in place; the weight gradient stays on bwd. */
    int         copies;
    size_t      ps;             /* floats per copy plane ((H + 2 pad) x W and slack) */
    int        *off_cf, *off_cb; /* row offsets of the two products in the copies */
    void       *copy_masks;     /* [k][copy_mld] the pixels of a map copy kx holds */
    size_t      copy_mld;
} gpi_direct;

/* A conv2d layer's plan for its current input shape and maximum batch. */
typedef struct {
    int    cin, h, w, cout, kh, kw, stride, pad, hout, wout;
    int    has_bias;
    int    x_is_cols;   /* 1x1, stride 1, no padding: x_i is its own column matrix */
    int    chunk;       /* most images per gemm (im2col) or direct chunk */
    int    slots;       /* threads the scratch was sized for */
    size_t K, P;        /* rows of the column matrix, output pixels per map */
    size_t cols_floats; /* im2col: columns of one chunk, rounded to a cache line */
    size_t slot_floats; /* per-thread scratch (0: none) */
    size_t acc_floats;  /* one gradient accumulator: weight then bias */
    int    acc_count;   /* direct: accumulators, 1 + steal_tail per thread */
    int    steal_tail;  /* direct: chunks at the back of a range that another
                         * thread may take in a backward */
    size_t workspace_bytes;
    float *scratch;     /* slots x slot_floats */
    float *acc;         /* gradient accumulators: im2col one per thread but
                         * thread 0 (which uses the grads), direct one per
                         * chunk */
    uint64_t *claims;   /* per owner: chunks of its range taken from the front
                         * (low half) and the back (high half) */
    gpi_direct d;
} gpi_conv;

/* What GPOOL_CONV asks for: the widest path allowed, and whether the shape
 * rule is overridden (a forced path runs wherever its kernels can). */
typedef struct {
    gp_isa widest;
    int    forced;
} gpi_conv_choice;

/* Thread-private blocks start on a cache line so threads never share one. */
size_t    gpi_round_floats(size_t count);

/* dst[i] += src[i] (elementwise, so in any grouping the same result). */
void      gpi_conv_add_rows(float *restrict dst, const float *restrict src, size_t count);

/* ------------------------------------------------------------ direct path */

/* Kernels of the direct path for c, or NULL for im2col: the widest the CPU
 * offers (and GPOOL_CONV allows), where the shape fits and, unless forced,
 * where they pay. */
const gpi_conv_kernels *gpi_direct_pick(const gpi_conv *c, gpi_conv_choice ch);

/* Tables, packed weights and per-thread buffers of the direct path for
 * max_batch images; leaves c->d.k NULL (im2col) when the planes are too
 * large for int offsets. */
gp_status gpi_direct_alloc(gpi_conv *c, int max_batch);

/* Free the direct path's tables and packed weights. */
void      gpi_direct_free(gpi_conv *c);

/* Pack the weights for the forward product (with the bias), or for the
 * backward-data product (flipped kernel). */
void      gpi_pack_forward(const gpi_conv *c, const float *w, const float *bias);
void      gpi_pack_backward(const gpi_conv *c, const float *w);

/* Images [i0, i0 + nb) of a forward, on thread t's buffers. */
void      gpi_direct_forward_chunk(const gpi_conv *c, const float *x, float *y, int i0, int nb,
                                   int t);

/* Weight and bias gradients of images [i0, i0 + nb) added into
 * accumulator acc (zeroed first if fresh), then dx unless it is NULL;
 * thread t's buffers. */
void      gpi_direct_backward_chunk(const gpi_conv *c, const float *x, const float *dy,
                                    float *dx, int i0, int nb, int t, int acc, int fresh);

/* The accumulator of chunk j of the count of owner u's range: one for
 * all the chunks u runs itself, one for each of the (at most steal_tail)
 * chunks another thread takes from its back. */
int       gpi_direct_acc_of(const gpi_conv *c, int u, int count, int j, int stolen);

/* Parameter gradients = owner u's chunks' sums added in chunk order, the
 * owners in order (as nt threads that each ran their own range would
 * have): u's range has count[u] chunks, the first own[u] run by u. */
void      gpi_direct_reduce(gp_layer *l, const int *count, const int *own, int nt);

/* ------------------------------------------------------------ im2col path */

/* Scratch of the im2col path for max_batch images. */
gp_status gpi_im2col_alloc(gpi_conv *c, int max_batch);

/* Images [i0, i0 + nb) of a forward through thread scratch slot. */
void      gpi_im2col_forward_chunk(const gpi_conv *c, const float *weight, const float *bias,
                                   const float *x, float *y, int i0, int nb, float *slot);

/* Where thread t accumulates parameter gradients (zeroed): thread 0 in the
 * gradients themselves. */
typedef struct {
    float *dw, *db;
} gpi_conv_acc;

gpi_conv_acc gpi_im2col_thread_acc(gp_layer *l, int t);

/* Gradients of images [i0, i0 + nb) into a, then dx unless it is NULL. */
void      gpi_im2col_backward_chunk(const gpi_conv *c, const float *weight, const float *x,
                                    const float *dy, float *dx, int i0, int nb, float *slot,
                                    gpi_conv_acc a);

/* grad = acc_0 + acc_1 + ... in thread order (deterministic). */
void      gpi_im2col_reduce(gp_layer *l, int nt);

#endif /* GPI_CONV2D_H */
