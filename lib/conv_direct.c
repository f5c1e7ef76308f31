/*
 * conv_direct.c - conv2d's direct path ("same" convolutions on a CPU with
 * AVX2 or AVX-512): the kernels of conv_avx2.c / conv_avx512.c compute
 * forward, backward-data and backward-weights as matrix products whose rows
 * are shifted, lane-masked views of the input planes (gpi_conv.h). With the
 * tiny channel counts of the benchmark nets (8..64) sgemm never gets a
 * useful block size, while the direct kernels keep an 8-channel x
 * 48-position tile in registers and need no im2col. Three layouts, the
 * first two chosen per direction (gpi_direct_geometry):
 *   in place  - the AVX-512 kernels read and write the NCHW tensors
 *               directly, one image per product (the weight gradient runs
 *               over a chunk of images at once), where an image's H x W
 *               fills its last vector well: forward at 28x28 and 14x14,
 *               backward at 28x28;
 *   stacked   - a chunk of images is copied channel by channel into planes
 *               holding the images' maps back to back (7x7 maps fill whole
 *               vectors that way), with margins for the AVX2 kernels'
 *               whole-vector loads; results are copied back;
 *   copies    - for the AVX2 kernels on maps of at least GPI_COPIES_MIN_P
 *               pixels, both directions: each input plane copied k times
 *               into zero-padded planes, copy kx shifted by kx - pad
 *               columns, so a row is a plain shifted read with no lane mask
 *               (AVX2 masks cost a load per input vector); the products run
 *               one image at a time and write y and dx in place; the
 *               weight gradient stays on stacked planes (its sums, and so
 *               every result, the bits of the stacked path).
 * This file holds the geometry, the tables, the packed weights and one
 * chunk of each pass; conv2d.c splits the batch between threads.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "gpi_conv2d.h"

/* ------------------------------------------------------------ choice */

/* Shapes the direct kernels handle: "same" convolutions (gpi_conv.h). */
static int gpi_direct_fits(const gpi_conv *c)
{
    return c->stride == 1 && c->kh == c->kw && c->kh % 2 == 1 && c->pad == (c->kh - 1) / 2;
}

/* Where the direct kernels k were measured faster than im2col + sgemm
 * (batch 16-64, one thread, maps 7x7..56x56; sgemm used AVX-512 in every
 * run, so on an AVX2-only CPU the AVX2 bound is conservative). Not 1x1: that
 * is a plain sgemm without im2col already. AVX-512: up to 192 channels
 * (1.1-2.8x; at 256 sgemm is as fast or faster). AVX2: up to 32 input and
 * 64 output channels, or 64 on maps of at most 8x8 (1.05-1.7x; 64 channels
 * on 14x14 and larger maps ran 0.8x). */
static int gpi_direct_pays(const gpi_conv *c, const gpi_conv_kernels *k)
{
    if (c->kh == 1)
        return 0;
#ifdef GPOOL_HAVE_AVX512_KERNELS
    if (k == &gpi_conv_avx512)
        return c->cin <= 192 && c->cout <= 192;
#endif
    (void)k;
    return (c->cin <= 32 && c->cout <= 64) || (c->P <= 64 && c->cin <= 64 && c->cout <= 64);
}

const gpi_conv_kernels *gpi_direct_pick(const gpi_conv *c, gpi_conv_choice ch)
{
    const gpi_conv_kernels *k = NULL;
    if (!gpi_direct_fits(c))
        return NULL;
#ifdef GPOOL_HAVE_AVX2_KERNELS
    if (ch.widest >= GP_ISA_AVX2 && gp_cpu_has(GP_ISA_AVX2))
        k = &gpi_conv_avx2;
#endif
#ifdef GPOOL_HAVE_AVX512_KERNELS
    if (ch.widest >= GP_ISA_AVX512 && gp_cpu_has(GP_ISA_AVX512))
        k = &gpi_conv_avx512;
#endif
    return k && (ch.forced || gpi_direct_pays(c, k)) ? k : NULL;
}

/* ------------------------------------------------------------ plan */

