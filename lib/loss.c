/*
 * loss.c - softmax cross-entropy, mean over the batch (PyTorch's
 * CrossEntropyLoss), optionally on sigmoid(logits) as the tutorial does.
 * Per-sample work is in double from the float scores: the loss is a sum of
 * n terms and the gradient a difference of nearly equal probabilities.
 */
#include "autoconfig.h"

#include <math.h>

#include "gpi.h"
#include "gpool_nn.h"

/* The score the softmax sees: the logit, or its sigmoid computed exactly as
 * the sigmoid layer does, so sigmoid layer + plain loss == sigmoid_inputs. */
static inline float gpi_xent_score(const float *z, int j, int sigmoid_inputs)
{
    return sigmoid_inputs ? 1.0f / (1.0f + expf(-z[j])) : z[j];
}

/* Index of the first largest logit. */
static int gpi_xent_argmax(const float *z, int classes)
{
    int best = 0;
    for (int j = 1; j < classes; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

/* One sample's loss, log-sum-exp with the max subtracted, and (unless g is
 * NULL) its gradient w.r.t. the raw logits, (softmax - onehot) / n, times
 * sigmoid' when the scores are sigmoids. */
static double gpi_xent_sample(int n, int classes, const float *z, int label,
                              int sigmoid_inputs, float *g)
{
    double m = gpi_xent_score(z, 0, sigmoid_inputs);
    for (int j = 1; j < classes; j++)
        m = fmax(m, gpi_xent_score(z, j, sigmoid_inputs));
    double sum = 0.0;
    for (int j = 0; j < classes; j++)
        sum += exp(gpi_xent_score(z, j, sigmoid_inputs) - m);
    if (g) {
        for (int j = 0; j < classes; j++) {
            double s = gpi_xent_score(z, j, sigmoid_inputs);
            double d = (exp(s - m) / sum - (j == label)) / n;
            g[j] = (float)(sigmoid_inputs ? d * s * (1.0 - s) : d);
        }
    }
    return log(sum) + m - gpi_xent_score(z, label, sigmoid_inputs);
}

static gp_status gpi_xent_check(int n, int classes, const float *logits, const int *labels,
                                const float *loss)
{
    if (n < 1 || classes < 1)
        return gpi_fail(GP_ERR_ARG, "softmax_xent: batch %d and classes %d must be positive",
                        n, classes);
    if (!logits || !labels || !loss)
        return gpi_fail(GP_ERR_ARG, "softmax_xent: NULL argument");
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return gpi_fail(GP_ERR_ARG, "softmax_xent: label %d of sample %d outside 0..%d",
                            labels[i], i, classes - 1);
    return GP_OK;
}

gp_status gp_softmax_xent(int n, int classes, const float *logits, const int *labels,
                          int sigmoid_inputs, float *loss, float *dlogits, int *correct)
{
    gp_status st = gpi_xent_check(n, classes, logits, labels, loss);
    if (st)
        return st;
    double total = 0.0;
    int hits = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * (size_t)classes;
        float *g = dlogits ? dlogits + (size_t)i * (size_t)classes : NULL;
        total += gpi_xent_sample(n, classes, z, labels[i], sigmoid_inputs, g);
        hits += gpi_xent_argmax(z, classes) == labels[i];
    }
    *loss = (float)(total / n);
    if (correct)
        *correct = hits;
    return GP_OK;
}
