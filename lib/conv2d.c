/*
 * conv2d.c - 2-D convolution (cross-correlation, as PyTorch): the layer,
 * its options and shapes, the rule that picks one of two execution paths
 * per layer (and again at every reshape), and the verbs that split the
 * batch between threads.
 *
 * The direct path (conv_direct.c) runs "same" convolutions (stride 1, odd
 * square kernel, pad (k - 1) / 2) on a CPU with AVX2 or AVX-512; the im2col
 * path (conv_im2col.c) runs every other shape, and everything on CPUs
 * without AVX2. Both paths split the batch into the same per-thread image
 * ranges, each range into chunks of a few images; weight and bias gradients
 * accumulate per range and are summed in range order afterwards, so
 * results are bit-identical for a fixed thread count. A thread that
 * finishes its range early takes the chunks left at the back of the
 * others' (gpi_run_chunks; on the im2col path in the forward only), which
 * changes who computes a chunk but not what it computes or how the sums
 * are ordered. The path is chosen
 * when the layer is planned for an input size, by a fixed rule (never by
 * timing), so a given machine, mask and thread count always computes the
 * same bits.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "gpi_conv2d.h"

/* ------------------------------------------------------------ threads */

/* Pieces each chunk of a direct forward is cut into: its results do not
 * depend on the chunks (im2col's sgemm might), and finer shares let an idle thread take over more
 * of one held up; a 7x7 layer's batch of 64 is otherwise two chunks per
 * thread. */
#define GPI_FORWARD_PIECES 2

static int gpi_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Images [*begin, *end) of thread t of nt, and its chunk count. */
static int gpi_thread_range(const gpi_conv *c, int n, int t, int nt, int *begin, int *end)
{
    *begin = (int)((long long)n * t / nt);
    *end = (int)((long long)n * (t + 1) / nt);
    int len = *end - *begin;
    return len > 0 ? (len + c->chunk - 1) / c->chunk : 0;
}

#ifdef _OPENMP
/* Threads to use for n images: one chunk per thread at least, so a tiny
 * batch runs serially and lets OpenBLAS thread the gemm itself. */
static int gpi_team(const gpi_conv *c, int n)
{
    int team = gpi_max_threads();
    team = team < c->slots ? team : c->slots;
    return n < team ? 1 : team;
}
#endif

static int gpi_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int gpi_thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Chunk j of k over images [begin, end): sizes differ by at most one. */
static void gpi_chunk_bounds(int begin, int end, int j, int k, int *i0, int *nb)
{
    int len = end - begin;
    *i0 = begin + (int)((long long)len * j / k);
    *nb = begin + (int)((long long)len * (j + 1) / k) - *i0;
}

/* A chunk as it is run: images [i0, i0 + nb), chunk j of the count of
 * owner u's range, on thread t's buffers; stolen when t is not u. first is
 * the first image of the unbroken run of images ending at i0 that this
 * thread has done. */
typedef struct {
    int i0, nb, j, count, u, stolen, first, t;
} gpi_chunk;

typedef void (*gpi_chunk_fn)(void *ctx, const gpi_chunk *ch);

/* The next chunk of count from the front of a range (its owner) or from
 * its back (another thread, at most tail of them); -1 when none is left.
 * *word holds the chunks taken from the front (low half) and from the
 * back (high half). */