/* Chunk size and layouts of the direct path. Forward runs in place when
 * the kernels allow it and an image's last vector is at least 15/16 used
 * (28x28: exactly full, 14x14: 196 of 208), backward only when images fill
 * whole vectors: its weight-gradient tiles stream 8 dy rows at once and
 * measured 15% slower on rows that do not start on a cache line. Stacked
 * planes are a chunk's maps back to back (7x7 maps fill whole vectors that
 * way), with margins for the whole-vector loads of kernels without exact
 * reads. */
static void gpi_direct_geometry(gpi_conv *c, int max_batch)
{
    gpi_direct *d = &c->d;
    size_t P = c->P, vec = gpi_round_floats(P), line = GPI_ALIGN / sizeof(float);
    size_t nb = (GPI_DIRECT_Q + P / 2) / P;
    d->nb = nb < 1 ? 1 : nb > (size_t)max_batch ? max_batch : (int)nb;
    d->taps = c->kh * c->kw;
    int fwd_in_place = d->k->exact_reads && (vec - P) * 16 <= vec;
    int bwd_in_place = d->k->exact_reads && vec == P;
    d->ld_out = gpi_round_floats((size_t)d->nb * P);
    d->margin = gpi_round_floats((size_t)c->pad * c->w + (size_t)c->pad + line);
    gpi_layout in_place = { 1, P, NULL, (P + 15) / 16, NULL, NULL };
    gpi_layout stacked = { 0, d->ld_out + d->margin, NULL, (d->ld_out + 15) / 16, NULL, NULL };
    int n = 0;
    if (fwd_in_place || bwd_in_place)
        d->lay[n++] = in_place;
    if (!fwd_in_place || !bwd_in_place)
        d->lay[n++] = stacked;
    d->fwd = &d->lay[fwd_in_place ? 0 : n - 1];
    d->bwd = &d->lay[bwd_in_place ? 0 : n - 1];
}

/* Bytes of a layout's mask table: a bit per position, or for kernels with
 * lane masks a 32-bit lane. */
static size_t gpi_mask_bytes(const gpi_conv *c, const gpi_layout *lay)
{
    size_t per = c->d.k->lane_masks ? 16 * sizeof(uint32_t) : sizeof(uint16_t);
    return (size_t)c->d.taps * lay->mld * per;
}

/* Sets position q of row t of a mask table of mld groups of 16 per row, in
 * the kernels' format. */
static void gpi_mask_set(const gpi_conv *c, void *masks, size_t mld, int t, size_t q)
{
    if (c->d.k->lane_masks)
        ((uint32_t *)masks)[(size_t)t * mld * 16 + q] = UINT32_MAX;
    else
        ((uint16_t *)masks)[(size_t)t * mld + q / 16] |= (uint16_t)(1u << (q % 16));
}

/* Lane masks: position q of tap t's row is set where q (of the images
 * stacked in one plane, or of one image) reads a pixel inside its map. */
static void gpi_direct_masks(const gpi_conv *c, gpi_layout *lay)
{
    size_t nq = lay->mld * 16;
    for (int t = 0; t < c->d.taps; t++) {
        int sy = t / c->kw - c->pad, sx = t % c->kw - c->pad;
        for (size_t q = 0; q < nq; q++) {
            int p = (int)(q % c->P), iy = p / c->w + sy, ix = p % c->w + sx;
            if (iy >= 0 && iy < c->h && ix >= 0 && ix < c->w)
                gpi_mask_set(c, lay->masks, lay->mld, t, q);
        }
    }
}

/* Taps of both products; backward-data row co * taps + t uses the flipped
 * tap t (gpi_pack_backward flips the weights to match). */
static void gpi_direct_taps(gpi_conv *c)
{
    gpi_direct *d = &c->d;
    for (size_t r = 0; r < c->K; r++)
        d->tap_f[r] = (int)(r % (size_t)d->taps);
    for (int r = 0; r < c->cout * d->taps; r++)
        d->tap_b[r] = r % d->taps;
}

