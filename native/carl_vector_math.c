/*
 * Elementwise math that tfjs-backend-wasm computes one scalar libm call at a time. This file alone
 * is compiled with -ffast-math, which is what makes GCC call glibc's vector math library (libmvec)
 * for these loops. Its functions test nothing for NaN or infinity themselves, so fast-math's
 * finite-math assumption changes no result here; libmvec's expf/erff pass NaN and ±inf through as
 * the scalar ones do (test/native-backend.test.ts checks it), which carl's non-finite guards need.
 */
#include <math.h>
#include <stddef.h>

void carl_exp(const float *restrict x, float *restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

void carl_erf(const float *restrict x, float *restrict y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) y[i] = erff(x[i]);
}
