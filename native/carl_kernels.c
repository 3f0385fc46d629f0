/*
 * carl's native kernels: float32 matrix products on the machine's BLAS (OpenBLAS), called by the
 * "native" tfjs backend (plugins/backend-native) on tensors that live in tfjs-backend-wasm's heap.
 * Every function reads and writes the heap in place through byte offsets, so no tensor is copied
 * between JavaScript, WebAssembly and C.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <node_api.h>

/* CBLAS, declared here so that the addon needs only the library, not a particular cblas.h. */
enum { CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 };
extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
extern void openblas_set_num_threads(int threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      napi_throw_error(env, NULL, "carl native kernels: N-API call failed: " #call); \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

/* Fills args with exactly `expected` arguments, or throws "<name> expects <expected> arguments". */
static bool get_args(napi_env env, napi_callback_info info, size_t expected, napi_value *args, const char *name) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != expected) {
    char message[96];
    snprintf(message, sizeof message, "%s expects %zu arguments", name, expected);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  return true;
}

static int arg_int(napi_env env, napi_value value, int64_t *out) {
  return napi_get_value_int64(env, value, out) == napi_ok;
}

/* An empty typed array has no memory; its data pointer stands in for it (nothing reads it). */
static float empty_buffer[1];

/* The memory behind an ArrayBuffer (the wasm heap) or a typed array (a tfjs-cpu tensor's values). */
static void *buffer_data(napi_env env, napi_value value, size_t *bytes) {
  void *data = NULL;
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok) return NULL;
  if (is_typed) {
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    napi_value arraybuffer;
    if (napi_get_typedarray_info(env, value, &type, &length, &data, &arraybuffer, &offset) != napi_ok) return NULL;
    if (type != napi_float32_array && type != napi_int32_array && type != napi_uint32_array) return NULL;
    *bytes = length * 4;
    return length == 0 ? (void *)empty_buffer : data;
  }
  if (napi_get_arraybuffer_info(env, value, &data, bytes) != napi_ok) return NULL;
  return data;
}

static float *heap_floats(napi_env env, napi_value heap, size_t *bytes) { return (float *)buffer_data(env, heap, bytes); }

static void *typed_array(napi_env env, napi_value value, size_t *length) {
  napi_typedarray_type type;
  void *data = NULL;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok) return NULL;
  return data;
}

/* The most threads a batched product shares its matrices among. */
#define CARL_MAX_THREADS 64

/*
 * OpenBLAS's thread count is one setting for the whole process, and carl eval's embedding workers
 * are threads of one process. A batched product sets it to 1 while its own threads run, so it
 * holds this lock exclusively; every other product holds it shared, and so never runs (and rounds)
 * on a thread count that another worker set for a moment.
 */
static pthread_rwlock_t blas_setting = PTHREAD_RWLOCK_INITIALIZER;

/* Products first … end − 1 of a batched matMul, each one single call of sgemm. */
struct batch_products {
  const float *a;
  const int32_t *a_offsets;
  const float *b;
  const int32_t *b_offsets;
  float *c;
  int64_t m, n, k;
  bool trans_a, trans_b;
  size_t first, end;
};

static void run_batch_products(const struct batch_products *job) {
  const int lda = job->trans_a ? (int)job->m : (int)job->k;
  const int ldb = job->trans_b ? (int)job->k : (int)job->n;
  const size_t size = (size_t)(job->m * job->n);
  for (size_t i = job->first; i < job->end; i++) {
    float *out = job->c + i * size;
    if (job->k == 0) {
      memset(out, 0, sizeof(float) * size);
      continue;
    }
    cblas_sgemm(CblasRowMajor, job->trans_a ? CblasTrans : CblasNoTrans, job->trans_b ? CblasTrans : CblasNoTrans, (int)job->m,
                (int)job->n, (int)job->k, 1.0f, job->a + job->a_offsets[i], lda, job->b + job->b_offsets[i], ldb, 0.0f, out,
                (int)job->n);
  }
}

static void *batch_products_thread(void *job) {
  run_batch_products((const struct batch_products *)job);
  return NULL;
}