/* Row offsets of a layout: channel ch, tap t reads its plane shifted by s_t. */
static void gpi_direct_offsets(const gpi_conv *c, gpi_layout *lay)
{
    int chans = c->cin > c->cout ? c->cin : c->cout, taps = c->d.taps;
    for (int ch = 0; ch < chans; ch++)
        for (int t = 0; t < taps; t++) {
            int r = ch * taps + t;
            int o = (int)((size_t)ch * lay->cs) + (t / c->kw - c->pad) * c->w + t % c->kw - c->pad;
            if (ch < c->cin)
                lay->off_f[r] = o;
            if (ch < c->cout)
                lay->off_b[r] = o;
        }
}

/* Whether the products of c read shifted copies (gpi_direct.copies): for
 * kernels without exact reads, which would otherwise run on stacked planes
 * with a lane mask per row; the masks take a load per input vector, as many
 * as the rows' own loads, and the copies none. Below GPI_COPIES_MIN_P an
 * image's part-filled last vector costs more than the masks. */
static int gpi_copies_pay(const gpi_conv *c)
{
    int chans = c->cin > c->cout ? c->cin : c->cout;
    double offsets = (double)chans * c->kw * (2.0 * c->pad * c->w + (double)c->P + 32);
    return !c->d.k->exact_reads && c->P >= GPI_COPIES_MIN_P && offsets < INT_MAX / 2;
}

/* Row ch * taps + t reads copy kx = t % k of channel ch from its row
 * t / k: output q = oy * W + ox reads copy row oy + t / k, which holds input
 * row oy + t / k - pad. */
static void gpi_copies_offsets(const gpi_conv *c, int chans, int *off)
{
    int k = c->kw, taps = c->d.taps;
    for (int ch = 0; ch < chans; ch++)
        for (int t = 0; t < taps; t++)
            off[ch * taps + t] = (int)(((size_t)ch * k + t % k) * c->d.ps) + t / k * c->w;
}

/* Row kx of the copies' masks: the positions q < P of a map whose column
 * q % W + kx - pad is inside the map (what copy kx holds at q). */
static void gpi_copies_masks(const gpi_conv *c)
{
    for (int kx = 0; kx < c->kw; kx++)
        for (size_t q = 0; q < c->P; q++) {
            int ix = (int)(q % (size_t)c->w) + kx - c->pad;
            if (ix >= 0 && ix < c->w)
                gpi_mask_set(c, c->d.copy_masks, c->d.copy_mld, kx, q);
        }
}

/* Tables of the shifted copies; returns their bytes (0: out of memory). */
static size_t gpi_copies_alloc(gpi_conv *c)
{
    gpi_direct *d = &c->d;
    size_t kf = c->K, kb = (size_t)c->cout * d->taps;
    size_t per = d->k->lane_masks ? 16 * sizeof(uint32_t) : sizeof(uint16_t);
    d->copy_mld = (c->P + 15) / 16;
    d->off_cf = gpi_balloc(kf * sizeof(int));
    d->off_cb = gpi_balloc(kb * sizeof(int));
    d->copy_masks = gpi_balloc((size_t)c->kw * d->copy_mld * per);
    if (!d->off_cf || !d->off_cb || !d->copy_masks)
        return 0;
    gpi_copies_offsets(c, c->cin, d->off_cf);
    gpi_copies_offsets(c, c->cout, d->off_cb);
    gpi_copies_masks(c);
    return (kf + kb) * sizeof(int) + (size_t)c->kw * d->copy_mld * per;
}

/* Chunks at the back of a range another thread may take in a backward:
 * each needs an accumulator of its own, so as many as fit in
 * GPI_STEAL_BYTES (one at least), no more than a range can have. */
static int gpi_direct_steal_tail(const gpi_conv *c, int max_batch)
{
    size_t fit = GPI_STEAL_BYTES / (c->acc_floats * sizeof(float));
    int most = (max_batch + c->d.nb - 1) / c->d.nb;
    return fit < 1 ? 1 : fit > (size_t)most ? most : (int)fit;
}