static int gpi_claim(uint64_t *word, int count, int from_back, int tail)
{
    uint64_t old = __atomic_load_n(word, __ATOMIC_RELAXED), next;
    int j;
    do {
        uint32_t front = (uint32_t)old, back = (uint32_t)(old >> 32);
        if ((int64_t)front + back >= count || (from_back && (int64_t)back >= tail))
            return -1;
        j = from_back ? count - 1 - (int)back : (int)front;
        next = old + (from_back ? (uint64_t)1 << 32 : 1);
    } while (!__atomic_compare_exchange_n(word, &old, next, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return j;
}

/* Thread t of nt runs its own range's chunks from the front, then, with
 * steal > 0, takes the other owners' remaining chunks, up to steal of
 * each, from the back, so that a thread held up (by another process on
 * its CPU) does not hold the whole team back. An owner's own chunks are
 * thus always a prefix of its range, run in order. Which thread runs a
 * chunk never changes what the chunk computes. pieces > 1 cuts every
 * chunk into that many, of an image at least (finer shares for a pass
 * whose results do not depend on the chunks). c->claims[0 .. nt) must be
 * zero when the team starts. */
static void gpi_run_chunks(gpi_conv *c, int n, int t, int nt, int steal, int pieces,
                           gpi_chunk_fn fn, void *ctx)
{
    gpi_chunk ch = { 0, 0, 0, 0, 0, 0, 0, t };
    int run_end = -1;
    for (int k = 0; k < (steal ? nt : 1); k++) {
        int u = (t + k) % nt, begin, end, next = 0;
        int count = pieces * gpi_thread_range(c, n, u, nt, &begin, &end);
        ch.count = count < end - begin ? count : end - begin;   /* no empty pieces */
        ch.u = u;
        ch.stolen = k > 0;
        while ((ch.j = steal ? gpi_claim(&c->claims[u], ch.count, k > 0, steal)
                             : next < ch.count ? next++ : -1) >= 0) {
            gpi_chunk_bounds(begin, end, ch.j, ch.count, &ch.i0, &ch.nb);
            if (ch.i0 != run_end)
                ch.first = ch.i0;
            fn(ctx, &ch);
            run_end = ch.i0 + ch.nb;
        }
    }
}

/* ------------------------------------------------------------ verbs */

/* Seconds on a monotonic clock: the epilogue's share of a fused call. */
static double gpi_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Images [i0, i0 + nb) of y through the epilogue, just after the chunk
 * that wrote them: eval's batchnorm (running statistics) and relu, in place. */
static void gpi_apply_epilogue(const gpi_conv *c, const gpi_epilogue *epi, float *y, int i0,
                               int nb)
{
    size_t out_size = (size_t)c->cout * c->P;
    for (int i = i0; i < i0 + nb; i++) {
        float *image = y + (size_t)i * out_size;
        if (epi->bn)
            gpi_bn_eval_image(epi->bn, image);
        if (epi->relu)
            gpi_relu_inplace(image, out_size);
    }
}

/* Seconds a thread spent in the epilogues (or prologues) of the chunks it
 * ran, and their images. */
typedef struct {
    double seconds;
    int    images;
} gpi_side_time;

/* The wall time of a call's epilogues as thread t of nt saw it: its own
 * seconds scaled to an even share of the n images (a thread that took
 * over chunks spent longer in their epilogues than the call did). */
static double gpi_side_share(const gpi_side_time *s, int n, int nt)
{
    return s->images ? s->seconds * ((double)n / nt) / s->images : 0.0;
}

/* The start time of a timed epilogue or prologue: 0 when s is NULL (no
 * timing wanted, so no clock read). */
static double gpi_side_start(const gpi_side_time *s)
{
    return s ? gpi_now() : 0.0;
}

/* s (NULL: none) gains the seconds since t0 of a side pass over nb images. */
static void gpi_side_add(gpi_side_time *s, double t0, int nb)
{
    if (!s)
        return;
    s->seconds += gpi_now() - t0;
    s->images += nb;
}

/* What every chunk of a forward into y needs; side is thread 0's. */
typedef struct {
    gp_layer           *l;
    int                 n;
    const float        *x;
    float              *y;
    const gpi_epilogue *epi;
    gpi_side_time      *side;
} gpi_forward_call;

/* One chunk of a forward, followed by epi in place (NULL: none; with
 * epi->train, the batchnorm's statistics of the groups whose images this
 * thread has all done gathered instead). */
static void gpi_forward_chunk(void *ctx, const gpi_chunk *ch)
{
    const gpi_forward_call *f = ctx;
    gpi_conv *c = f->l->priv;
    int i0 = ch->i0, nb = ch->nb, t = ch->t;
    if (c->d.k)
        gpi_direct_forward_chunk(c, f->x, f->y, i0, nb, t);
    else
        gpi_im2col_forward_chunk(c, f->l->params[0].value,
                                 c->has_bias ? f->l->params[1].value : NULL, f->x, f->y, i0, nb,
                                 c->scratch + (size_t)t * c->slot_floats);
    if (!f->epi)
        return;
    double t0 = gpi_side_start(f->side);
    if (f->epi->train)
        gpi_bn_train_rows(f->epi->bn, f->n, ch->first, i0, i0 + nb, f->y);
    else
        gpi_apply_epilogue(c, f->epi, f->y, i0, nb);
    gpi_side_add(f->side, t0, nb);
}

/* Thread t of nt's share of a forward into y (gpi_forward_chunk; chunks
 * shared out as gpi_run_chunks does). *epi_s (thread 0's only) gains the
 * epilogue's seconds (gpi_side_share). Returns the first image of thread
 * t's range in the static split and sets *end past its last. */
static int gpi_forward_share(gp_layer *l, int n, const float *x, float *y,
                             const gpi_epilogue *epi, int t, int nt, int *end, double *epi_s)
{
    gpi_conv *c = l->priv;
    int begin;
    gpi_thread_range(c, n, t, nt, &begin, end);
    gpi_side_time side = { 0.0, 0 };
    gpi_forward_call f = { l, n, x, y, epi, epi_s ? &side : NULL };
    gpi_run_chunks(c, n, t, nt, INT_MAX, c->d.k ? GPI_FORWARD_PIECES : 1, gpi_forward_chunk,
                   &f);
    if (epi_s)
        *epi_s += gpi_side_share(&side, n, nt);
    return begin;
}

/* Before a team starts on a call: no chunk claimed yet. */
static void gpi_claims_reset(gpi_conv *c)
{
    memset(c->claims, 0, (size_t)c->slots * sizeof *c->claims);
}

static void gpi_conv_pack_forward(gp_layer *l)
{
    gpi_conv *c = l->priv;
    if (c->d.k)
        gpi_pack_forward(c, l->params[0].value, c->has_bias ? l->params[1].value : NULL);
}

static gp_status gpi_conv_forward_epi(gp_layer *l, int n, const float *x, float *y,
                                      const gpi_epilogue *epi)
{
    gpi_conv_pack_forward(l);
    gpi_claims_reset(l->priv);
#ifdef _OPENMP
    int team = gpi_team(l->priv, n);
#pragma omp parallel num_threads(team) if (team > 1)
#endif
    {
        int end;
        gpi_forward_share(l, n, x, y, epi, gpi_thread_id(), gpi_thread_count(), &end, NULL);
    }
    return GP_OK;
}

static gp_status gpi_conv_forward(gp_layer *l, int n, const float *x, float *y, gp_mode mode)
{
    (void)mode;
    return gpi_conv_forward_epi(l, n, x, y, NULL);
}

gp_status gpi_conv_forward_eval_fused(gp_layer *conv, int n, const float *x, float *y,
                                      const gpi_epilogue *epi)
{
    gp_status st = gpi_check_batch(conv, n);
    if (st != GP_OK)
        return st;
    if (epi->bn)
        gpi_bn_eval_prepare(epi->bn);
    return gpi_conv_forward_epi(conv, n, x, y, epi);
}

/* The batchnorm of a training epilogue, once every image is convolved:
 * the statistics (most groups gathered already, chunk by chunk) split over
 * the team by channel, then this thread's images [begin, end) normalised
 * (and clamped) while they are in its cache. */
static void gpi_bn_epilogue_share(const gpi_conv *c, int n, const gpi_epilogue *epi,
                                  const float *y_conv, float *y, int begin, int end)
{
    size_t out_size = (size_t)c->cout * c->P;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int ch = 0; ch < c->cout; ch++)
        gpi_bn_train_stats(epi->bn, n, ch, y_conv);
    for (int i = begin; i < end; i++)
        gpi_bn_train_image(epi->bn, y_conv + (size_t)i * out_size, y + (size_t)i * out_size,
                           epi->relu);
}

gp_status gpi_conv_forward_train_fused(gp_layer *conv, int n, const float *x, float *y_conv,
                                       float *y, const gpi_epilogue *epi, double *epi_s,
                                       double *total_s)
{
    gp_status st = gpi_check_batch(conv, n);
    if (st == GP_OK && epi->bn)
        st = gpi_bn_train_begin(epi->bn, n);
    if (st != GP_OK)
        return st;
    double start = gpi_now(), in_chunks = 0.0, bn_from = 0.0;
    gpi_conv_pack_forward(conv);
    gpi_claims_reset(conv->priv);
    gpi_epilogue relu_only = { NULL, epi->relu, 0 }, stats = { epi->bn, epi->relu, 1 };
    float *out = epi->bn ? y_conv : y;
#ifdef _OPENMP
    int team = gpi_team(conv->priv, n);
#pragma omp parallel num_threads(team) if (team > 1)
#endif
    {
        int t = gpi_thread_id(), end;
        int begin = gpi_forward_share(conv, n, x, out, epi->bn ? &stats : &relu_only, t,
                                      gpi_thread_count(), &end, t == 0 ? &in_chunks : NULL);
        if (epi->bn) {
#ifdef _OPENMP
#pragma omp barrier
#endif
            if (t == 0)
                bn_from = gpi_now();
            gpi_bn_epilogue_share(conv->priv, n, epi, y_conv, y, begin, end);
        }
    }
    double stop = gpi_now();
    if (epi_s)
        *epi_s = in_chunks + (epi->bn ? stop - bn_from : 0.0);
    if (total_s)
        *total_s = stop - start;
    return GP_OK;
}

/* What a fused backward does to each chunk of dy before the conv reads it:
 * dy (the group's output gradient) back through the batchnorm and/or relu
 * into work. */
typedef struct {
    const gpi_epilogue *epi;
    const float        *y_conv, *y, *dy;
    float              *work;
} gpi_prologue;

/* Images [i0, i0 + nb) of the prologue; returns the conv's dy. */
static const float *gpi_apply_prologue(const gpi_conv *c, const gpi_prologue *p, int i0,
                                       int nb)
{
    size_t out_size = (size_t)c->cout * c->P;
    for (int i = i0; i < i0 + nb; i++) {
        size_t off = (size_t)i * out_size;
        if (p->epi->bn)
            gpi_bn_dx_image(p->epi->bn, p->y_conv + off, p->dy + off, p->epi->relu,
                            p->work + off);
        else
            gpi_relu_backward_span(p->y + off, p->dy + off, p->work + off, out_size);
    }
    return p->work;
}

/* What every chunk of a backward needs; side is thread 0's, a the
 * im2col path's accumulators of the running thread. */
typedef struct {
    gp_layer           *l;
    const float        *x, *dy;
    float              *dx;
    const gpi_prologue *pro;
    gpi_side_time      *side;
    gpi_conv_acc        a;
} gpi_backward_call;

/* One chunk of a backward, after the prologue (NULL: none) has built its
 * dy. */
static void gpi_backward_chunk(void *ctx, const gpi_chunk *ch)
{
    const gpi_backward_call *b = ctx;
    gpi_conv *c = b->l->priv;
    const float *dy = b->dy;
    int i0 = ch->i0, nb = ch->nb, t = ch->t;
    if (b->pro) {
        double t0 = gpi_side_start(b->side);
        dy = gpi_apply_prologue(c, b->pro, i0, nb);
        gpi_side_add(b->side, t0, nb);
    }
    /* an owner accumulates its own chunks in one accumulator (as one thread
     * running them all would), a stolen chunk in its own */
    if (c->d.k)
        gpi_direct_backward_chunk(c, b->x, dy, b->dx, i0, nb, t,
                                  gpi_direct_acc_of(c, ch->u, ch->count, ch->j, ch->stolen),
                                  ch->stolen || ch->j == 0);
    else
        gpi_im2col_backward_chunk(c, b->l->params[0].value, b->x, dy, b->dx, i0, nb,
                                  c->scratch + (size_t)t * c->slot_floats, b->a);
}

/* Thread t of nt's share of a backward (gpi_backward_chunk; *pro_s, thread
 * 0's only, gains the prologue's seconds as gpi_side_share has them). The
 * direct path's chunks are shared out as gpi_run_chunks does; im2col's run
 * on their own thread (its accumulators are the threads'). */
static void gpi_backward_share(gp_layer *l, int n, const float *x, const float *dy, float *dx,
                               const gpi_prologue *pro, int t, int nt, double *pro_s)
{
    gpi_conv *c = l->priv;
    gpi_side_time side = { 0.0, 0 };
    gpi_backward_call b = { l, x, dy, dx, pro, pro_s ? &side : NULL, { NULL, NULL } };
    if (!c->d.k)
        b.a = gpi_im2col_thread_acc(l, t);
    gpi_run_chunks(c, n, t, nt, c->d.k ? c->steal_tail : 0, 1, gpi_backward_chunk, &b);
    if (pro_s)
        *pro_s += gpi_side_share(&side, n, nt);
}

/* The direct path's parameter gradients from the accumulators of a
 * backward's chunks, nt threads having shared them. */
static void gpi_direct_gradients(gp_layer *l, int n, int nt)
{
    gpi_conv *c = l->priv;
    int count[nt], own[nt];
    for (int u = 0; u < nt; u++) {
        int begin, end;
        count[u] = gpi_thread_range(c, n, u, nt, &begin, &end);
        own[u] = (int)(uint32_t)c->claims[u];
    }
    gpi_direct_reduce(l, count, own, nt);
}

/* conv2d's backward, with pro's batchnorm statistics gathered first (split
 * by channel) when it has a batchnorm; *epi_s (unless NULL) thread 0's
 * seconds in those and in the prologue. */
static gp_status gpi_conv_backward_pro(gp_layer *l, int n, const float *x, const float *dy,
                                       float *dx, const gpi_prologue *pro, double *epi_s)
{
    gpi_conv *c = l->priv;
    const gpi_epilogue *epi = pro ? pro->epi : NULL;
    int used = 1;
    double in_epi = 0.0;
    if (c->d.k && dx)
        gpi_pack_backward(c, l->params[0].value);
    gpi_claims_reset(c);
#ifdef _OPENMP
    int team = gpi_team(c, n);
#pragma omp parallel num_threads(team) if (team > 1)
#endif
    {
        int t = gpi_thread_id(), nt = gpi_thread_count();
        double t0 = t == 0 && epi_s ? gpi_now() : 0.0;
        if (t == 0)
            used = nt;
        if (epi && epi->bn) {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
            for (int ch = 0; ch < c->cout; ch++)
                gpi_bn_grad_channel(epi->bn, n, ch, pro->y_conv, pro->dy, epi->relu);
        }
        if (t == 0 && epi_s)
            in_epi += gpi_now() - t0;
        gpi_backward_share(l, n, x, dy, dx, pro, t, nt, t == 0 && epi_s ? &in_epi : NULL);
    }
    if (c->d.k)
        gpi_direct_gradients(l, n, used);
    else
        gpi_im2col_reduce(l, used);
    if (epi_s)
        *epi_s = in_epi;
    return GP_OK;
}

static gp_status gpi_conv_backward(gp_layer *l, int n, const float *x, const float *y,
                                   const float *dy, float *dx)
{
    (void)y;
    return gpi_conv_backward_pro(l, n, x, dy, dx, NULL, NULL);
}

gp_status gpi_conv_backward_train_fused(gp_layer *conv, int n, const float *x,
                                        const float *y_conv, const float *y, const float *dy,
                                        float *work, float *dx, const gpi_epilogue *epi,
                                        double *epi_s, double *total_s)
{
    gp_status st = gpi_check_batch(conv, n);
    if (st != GP_OK)
        return st;
    double start = gpi_now();
    gpi_prologue pro = { epi, y_conv, y, dy, work };
    st = gpi_conv_backward_pro(conv, n, x, work, dx, &pro, epi_s);
    if (total_s)
        *total_s = gpi_now() - start;
    return st;
}

/* Free what a plan allocated (the scratch of either path). */
static void gpi_conv_free_plan(gpi_conv *c)
{
    gpi_free(c->scratch);
    gpi_free(c->acc);
    gpi_free(c->claims);
    gpi_direct_free(c);
}

static void gpi_conv_destroy(gp_layer *l)
{
    if (l && l->priv)
        gpi_conv_free_plan(l->priv);
    gpi_layer_free(l);
}


/* ------------------------------------------------------------ plan */

static gp_status gpi_conv_check(const gp_layer_spec *spec)
{
    int cout = spec->u.conv2d.cout, kh = spec->u.conv2d.kh, kw = spec->u.conv2d.kw;
    int stride = spec->u.conv2d.stride, pad = spec->u.conv2d.pad;
    if (cout < 1 || kh < 1 || kw < 1 || stride < 1 || pad < 0)
        return gpi_fail(GP_ERR_ARG, "conv2d: need cout, kernel and stride >= 1 and pad >= 0 "
                        "(cout %d, kernel %dx%d, stride %d, pad %d)", cout, kh, kw, stride, pad);
    return GP_OK;
}

static gp_status gpi_conv_out_shape(const gp_layer *l, gp_shape in, gp_shape *out)
{
    int kh = l->spec.u.conv2d.kh, kw = l->spec.u.conv2d.kw;
    int stride = l->spec.u.conv2d.stride, pad = l->spec.u.conv2d.pad;
    gp_status st = gpi_check_channels(l, in);
    if (st != GP_OK)
        return st;
    if (kh > in.h + 2 * pad || kw > in.w + 2 * pad)
        return gpi_fail(GP_ERR_ARG, "conv2d: kernel %dx%d larger than the padded input %dx%d",
                        kh, kw, in.h + 2 * pad, in.w + 2 * pad);
    /* sgemm takes int sizes */
    if ((double)in.c * kh * kw > INT_MAX / 2 || (double)in.h * in.w > INT_MAX / 2)
        return gpi_fail(GP_ERR_ARG, "conv2d: %d channels of %dx%d with a %dx%d kernel is too large",
                        in.c, in.h, in.w, kh, kw);
    *out = (gp_shape){ in.n, l->spec.u.conv2d.cout, (in.h + 2 * pad - kh) / stride + 1,
                       (in.w + 2 * pad - kw) / stride + 1 };
    return GP_OK;
}


static gp_status gpi_conv_env(gpi_conv_choice *ch)
{
    const char *env = getenv("GPOOL_CONV");
    *ch = (gpi_conv_choice){ GP_ISA_AVX512, 0 };
    if (!env || !*env || !strcmp(env, "auto"))
        return GP_OK;
    if (!strcmp(env, "im2col"))
        *ch = (gpi_conv_choice){ GP_ISA_SCALAR, 1 };
    else if (!strcmp(env, "avx2"))
        *ch = (gpi_conv_choice){ GP_ISA_AVX2, 1 };
    else if (!strcmp(env, "avx512"))
        *ch = (gpi_conv_choice){ GP_ISA_AVX512, 1 };
    else
        return gpi_fail(GP_ERR_ENV, "GPOOL_CONV: unknown path '%s' (known: auto, im2col, avx2, "
                        "avx512)", env);
    return GP_OK;
}


/* The plan of l for inputs in (which out_shape accepts): geometry, the path
 * the rule picks, and that path's scratch for in.n images and the current
 * thread count. On failure c holds what was allocated, for
 * gpi_conv_free_plan. */
static gp_status gpi_conv_plan(const gp_layer *l, gp_shape in, gpi_conv *c)
{
    gp_shape os;
    gpi_conv_choice choice;
    memset(c, 0, sizeof *c);
    gp_status st = gpi_conv_env(&choice);
    if (st != GP_OK)
        return st;
    l->ops->out_shape(l, in, &os);
    int kh = l->spec.u.conv2d.kh, kw = l->spec.u.conv2d.kw;
    int stride = l->spec.u.conv2d.stride, pad = l->spec.u.conv2d.pad;
    *c = (gpi_conv){ .cin = in.c, .h = in.h, .w = in.w, .cout = os.c, .kh = kh, .kw = kw,
                     .stride = stride, .pad = pad, .hout = os.h, .wout = os.w,
                     .has_bias = l->spec.u.conv2d.bias != 0,
                     .x_is_cols = kh == 1 && kw == 1 && stride == 1 && pad == 0,
                     .K = (size_t)in.c * kh * kw, .P = (size_t)os.h * os.w,
                     .slots = gpi_max_threads() };
    c->claims = gpi_balloc((size_t)c->slots * sizeof *c->claims);
    if (!c->claims)
        return gpi_fail(GP_ERR_NOMEM, "conv2d: out of memory for the chunk claims");
    c->d.k = gpi_direct_pick(c, choice);
    if (c->d.k) {
        st = gpi_direct_alloc(c, in.n);
        if (st || c->d.k)
            return st;
    }
    return gpi_im2col_alloc(c, in.n);
}

static void gpi_conv_describe(gp_layer *l)
{
    const gpi_conv *c = l->priv;
    double macs = (double)c->cout * (double)c->K * (double)c->P;
    l->flops = 2.0 * macs + (c->has_bias ? (double)c->cout * (double)c->P : 0.0);
    l->workspace_bytes = c->workspace_bytes;
    snprintf(l->desc, sizeof l->desc, "%dx%d/%d pad %d%s%s%s", c->kh, c->kw, c->stride, c->pad,
             c->has_bias ? ", bias" : "", c->d.k ? ", direct " : "", c->d.k ? c->d.k->name : "");
}

/* The new plan gets its own record: the direct path's fwd and bwd point
 * into it. */
static gp_status gpi_conv_reshape(gp_layer *l, gp_shape in)
{
    gpi_conv *next = calloc(1, sizeof *next);
    if (!next)
        return gpi_fail(GP_ERR_NOMEM, "conv2d: out of memory");
    gp_status st = gpi_conv_plan(l, in, next);
    if (st != GP_OK) {
        gpi_conv_free_plan(next);
        free(next);
        return st;
    }
    if (l->priv)
        gpi_conv_free_plan(l->priv);
    free(l->priv);
    l->priv = next;
    gpi_layer_set_shapes(l, in);
    gpi_conv_describe(l);
    return GP_OK;
}

/* weight [cout, cin, kh, kw], bias [cout]. */
static gp_status gpi_conv_init(gp_layer *l)
{
    int cout = l->spec.u.conv2d.cout, kh = l->spec.u.conv2d.kh, kw = l->spec.u.conv2d.kw;
    size_t wdims[4] = { (size_t)cout, (size_t)l->in.c, (size_t)kh, (size_t)kw };
    size_t bdims[1] = { (size_t)cout };
    int fan_in = l->in.c * kh * kw, fan_out = cout * kh * kw;
    if (!gpi_layer_add_param(l, "weight", 4, wdims, fan_in, fan_out, 0) ||
        (l->spec.u.conv2d.bias && !gpi_layer_add_param(l, "bias", 1, bdims, fan_in, fan_out, 1)))
        return GP_ERR_NOMEM;
    return GP_OK;
}

static int gpi_conv_format(const gp_layer_spec *spec, char *buf, size_t len)
{
    return snprintf(buf, len, "cout=%d kh=%d kw=%d stride=%d pad=%d bias=%d",
                    spec->u.conv2d.cout, spec->u.conv2d.kh, spec->u.conv2d.kw,
                    spec->u.conv2d.stride, spec->u.conv2d.pad, spec->u.conv2d.bias != 0);
}

/* priv_bytes 0: every plan allocates its own record */
const gpi_layer_kind gpi_conv2d_kind = {
    { "conv2d", gpi_conv_forward, gpi_conv_backward, gpi_conv_destroy, gpi_conv_out_shape,
      gpi_conv_reshape },
    0, gpi_conv_check, gpi_conv_init, gpi_conv_format
};

gp_status gp_conv2d_create(gp_layer **out, gp_shape in, int cout, int kh, int kw,
                           int stride, int pad, int bias)
{
    gp_layer_spec spec = { .kind = GP_LAYER_CONV2D,
                           .u.conv2d = { cout, kh, kw, stride, pad, bias != 0 } };
    return gp_layer_create(out, in, &spec);
}