/*
 * matMul(a, aOffsets, b, bOffsets, c, cOffset, m, n, k, transposeA, transposeB)
 * For each batch i: C[i] = op(A at aOffsets[i]) · op(B at bOffsets[i]), row-major, C[i] at
 * cOffset + i·m·n. a, b and c are buffers (the same wasm heap, or three tensors' typed arrays);
 * offsets count floats. The caller resolves batch broadcasting into the offsets.
 */
static napi_value mat_mul(napi_env env, napi_callback_info info) {
  napi_value args[11];
  if (!get_args(env, info, 11, args, "matMul")) return NULL;
  size_t a_bytes = 0, b_bytes = 0, c_bytes = 0, batches = 0, b_batches = 0;
  float *a = heap_floats(env, args[0], &a_bytes);
  const int32_t *a_offsets = typed_array(env, args[1], &batches);
  float *b = heap_floats(env, args[2], &b_bytes);
  const int32_t *b_offsets = typed_array(env, args[3], &b_batches);
  float *c = heap_floats(env, args[4], &c_bytes);
  int64_t c_offset, m, n, k;
  bool trans_a, trans_b;
  if (a == NULL || b == NULL || c == NULL || a_offsets == NULL || b_offsets == NULL || b_batches != batches ||
      !arg_int(env, args[5], &c_offset) || !arg_int(env, args[6], &m) || !arg_int(env, args[7], &n) || !arg_int(env, args[8], &k) ||
      napi_get_value_bool(env, args[9], &trans_a) != napi_ok || napi_get_value_bool(env, args[10], &trans_b) != napi_ok ||
      c_offset < 0 || m < 0 || n < 0 || k < 0) {
    napi_throw_type_error(env, NULL, "matMul: bad arguments");
    return NULL;
  }
  if ((size_t)c_offset + batches * (size_t)(m * n) > c_bytes / 4) {
    napi_throw_range_error(env, NULL, "matMul: output outside its buffer");
    return NULL;
  }
  for (size_t i = 0; i < batches; i++) {
    if (a_offsets[i] < 0 || b_offsets[i] < 0 || (size_t)a_offsets[i] + (size_t)(m * k) > a_bytes / 4 ||
        (size_t)b_offsets[i] + (size_t)(k * n) > b_bytes / 4) {
      napi_throw_range_error(env, NULL, "matMul: input outside its buffer");
      return NULL;
    }
  }
  struct batch_products job = {a, a_offsets, b, b_offsets, c + c_offset, m, n, k, trans_a, trans_b, 0, batches};
  const int threads = openblas_get_num_threads();
  if (batches < 2 || threads < 2) {
    pthread_rwlock_rdlock(&blas_setting);
    run_batch_products(&job);
    pthread_rwlock_unlock(&blas_setting);
    return NULL;
  }
  /*
   * Many small products (attention's batch × heads): one single-threaded sgemm per matrix, the
   * batches shared among the threads. OpenBLAS would instead split each matrix across its threads
   * and synchronise them once per matrix, which costs more than the product at these sizes and
   * stalls for whole scheduler slices when another process holds a core. A matrix's product is
   * the same single-threaded sgemm whatever the thread count, so the result does not depend on it.
   */
  size_t workers = (size_t)threads < batches ? (size_t)threads : batches;
  if (workers > CARL_MAX_THREADS) workers = CARL_MAX_THREADS;
  struct batch_products parts[CARL_MAX_THREADS];
  pthread_t helpers[CARL_MAX_THREADS];
  bool started[CARL_MAX_THREADS] = {false};
  pthread_rwlock_wrlock(&blas_setting);
  const int setting = openblas_get_num_threads(); /* read again under the lock: what to put back */
  openblas_set_num_threads(1);
  for (size_t w = 0; w < workers; w++) {
    parts[w] = job;
    parts[w].first = batches * w / workers;
    parts[w].end = batches * (w + 1) / workers;
    if (w > 0) started[w] = pthread_create(&helpers[w], NULL, batch_products_thread, &parts[w]) == 0;
  }
  run_batch_products(&parts[0]);
  for (size_t w = 1; w < workers; w++) {
    if (started[w]) pthread_join(helpers[w], NULL);
    else run_batch_products(&parts[w]); /* no thread to be had: do its share here */
  }
  openblas_set_num_threads(setting);
  pthread_rwlock_unlock(&blas_setting);
  return NULL;
}