gp_status gpi_direct_alloc(gpi_conv *c, int max_batch)
{
    gpi_direct *d = &c->d;
    gpi_direct_geometry(c, max_batch);
    int chans = c->cin > c->cout ? c->cin : c->cout, cob = d->k->cob;
    size_t cs = d->ld_out + d->margin;
    if ((double)(chans + 1) * (double)cs > INT_MAX / 2) {
        d->k = NULL;
        return GP_OK;
    }
    int stacked = !d->fwd->in_place || !d->bwd->in_place;
    size_t kf = c->K, kb = (size_t)c->cout * d->taps;
    size_t cout_pad = (size_t)(c->cout + cob - 1) / cob * cob;
    size_t cin_pad = (size_t)(c->cin + cob - 1) / cob * cob;
    c->chunk = d->nb;
    c->slot_floats = stacked ? d->margin + ((size_t)c->cin + c->cout) * cs +
                               (size_t)chans * d->ld_out : 0;
    d->copies = gpi_copies_pay(c);
    /* the whole vectors read from the last copy row reach 2 pad rows and
     * a vector past the map; gpi_shift_copies writes up to a vector past
     * the map */
    d->ps = gpi_round_floats(2 * (size_t)c->pad * c->w + c->P + 16);
    if (d->copies)   /* stacked x and dy for the weight gradient, no product rows */
        c->slot_floats = d->margin + ((size_t)c->cin + c->cout) * cs +
                         (size_t)chans * c->kw * d->ps;
    c->acc_floats = gpi_round_floats((size_t)c->cout * c->K + (size_t)c->cout);
    c->steal_tail = gpi_direct_steal_tail(c, max_batch);
    c->acc_count = c->slots * (1 + c->steal_tail);
    size_t table_bytes = (2 * kf + 2 * kb) * sizeof(int);
    d->tap_f = gpi_balloc(kf * sizeof(int));
    d->tap_b = gpi_balloc(kb * sizeof(int));
    int ok = d->tap_f && d->tap_b;
    for (int i = 0; i < 2 && ok; i++) {
        gpi_layout *lay = &d->lay[i];
        if (!lay->mld)
            continue;   /* one layout serves both directions */
        lay->masks = gpi_balloc(gpi_mask_bytes(c, lay));
        lay->off_f = gpi_balloc(kf * sizeof(int));
        lay->off_b = gpi_balloc(kb * sizeof(int));
        ok = lay->masks && lay->off_f && lay->off_b;
        if (ok) {
            gpi_direct_masks(c, lay);
            gpi_direct_offsets(c, lay);
            table_bytes += gpi_mask_bytes(c, lay);
        }
    }
    d->wf = gpi_falloc(cout_pad * kf);
    d->wb = gpi_falloc(cin_pad * kb);
    d->bias = gpi_falloc(cout_pad);
    c->scratch = gpi_falloc((size_t)c->slots * c->slot_floats);
    c->acc = gpi_falloc((size_t)c->acc_count * c->acc_floats);
    if (!ok || !d->wf || !d->wb || !d->bias || !c->scratch || !c->acc)
        return gpi_fail(GP_ERR_NOMEM, "conv2d: out of memory for scratch");
    gpi_direct_taps(c);
    if (d->copies) {
        size_t bytes = gpi_copies_alloc(c);
        if (!bytes)
            return gpi_fail(GP_ERR_NOMEM, "conv2d: out of memory for scratch");
        table_bytes += bytes;
    }
    c->workspace_bytes = ((size_t)c->slots * c->slot_floats +
                          (size_t)c->acc_count * c->acc_floats + cout_pad * kf +
                          cin_pad * kb + cout_pad) * sizeof(float) + table_bytes;
    return GP_OK;
}

void gpi_direct_free(gpi_conv *c)
{
    for (int i = 0; i < 2; i++) {
        gpi_free(c->d.lay[i].masks);
        gpi_free(c->d.lay[i].off_f);
        gpi_free(c->d.lay[i].off_b);
    }
    gpi_free(c->d.tap_f);
    gpi_free(c->d.tap_b);
    gpi_free(c->d.off_cf);
    gpi_free(c->d.off_cb);
    gpi_free(c->d.copy_masks);
    gpi_free(c->d.wf);
    gpi_free(c->d.wb);
    gpi_free(c->d.bias);
}

