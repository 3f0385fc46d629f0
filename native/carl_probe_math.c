/*
 * The two matrix products in a logistic-regression probe's objective (plugins/evaluators/math/
 * logistic-regression.ts), in float64 on a row-major design X [n, d]:
 *
 *   scores    S[i, k] = b_k + Σ_j W[k, j]·X[i, j]      (j ascending, starting from b_k)
 *   gradient  G[k, j] = Σ_i R[i, k]·X[i, j]            (i ascending, starting from 0)
 *
 * Each sum is taken in exactly the order of the JavaScript loops they replace, one rounding per
 * multiply and per add: this file is compiled with -ffp-contract=off and without -ffast-math, so
 * the probe's every number is bit-identical with or without the addon. Speed comes from order-
 * preserving parallelism instead: eight rows' scores accumulate side by side (independent chains),
 * and the gradient's update runs along j, where the additions are independent and vectorise.
 */
#include <stddef.h>

#define ROWS 8

void carl_probe_scores(const double *restrict x, size_t n, size_t d, const double *restrict weights, const double *restrict bias,
                       size_t classes, double *restrict scores) {
  size_t i = 0;
  for (; i + ROWS <= n; i += ROWS) {
    const double *row = x + i * d;
    for (size_t k = 0; k < classes; k++) {
      const double *w = weights + k * d;
      double z[ROWS];
      for (int r = 0; r < ROWS; r++) z[r] = bias[k];
      for (size_t j = 0; j < d; j++) {
        const double wj = w[j];
        for (int r = 0; r < ROWS; r++) z[r] = z[r] + wj * row[r * d + j];
      }
      for (int r = 0; r < ROWS; r++) scores[(i + r) * classes + k] = z[r];
    }
  }
  for (; i < n; i++) {
    const double *row = x + i * d;
    for (size_t k = 0; k < classes; k++) {
      const double *w = weights + k * d;
      double z = bias[k];
      for (size_t j = 0; j < d; j++) z = z + w[j] * row[j];
      scores[i * classes + k] = z;
    }
  }
}

void carl_probe_gradient(const double *restrict x, size_t n, size_t d, const double *restrict residuals, size_t classes,
                         double *restrict gradient) {
  for (size_t p = 0; p < classes * d; p++) gradient[p] = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double *row = x + i * d;
    for (size_t k = 0; k < classes; k++) {
      const double r = residuals[i * classes + k];
      double *g = gradient + k * d;
      for (size_t j = 0; j < d; j++) g[j] = g[j] + r * row[j];
    }
  }
}