/* Activations of tfjs's _FusedMatMul, by the codes plugins/backend-native/fused-mat-mul.ts uses. */
enum { LINEAR = 0, RELU = 1, RELU6 = 2, ELU = 3, LEAKY_RELU = 4, SIGMOID = 5, PRELU = 6 };

/*
 * biasActivation(c, cOffset, rows, n, bias, biasOffset, biasSize, activation, alpha, prelu, preluOffset, preluSize)
 * In place on the rows×n output: add the bias (size 1, n or rows·n; offset −1 for none), then the
 * activation (PReLU's weights of size 1, n or rows·n).
 */
static napi_value bias_activation(napi_env env, napi_callback_info info) {
  napi_value args[12];
  if (!get_args(env, info, 12, args, "biasActivation")) return NULL;
  size_t c_bytes = 0, bias_bytes = 0, prelu_bytes = 0;
  float *c_buffer = heap_floats(env, args[0], &c_bytes);
  float *bias_buffer = heap_floats(env, args[4], &bias_bytes);
  float *prelu_buffer = heap_floats(env, args[9], &prelu_bytes);
  int64_t c_offset, rows, n, bias_offset, bias_size, activation, prelu_offset, prelu_size;
  double alpha;
  if (c_buffer == NULL || bias_buffer == NULL || prelu_buffer == NULL || !arg_int(env, args[1], &c_offset) ||
      !arg_int(env, args[2], &rows) || !arg_int(env, args[3], &n) || !arg_int(env, args[5], &bias_offset) ||
      !arg_int(env, args[6], &bias_size) || !arg_int(env, args[7], &activation) || napi_get_value_double(env, args[8], &alpha) != napi_ok ||
      !arg_int(env, args[10], &prelu_offset) || !arg_int(env, args[11], &prelu_size) || c_offset < 0 || rows < 0 || n <= 0) {
    napi_throw_type_error(env, NULL, "biasActivation: bad arguments");
    return NULL;
  }
  const size_t total = (size_t)(rows * n);
  if ((size_t)c_offset + total > c_bytes / 4 || (bias_offset >= 0 && (size_t)(bias_offset + bias_size) > bias_bytes / 4) ||
      (prelu_offset >= 0 && (size_t)(prelu_offset + prelu_size) > prelu_bytes / 4)) {
    napi_throw_range_error(env, NULL, "biasActivation: outside a buffer");
    return NULL;
  }
  float *c = c_buffer + c_offset;
  if (bias_offset >= 0) {
    const float *bias = bias_buffer + bias_offset;
    if (bias_size == 1) {
      for (size_t i = 0; i < total; i++) c[i] += bias[0];
    } else if (bias_size == n) {
      for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) c[r * n + j] += bias[j];
    } else {
      for (size_t i = 0; i < total; i++) c[i] += bias[i];
    }
  }
  const float a = (float)alpha;
  switch (activation) {
    case RELU:
      for (size_t i = 0; i < total; i++) c[i] = c[i] > 0.0f ? c[i] : 0.0f;
      break;
    case RELU6:
      for (size_t i = 0; i < total; i++) c[i] = c[i] < 0.0f ? 0.0f : (c[i] > 6.0f ? 6.0f : c[i]);
      break;
    case ELU:
      for (size_t i = 0; i < total; i++) c[i] = c[i] >= 0.0f ? c[i] : expm1f(c[i]);
      break;
    case LEAKY_RELU:
      for (size_t i = 0; i < total; i++) c[i] = c[i] >= 0.0f ? c[i] : a * c[i];
      break;
    case SIGMOID:
      for (size_t i = 0; i < total; i++) c[i] = 1.0f / (1.0f + expf(-c[i]));
      break;
    case PRELU: {
      if (prelu_offset < 0) break;
      const float *w = prelu_buffer + prelu_offset;
      for (size_t i = 0; i < total; i++) {
        const float slope = prelu_size == 1 ? w[0] : (prelu_size == n ? w[i % (size_t)n] : w[i]);
        c[i] = c[i] >= 0.0f ? c[i] : slope * c[i];
      }
      break;
    }
    default:
      break;
  }
  return NULL;
}