/* ------------------------------------------------------------ chunks */

/* Per-thread buffers of the stacked layout (x planes, dy planes, product
 * rows; data start after the margin) or, with copies, of x and dy planes
 * and the shifted copies of one image. */
typedef struct {
    float *x, *dy, *out, *copies;
} gpi_direct_bufs;

static gpi_direct_bufs gpi_direct_slot(const gpi_conv *c, int t)
{
    const gpi_direct *d = &c->d;
    gpi_direct_bufs b = { NULL, NULL, NULL, NULL };
    if (c->slot_floats) {
        size_t cs = d->ld_out + d->margin;
        b.x = c->scratch + (size_t)t * c->slot_floats + d->margin;
        b.dy = b.x + (size_t)c->cin * cs;
        if (d->copies)
            b.copies = b.dy + (size_t)c->cout * cs;
        else
            b.out = b.dy + (size_t)c->cout * cs;
    }
    return b;
}

/* nb images of src (NCHW, ch channels of P floats) into stacked planes:
 * image j's map of channel k at planes + k * cs + j * P. */
static void gpi_stack(const gpi_conv *c, const float *src, int ch, int nb, float *planes)
{
    size_t cs = c->d.ld_out + c->d.margin;
    for (int j = 0; j < nb; j++)
        c->d.k->copy(src + (size_t)j * ch * c->P, c->P, planes + (size_t)j * c->P, cs, ch,
                     (int)c->P);
}

/* The inverse: stacked product rows (row stride ld_out) to nb NCHW images. */
static void gpi_unstack(const gpi_conv *c, const float *rows, int ch, int nb, float *dst)
{
    for (int j = 0; j < nb; j++)
        c->d.k->copy(rows + (size_t)j * c->P, c->d.ld_out, dst + (size_t)j * ch * c->P, c->P, ch,
                     (int)c->P);
}

/* The k shifted copies of each of an image's ch channels into planes
 * (gpi_direct.copies): copy kx of channel ch, plane ch * k + kx, holds
 * input row iy at row iy + pad, shifted kx - pad columns left. As the rows
 * are W wide in the map and in the copy, a copy's H rows are the map read
 * kx - pad floats off, with the columns that would come from the
 * neighbouring row masked to zero: one masked copy of the whole map, no
 * per-row tail. The pad rows were zeroed when the scratch was allocated;
 * the last vector's overrun into them writes zeros. */
static void gpi_shift_copies(const gpi_conv *c, const float *img, int ch, float *planes)
{
    const gpi_direct *d = &c->d;
    int k = c->kw;
    size_t per = d->k->lane_masks ? 16 * sizeof(uint32_t) : sizeof(uint16_t);
    for (int ci = 0; ci < ch; ci++) {
        const float *map = img + (size_t)ci * c->P;
        for (int kx = 0; kx < k; kx++) {
            const char *mask = (const char *)d->copy_masks + (size_t)kx * d->copy_mld * per;
            float *dst = planes + ((size_t)ci * k + kx) * d->ps + (size_t)c->pad * c->w;
            d->k->mask_copy(map + (kx - c->pad), dst, mask, c->P);
        }
    }
}

/* One image's product over its shifted copies (rows off). */
static gpi_conv_src gpi_src_copies(const gpi_conv *c, const float *copies, const int *off,
                                   int K)
{
    gpi_conv_src s = { copies, off, NULL, NULL, 0, K, c->P };
    return s;
}

/* The forward product's rows over input in (nq positions) in layout lay. */
static gpi_conv_src gpi_src_forward(const gpi_conv *c, const gpi_layout *lay, const float *in,
                                    size_t nq)
{
    gpi_conv_src s = { in, lay->off_f, c->d.tap_f, lay->masks, lay->mld, (int)c->K, nq };
    return s;
}

/* The backward-data product's rows over dy (flipped taps, cout channels). */
static gpi_conv_src gpi_src_backward(const gpi_conv *c, const gpi_layout *lay, const float *dy,
                                     size_t nq)
{
    gpi_conv_src s = { dy, lay->off_b, c->d.tap_b, lay->masks, lay->mld, c->cout * c->d.taps,
                       nq };
    return s;
}

