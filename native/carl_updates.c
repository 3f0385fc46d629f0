/*
 * In-place weight updates for carl's native backends: the AdamW step with its moments in host
 * memory (off the 4 GiB wasm heap), the momentum target's moving average, and gradient
 * accumulation. Each computes exactly what the tfjs ops of core/adamw.ts and
 * plugins/momentum compute, one float32 operation at a time in the same order: this file is
 * compiled with -ffp-contract=off, so no multiply-add is fused and the results are bit-identical
 * to the unfused path's.
 */
#include <math.h>
#include <stddef.h>

/*
 * m ← m·β1 + g·(1−β1);  v ← v·β2 + g²·(1−β2);
 * θ ← θ·(1 − lr·wd) − m / (√v / c2 + ε) · stepSize,  c2 = √(1 − β2ᵗ), stepSize = lr / (1 − β1ᵗ).
 */
void carl_adamw(float *restrict weight, const float *restrict gradient, float *restrict first, float *restrict second, size_t n,
                float beta1, float one_minus_beta1, float beta2, float one_minus_beta2, float decay, float second_correction,
                float epsilon, float step_size) {
  for (size_t i = 0; i < n; i++) {
    const float g = gradient[i];
    const float m = first[i] * beta1 + g * one_minus_beta1;
    const float v = second[i] * beta2 + (g * g) * one_minus_beta2;
    first[i] = m;
    second[i] = v;
    const float denominator = sqrtf(v) / second_correction + epsilon;
    weight[i] = weight[i] * decay - (m / denominator) * step_size;
  }
}

/* θ_t ← θ_t·m + θ_o·(1 − m)   (Eq. 1) */
void carl_moving_average(float *restrict target, const float *restrict online, size_t n, float momentum, float one_minus_momentum) {
  for (size_t i = 0; i < n; i++) target[i] = target[i] * momentum + online[i] * one_minus_momentum;
}

/* a ← a + b */
void carl_add_into(float *restrict a, const float *restrict b, size_t n) {
  for (size_t i = 0; i < n; i++) a[i] = a[i] + b[i];
}