extern void carl_exp(const float *x, float *y, size_t n);
extern void carl_erf(const float *x, float *y, size_t n);

/* unary(op, x, xOffset, y, yOffset, size): y = op(x) elementwise; op 0 = exp, 1 = erf. */
static napi_value unary(napi_env env, napi_callback_info info) {
  napi_value args[6];
  if (!get_args(env, info, 6, args, "unary")) return NULL;
  size_t x_bytes = 0, y_bytes = 0;
  int64_t op, x_offset, y_offset, size;
  float *x = heap_floats(env, args[1], &x_bytes);
  float *y = heap_floats(env, args[3], &y_bytes);
  if (x == NULL || y == NULL || !arg_int(env, args[0], &op) || !arg_int(env, args[2], &x_offset) || !arg_int(env, args[4], &y_offset) ||
      !arg_int(env, args[5], &size) || size < 0 || x_offset < 0 || y_offset < 0) {
    napi_throw_type_error(env, NULL, "unary: bad arguments");
    return NULL;
  }
  if ((size_t)(x_offset + size) > x_bytes / 4 || (size_t)(y_offset + size) > y_bytes / 4) {
    napi_throw_range_error(env, NULL, "unary: outside a buffer");
    return NULL;
  }
  if (op == 0) carl_exp(x + x_offset, y + y_offset, (size_t)size);
  else if (op == 1) carl_erf(x + x_offset, y + y_offset, (size_t)size);
  else {
    napi_throw_range_error(env, NULL, "unary: unknown op");
    return NULL;
  }
  return NULL;
}

/*
 * gather(x, xOffset, outer, dim, slice, indices, indicesOffset, count, out, outOffset), on 4-byte
 * elements: x viewed as [outer, dim, slice], out as [outer, count, slice], out[o, i] = x[o, indices[i]].
 * Returns the first index outside [0, dim), or -1 when all are in range (nothing is written then).
 */
static napi_value gather(napi_env env, napi_callback_info info) {
  napi_value args[10];
  if (!get_args(env, info, 10, args, "gather")) return NULL;
  size_t x_bytes = 0, indices_bytes = 0, out_bytes = 0;
  void *x_data = buffer_data(env, args[0], &x_bytes);
  void *indices_data = buffer_data(env, args[5], &indices_bytes);
  void *out_data = buffer_data(env, args[8], &out_bytes);
  int64_t x_offset, outer, dim, slice, indices_offset, count, out_offset;
  if (x_data == NULL || indices_data == NULL || out_data == NULL || !arg_int(env, args[1], &x_offset) || !arg_int(env, args[2], &outer) ||
      !arg_int(env, args[3], &dim) || !arg_int(env, args[4], &slice) || !arg_int(env, args[6], &indices_offset) ||
      !arg_int(env, args[7], &count) || !arg_int(env, args[9], &out_offset) || x_offset < 0 || indices_offset < 0 || out_offset < 0) {
    napi_throw_type_error(env, NULL, "gather: bad arguments");
    return NULL;
  }
  if ((size_t)(x_offset + outer * dim * slice) > x_bytes / 4 || (size_t)(indices_offset + count) > indices_bytes / 4 ||
      (size_t)(out_offset + outer * count * slice) > out_bytes / 4) {
    napi_throw_range_error(env, NULL, "gather: outside a buffer");
    return NULL;
  }
  const int32_t *indices = (const int32_t *)indices_data + indices_offset;
  napi_value result;
  for (int64_t i = 0; i < count; i++) {
    if (indices[i] < 0 || indices[i] >= dim) {
      CHECK(napi_create_int64(env, indices[i], &result));
      return result;
    }
  }
  const uint32_t *x = (const uint32_t *)x_data + x_offset;
  uint32_t *out = (uint32_t *)out_data + out_offset;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < count; i++)
      memcpy(out + (o * count + i) * slice, x + (o * dim + indices[i]) * slice, (size_t)slice * 4);
  CHECK(napi_create_int64(env, -1, &result));
  return result;
}