/* wf[(co / cob) * K * cob + r * cob + co % cob] = w[co * K + r]; the padding
 * channels get zero weights and bias (their rows are never stored). */
void gpi_pack_forward(const gpi_conv *c, const float *w, const float *bias)
{
    const gpi_direct *d = &c->d;
    int cob = d->k->cob, cout_pad = (c->cout + cob - 1) / cob * cob;
    size_t K = c->K;
    for (int co = 0; co < cout_pad; co++) {
        float *dst = d->wf + (size_t)(co / cob) * K * cob + co % cob;
        for (size_t r = 0; r < K; r++)
            dst[r * cob] = co < c->cout ? w[(size_t)co * K + r] : 0.0f;
        d->bias[co] = co < c->cout && bias ? bias[co] : 0.0f;
    }
}

/* Backward data convolves dy (cout channels) into dx (cin channels) with
 * the kernel flipped: row r' = co * taps + t' takes w[co][ci][taps-1-t'],
 * packed by blocks of cob input channels. */
void gpi_pack_backward(const gpi_conv *c, const float *w)
{
    const gpi_direct *d = &c->d;
    int cob = d->k->cob, cin_pad = (c->cin + cob - 1) / cob * cob, taps = d->taps;
    size_t kb = (size_t)c->cout * taps;
    for (int ci = 0; ci < cin_pad; ci++) {
        float *dst = d->wb + (size_t)(ci / cob) * kb * cob + ci % cob;
        for (int co = 0; co < c->cout; co++)
            for (int t = 0; t < taps; t++) {
                size_t r = (size_t)co * taps + t;
                dst[r * cob] = ci < c->cin ? w[((size_t)co * c->cin + ci) * taps + taps - 1 - t]
                                           : 0.0f;
            }
    }
}

void gpi_direct_forward_chunk(const gpi_conv *c, const float *x, float *y, int i0, int nb,
                              int t)
{
    const gpi_direct *d = &c->d;
    const gpi_layout *lay = d->fwd;
    size_t in_size = (size_t)c->cin * c->P, out_size = (size_t)c->cout * c->P;
    const float *bias = c->has_bias ? d->bias : NULL;
    if (d->copies) {
        float *copies = gpi_direct_slot(c, t).copies;
        gpi_conv_src s = gpi_src_copies(c, copies, d->off_cf, (int)c->K);
        for (int i = i0; i < i0 + nb; i++) {
            gpi_shift_copies(c, x + (size_t)i * in_size, c->cin, copies);
            d->k->mm(&s, d->wf, bias, c->cout, y + (size_t)i * out_size, c->P);
        }
        return;
    }
    if (lay->in_place) {
        for (int i = i0; i < i0 + nb; i++) {
            gpi_conv_src s = gpi_src_forward(c, lay, x + (size_t)i * in_size, c->P);
            d->k->mm(&s, d->wf, bias, c->cout, y + (size_t)i * out_size, c->P);
        }
        return;
    }
    gpi_direct_bufs b = gpi_direct_slot(c, t);
    gpi_stack(c, x + (size_t)i0 * in_size, c->cin, nb, b.x);
    gpi_conv_src s = gpi_src_forward(c, lay, b.x, (size_t)nb * c->P);
    d->k->mm(&s, d->wf, bias, c->cout, b.out, d->ld_out);
    gpi_unstack(c, b.out, c->cout, nb, y + (size_t)i0 * out_size);
}