extern void carl_adamw(float *weight, const float *gradient, float *first, float *second, size_t n, float beta1, float one_minus_beta1,
                       float beta2, float one_minus_beta2, float decay, float second_correction, float epsilon, float step_size);
extern void carl_moving_average(float *target, const float *online, size_t n, float momentum, float one_minus_momentum);
extern void carl_add_into(float *a, const float *b, size_t n);

/* A float32 run of `size` floats at `offset` in a buffer, or NULL (and a thrown RangeError) if it does not fit. */
static float *float_run(napi_env env, napi_value buffer, napi_value offset_value, int64_t size, const char *what) {
  size_t bytes = 0;
  int64_t offset;
  float *data = heap_floats(env, buffer, &bytes);
  if (data == NULL || !arg_int(env, offset_value, &offset) || offset < 0 || size < 0 || (size_t)(offset + size) > bytes / 4) {
    napi_throw_range_error(env, NULL, what);
    return NULL;
  }
  return data + offset;
}

static bool arg_float(napi_env env, napi_value value, float *out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return false;
  *out = (float)number;
  return true;
}

/*
 * adamw(weight, weightOffset, gradient, gradientOffset, first, second, size,
 *       beta1, 1 − beta1, beta2, 1 − beta2, 1 − lr·wd, √(1 − β2ᵗ), epsilon, lr / (1 − β1ᵗ))
 * In place on the weight and on the moments `first`/`second` (Float32Arrays of `size`, host memory).
 */
static napi_value adamw(napi_env env, napi_callback_info info) {
  napi_value args[15];
  if (!get_args(env, info, 15, args, "adamw")) return NULL;
  int64_t size;
  if (!arg_int(env, args[6], &size) || size < 0) {
    napi_throw_type_error(env, NULL, "adamw: bad size");
    return NULL;
  }
  float *weight = float_run(env, args[0], args[1], size, "adamw: weight outside its buffer");
  if (weight == NULL) return NULL;
  const float *gradient = float_run(env, args[2], args[3], size, "adamw: gradient outside its buffer");
  if (gradient == NULL) return NULL;
  size_t first_length = 0, second_length = 0;
  float *first = typed_array(env, args[4], &first_length);
  float *second = typed_array(env, args[5], &second_length);
  float c[8];
  bool ok = first != NULL && second != NULL && first_length == (size_t)size && second_length == (size_t)size;
  for (int i = 0; i < 8 && ok; i++) ok = arg_float(env, args[7 + i], &c[i]);
  if (!ok) {
    napi_throw_type_error(env, NULL, "adamw: bad moments or constants");
    return NULL;
  }
  carl_adamw(weight, gradient, first, second, (size_t)size, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
  return NULL;
}

/* movingAverage(target, targetOffset, online, onlineOffset, size, m, 1 − m): target ← target·m + online·(1 − m), in place. */
static napi_value moving_average(napi_env env, napi_callback_info info) {
  napi_value args[7];
  if (!get_args(env, info, 7, args, "movingAverage")) return NULL;
  int64_t size;
  float momentum, rest;
  if (!arg_int(env, args[4], &size) || size < 0 || !arg_float(env, args[5], &momentum) || !arg_float(env, args[6], &rest)) {
    napi_throw_type_error(env, NULL, "movingAverage: bad arguments");
    return NULL;
  }
  float *target = float_run(env, args[0], args[1], size, "movingAverage: target outside its buffer");
  if (target == NULL) return NULL;
  const float *online = float_run(env, args[2], args[3], size, "movingAverage: online outside its buffer");
  if (online == NULL) return NULL;
  carl_moving_average(target, online, (size_t)size, momentum, rest);
  return NULL;
}

/* addInto(a, aOffset, b, bOffset, size): a ← a + b, in place. */
static napi_value add_into(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!get_args(env, info, 5, args, "addInto")) return NULL;
  int64_t size;
  if (!arg_int(env, args[4], &size) || size < 0) {
    napi_throw_type_error(env, NULL, "addInto: bad size");
    return NULL;
  }
  float *a = float_run(env, args[0], args[1], size, "addInto: a outside its buffer");
  if (a == NULL) return NULL;
  const float *b = float_run(env, args[2], args[3], size, "addInto: b outside its buffer");
  if (b == NULL) return NULL;
  carl_add_into(a, b, (size_t)size);
  return NULL;
}

/* ------------------------------------------------------------------ linear probes (float64) */

extern void carl_probe_scores(const double *x, size_t n, size_t d, const double *weights, const double *bias, size_t classes,
                              double *scores);
extern void carl_probe_gradient(const double *x, size_t n, size_t d, const double *residuals, size_t classes, double *gradient);

/* A Float64Array with at least `needed` elements, or NULL after throwing "<what>". */
static double *float64_array(napi_env env, napi_value value, size_t needed, const char *what) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value arraybuffer;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, &length, &data, &arraybuffer, &offset) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  if (length < needed) {
    napi_throw_range_error(env, NULL, what);
    return NULL;
  }
  static double empty[1];
  return length == 0 ? empty : (double *)data;
}

static bool arg_size(napi_env env, napi_value value, size_t *out) {
  int64_t v;
  if (!arg_int(env, value, &v) || v < 0) return false;
  *out = (size_t)v;
  return true;
}

/* The sizes n and d (arguments 1 and 2) and classes (argument `classes_at`), or false after throwing. */
static bool probe_sizes(napi_env env, napi_value *args, int classes_at, const char *name, size_t *n, size_t *d, size_t *classes) {
  if (arg_size(env, args[1], n) && arg_size(env, args[2], d) && arg_size(env, args[classes_at], classes)) return true;
  char message[64];
  snprintf(message, sizeof message, "%s: bad sizes", name);
  napi_throw_type_error(env, NULL, message);
  return false;
}

/* probeScores(x, n, d, weights, bias, classes, scores): scores[n, classes] = X·Wᵀ + b; see carl_probe_math.c. */
static napi_value probe_scores(napi_env env, napi_callback_info info) {
  napi_value args[7];
  if (!get_args(env, info, 7, args, "probeScores")) return NULL;
  size_t n, d, classes;
  if (!probe_sizes(env, args, 5, "probeScores", &n, &d, &classes)) return NULL;
  const double *x = float64_array(env, args[0], n * d, "probeScores: x must be a Float64Array of n·d");
  if (x == NULL) return NULL;
  const double *weights = float64_array(env, args[3], classes * d, "probeScores: weights must be a Float64Array of classes·d");
  if (weights == NULL) return NULL;
  const double *bias = float64_array(env, args[4], classes, "probeScores: bias must be a Float64Array of classes");
  if (bias == NULL) return NULL;
  double *scores = float64_array(env, args[6], n * classes, "probeScores: scores must be a Float64Array of n·classes");
  if (scores == NULL) return NULL;
  carl_probe_scores(x, n, d, weights, bias, classes, scores);
  return NULL;
}

/* probeGradient(x, n, d, residuals, classes, gradient): gradient[classes, d] = Rᵀ·X; see carl_probe_math.c. */
static napi_value probe_gradient(napi_env env, napi_callback_info info) {
  napi_value args[6];
  if (!get_args(env, info, 6, args, "probeGradient")) return NULL;
  size_t n, d, classes;
  if (!probe_sizes(env, args, 4, "probeGradient", &n, &d, &classes)) return NULL;
  const double *x = float64_array(env, args[0], n * d, "probeGradient: x must be a Float64Array of n·d");
  if (x == NULL) return NULL;
  const double *residuals = float64_array(env, args[3], n * classes, "probeGradient: residuals must be a Float64Array of n·classes");
  if (residuals == NULL) return NULL;
  double *gradient = float64_array(env, args[5], classes * d, "probeGradient: gradient must be a Float64Array of classes·d");
  if (gradient == NULL) return NULL;
  carl_probe_gradient(x, n, d, residuals, classes, gradient);
  return NULL;
}

/*
 * stridedCopy(x, xOffset, shape, strides, out, outOffset)
 * out, row-major of `shape`, gets out[i₀, …, iᵣ] = x[xOffset + Σ i_d · strides[d]] for 4-byte
 * elements: a slice (the input's own strides from the slice's start) or a transpose (the input's
 * strides permuted). Rows whose last stride is 1 are copied whole.
 */