/* An accumulator is [cout][K] then [cout]. */
void gpi_direct_backward_chunk(const gpi_conv *c, const float *x, const float *dy, float *dx,
                               int i0, int nb, int t, int acc, int fresh)
{
    const gpi_direct *d = &c->d;
    const gpi_layout *lay = d->bwd;
    size_t in_size = (size_t)c->cin * c->P, out_size = (size_t)c->cout * c->P;
    gpi_direct_bufs b = gpi_direct_slot(c, t);
    float *dw = c->acc + (size_t)acc * c->acc_floats, *db = dw + (size_t)c->cout * c->K;
    if (fresh)
        memset(dw, 0, ((size_t)c->cout * c->K + (size_t)c->cout) * sizeof(float));
    const float *xi = x + (size_t)i0 * in_size, *dyi = dy + (size_t)i0 * out_size;
    if (lay->in_place) {
        gpi_conv_src s = gpi_src_forward(c, lay, xi, c->P);
        d->k->wgrad(&s, in_size, dyi, c->P, out_size, nb, c->cout, dw);
        if (c->has_bias)
            d->k->dsum(dyi, c->P, out_size, nb, c->P, c->cout, db);
        if (dx)
            for (int i = i0; i < i0 + nb; i++) {
                gpi_conv_src sb = gpi_src_backward(c, lay, dy + (size_t)i * out_size, c->P);
                d->k->mm(&sb, d->wb, NULL, c->cin, dx + (size_t)i * in_size, c->P);
            }
        return;
    }
    size_t nq = (size_t)nb * c->P;
    gpi_stack(c, xi, c->cin, nb, b.x);
    gpi_stack(c, dyi, c->cout, nb, b.dy);
    gpi_conv_src s = gpi_src_forward(c, lay, b.x, nq);
    d->k->wgrad(&s, 0, b.dy, lay->cs, 0, 1, c->cout, dw);
    if (c->has_bias)
        d->k->dsum(b.dy, lay->cs, 0, 1, nq, c->cout, db);
    if (!dx)
        return;
    if (d->copies) {
        gpi_conv_src sb = gpi_src_copies(c, b.copies, d->off_cb, c->cout * d->taps);
        for (int i = 0; i < nb; i++) {
            gpi_shift_copies(c, dyi + (size_t)i * out_size, c->cout, b.copies);
            d->k->mm(&sb, d->wb, NULL, c->cin, dx + (size_t)(i0 + i) * in_size, c->P);
        }
        return;
    }
    gpi_conv_src sb = gpi_src_backward(c, lay, b.dy, nq);
    d->k->mm(&sb, d->wb, NULL, c->cin, b.out, d->ld_out);
    gpi_unstack(c, b.out, c->cin, nb, dx + (size_t)i0 * in_size);
}

int gpi_direct_acc_of(const gpi_conv *c, int u, int count, int j, int stolen)
{
    return u * (1 + c->steal_tail) + (stolen ? count - j : 0);
}

/* Owner u's sum, in the accumulator of its first chunk: the stolen
 * chunks' added in chunk order after those u ran itself. An accumulator
 * that started at zero and took each chunk's sum holds the bits of the sum
 * of the chunks' own zero-started ones. */
static const float *gpi_direct_owner_sum(const gpi_conv *c, int u, int count, int own,
                                         size_t floats)
{
    float *sum = c->acc + (size_t)gpi_direct_acc_of(c, u, count, 0, own == 0) * c->acc_floats;
    for (int j = own > 0 ? own : 1; j < count; j++)
        gpi_conv_add_rows(sum, c->acc + (size_t)gpi_direct_acc_of(c, u, count, j, 1) *
                                   c->acc_floats, floats);
    return sum;
}

void gpi_direct_reduce(gp_layer *l, const int *count, const int *own, int nt)
{
    const gpi_conv *c = l->priv;
    size_t wcount = (size_t)c->cout * c->K, floats = wcount + (c->has_bias ? c->cout : 0);
    float *dw = l->params[0].grad, *db = c->has_bias ? l->params[1].grad : NULL;
    int started = 0;
    for (int u = 0; u < nt; u++) {
        if (!count[u])
            continue;
        const float *a = gpi_direct_owner_sum(c, u, count[u], own[u], floats);
        if (!started) {
            memcpy(dw, a, wcount * sizeof *dw);
            if (db)
                memcpy(db, a + wcount, (size_t)c->cout * sizeof *db);
        } else {
            gpi_conv_add_rows(dw, a, wcount);
            if (db)
                gpi_conv_add_rows(db, a + wcount, (size_t)c->cout);
        }
        started = 1;
    }
}