#define CARL_MAX_RANK 8
static napi_value strided_copy(napi_env env, napi_callback_info info) {
  napi_value args[6];
  if (!get_args(env, info, 6, args, "stridedCopy")) return NULL;
  size_t x_bytes = 0, out_bytes = 0, rank = 0, stride_count = 0;
  const uint32_t *x = (const uint32_t *)buffer_data(env, args[0], &x_bytes);
  const int32_t *shape = typed_array(env, args[2], &rank);
  const int32_t *strides = typed_array(env, args[3], &stride_count);
  uint32_t *out = (uint32_t *)buffer_data(env, args[4], &out_bytes);
  int64_t x_offset, out_offset;
  if (x == NULL || out == NULL || shape == NULL || strides == NULL || stride_count != rank || rank == 0 || rank > CARL_MAX_RANK ||
      !arg_int(env, args[1], &x_offset) || !arg_int(env, args[5], &out_offset) || x_offset < 0 || out_offset < 0) {
    napi_throw_type_error(env, NULL, "stridedCopy: bad arguments");
    return NULL;
  }
  size_t size = 1, last = (size_t)x_offset;
  for (size_t d = 0; d < rank; d++) {
    if (shape[d] < 0 || strides[d] < 0) {
      napi_throw_type_error(env, NULL, "stridedCopy: negative size or stride");
      return NULL;
    }
    size *= (size_t)shape[d];
    if (shape[d] > 0) last += (size_t)(shape[d] - 1) * (size_t)strides[d];
  }
  if (size == 0) return NULL;
  if (last >= x_bytes / 4 || (size_t)out_offset + size > out_bytes / 4) {
    napi_throw_range_error(env, NULL, "stridedCopy: outside a buffer");
    return NULL;
  }
  const size_t inner = (size_t)shape[rank - 1];
  const size_t inner_stride = (size_t)strides[rank - 1];
  const size_t rows = size / inner;
  size_t index[CARL_MAX_RANK] = {0};
  const uint32_t *from = x + x_offset;
  uint32_t *to = out + out_offset;
  for (size_t row = 0; row < rows; row++) {
    size_t start = 0;
    for (size_t d = 0; d + 1 < rank; d++) start += index[d] * (size_t)strides[d];
    if (inner_stride == 1) {
      memcpy(to, from + start, inner * 4);
    } else {
      for (size_t i = 0; i < inner; i++) to[i] = from[start + i * inner_stride];
    }
    to += inner;
    for (size_t d = rank - 1; d-- > 0;) {
      if (++index[d] < (size_t)shape[d]) break;
      index[d] = 0;
    }
  }
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  napi_value args[1];
  int64_t threads;
  if (!get_args(env, info, 1, args, "setThreads")) return NULL;
  if (!arg_int(env, args[0], &threads) || threads < 1) {
    napi_throw_type_error(env, NULL, "setThreads expects a whole number ≥ 1");
    return NULL;
  }
  pthread_rwlock_wrlock(&blas_setting);
  openblas_set_num_threads((int)threads);
  pthread_rwlock_unlock(&blas_setting);
  return NULL;
}

static napi_value blas_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, core, config, threads;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core));
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &threads));
  CHECK(napi_set_named_property(env, result, "core", core));
  CHECK(napi_set_named_property(env, result, "config", config));
  CHECK(napi_set_named_property(env, result, "threads", threads));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"matMul", NULL, mat_mul, NULL, NULL, NULL, napi_default, NULL},
      {"biasActivation", NULL, bias_activation, NULL, NULL, NULL, napi_default, NULL},
      {"unary", NULL, unary, NULL, NULL, NULL, napi_default, NULL},
      {"gather", NULL, gather, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, adamw, NULL, NULL, NULL, napi_default, NULL},
      {"movingAverage", NULL, moving_average, NULL, NULL, NULL, napi_default, NULL},
      {"addInto", NULL, add_into, NULL, NULL, NULL, napi_default, NULL},
      {"probeScores", NULL, probe_scores, NULL, NULL, NULL, napi_default, NULL},
      {"probeGradient", NULL, probe_gradient, NULL, NULL, NULL, napi_default, NULL},
      {"stridedCopy", NULL, strided_copy, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"blasInfo", NULL, blas_info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
