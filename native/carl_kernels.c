/*
 * carl's native kernels: float32 matrix products on the machine's BLAS (OpenBLAS), called by the
 * "native" tfjs backend (plugins/backend-native) on tensors that live in tfjs-backend-wasm's heap.
 * Every function reads and writes the heap in place through byte offsets, so no tensor is copied
 * between JavaScript, WebAssembly and C.
 */
#include <math.h>
#include <stdint.h>
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

static int arg_int(napi_env env, napi_value value, int64_t *out) {
  return napi_get_value_int64(env, value, out) == napi_ok;
}

static float *heap_floats(napi_env env, napi_value heap, size_t *bytes) {
  void *data = NULL;
  if (napi_get_arraybuffer_info(env, heap, &data, bytes) != napi_ok) return NULL;
  return (float *)data;
}

static void *typed_array(napi_env env, napi_value value, size_t *length) {
  napi_typedarray_type type;
  void *data = NULL;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok) return NULL;
  return data;
}

/*
 * matMul(heap, aOffsets, bOffsets, cOffset, m, n, k, transposeA, transposeB)
 * For each batch i: C[i] = op(A at aOffsets[i]) · op(B at bOffsets[i]), row-major, C[i] at
 * cOffset + i·m·n. Offsets are float indices into the heap; the caller resolves broadcasting.
 */
static napi_value mat_mul(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value args[9];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 9) {
    napi_throw_type_error(env, NULL, "matMul expects 9 arguments");
    return NULL;
  }
  size_t heap_bytes = 0;
  float *heap = heap_floats(env, args[0], &heap_bytes);
  size_t batches = 0, b_batches = 0;
  const int32_t *a_offsets = typed_array(env, args[1], &batches);
  const int32_t *b_offsets = typed_array(env, args[2], &b_batches);
  int64_t c_offset, m, n, k;
  bool trans_a, trans_b;
  if (heap == NULL || a_offsets == NULL || b_offsets == NULL || b_batches != batches || !arg_int(env, args[3], &c_offset) ||
      !arg_int(env, args[4], &m) || !arg_int(env, args[5], &n) || !arg_int(env, args[6], &k) ||
      napi_get_value_bool(env, args[7], &trans_a) != napi_ok || napi_get_value_bool(env, args[8], &trans_b) != napi_ok) {
    napi_throw_type_error(env, NULL, "matMul: bad arguments");
    return NULL;
  }
  size_t heap_floats_count = heap_bytes / sizeof(float);
  if ((size_t)c_offset + batches * (size_t)(m * n) > heap_floats_count) {
    napi_throw_range_error(env, NULL, "matMul: output outside the heap");
    return NULL;
  }
  for (size_t i = 0; i < batches; i++) {
    if ((size_t)a_offsets[i] + (size_t)(m * k) > heap_floats_count || (size_t)b_offsets[i] + (size_t)(k * n) > heap_floats_count) {
      napi_throw_range_error(env, NULL, "matMul: input outside the heap");
      return NULL;
    }
  }
  const int lda = trans_a ? (int)m : (int)k;
  const int ldb = trans_b ? (int)k : (int)n;
  for (size_t i = 0; i < batches; i++) {
    float *c = heap + c_offset + i * (size_t)(m * n);
    if (k == 0) {
      memset(c, 0, sizeof(float) * (size_t)(m * n));
      continue;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0f, heap + a_offsets[i], lda, heap + b_offsets[i], ldb, 0.0f, c, (int)n);
  }
  return NULL;
}

/* Activations of tfjs's _FusedMatMul, by the codes plugins/backend-native/fused-mat-mul.ts uses. */
enum { LINEAR = 0, RELU = 1, RELU6 = 2, ELU = 3, LEAKY_RELU = 4, SIGMOID = 5, PRELU = 6 };

/*
 * biasActivation(heap, cOffset, rows, n, biasOffset, biasSize, activation, alpha, preluOffset, preluSize)
 * In place on the rows×n output: add the bias (size 1, n or rows·n; offset −1 for none), then the
 * activation (PReLU's weights of size 1, n or rows·n).
 */
static napi_value bias_activation(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value args[10];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  size_t heap_bytes = 0;
  float *heap = argc == 10 ? heap_floats(env, args[0], &heap_bytes) : NULL;
  int64_t c_offset, rows, n, bias_offset, bias_size, activation, prelu_offset, prelu_size;
  double alpha;
  if (heap == NULL || !arg_int(env, args[1], &c_offset) || !arg_int(env, args[2], &rows) || !arg_int(env, args[3], &n) ||
      !arg_int(env, args[4], &bias_offset) || !arg_int(env, args[5], &bias_size) || !arg_int(env, args[6], &activation) ||
      napi_get_value_double(env, args[7], &alpha) != napi_ok || !arg_int(env, args[8], &prelu_offset) ||
      !arg_int(env, args[9], &prelu_size)) {
    napi_throw_type_error(env, NULL, "biasActivation: bad arguments");
    return NULL;
  }
  const size_t total = (size_t)(rows * n);
  const size_t heap_floats_count = heap_bytes / sizeof(float);
  if ((size_t)c_offset + total > heap_floats_count || (bias_offset >= 0 && (size_t)(bias_offset + bias_size) > heap_floats_count) ||
      (prelu_offset >= 0 && (size_t)(prelu_offset + prelu_size) > heap_floats_count)) {
    napi_throw_range_error(env, NULL, "biasActivation: outside the heap");
    return NULL;
  }
  float *c = heap + c_offset;
  if (bias_offset >= 0) {
    const float *bias = heap + bias_offset;
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
      const float *w = heap + prelu_offset;
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

/* unary(heap, op, xOffset, yOffset, size): y = op(x) elementwise; op 0 = exp, 1 = erf. */
static napi_value unary(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  size_t heap_bytes = 0;
  float *heap = argc == 5 ? heap_floats(env, args[0], &heap_bytes) : NULL;
  int64_t op, x_offset, y_offset, size;
  if (heap == NULL || !arg_int(env, args[1], &op) || !arg_int(env, args[2], &x_offset) || !arg_int(env, args[3], &y_offset) ||
      !arg_int(env, args[4], &size) || size < 0) {
    napi_throw_type_error(env, NULL, "unary: bad arguments");
    return NULL;
  }
  const size_t count = heap_bytes / sizeof(float);
  if (x_offset < 0 || y_offset < 0 || (size_t)(x_offset + size) > count || (size_t)(y_offset + size) > count) {
    napi_throw_range_error(env, NULL, "unary: outside the heap");
    return NULL;
  }
  if (op == 0) carl_exp(heap + x_offset, heap + y_offset, (size_t)size);
  else if (op == 1) carl_erf(heap + x_offset, heap + y_offset, (size_t)size);
  else {
    napi_throw_range_error(env, NULL, "unary: unknown op");
    return NULL;
  }
  return NULL;
}

/*
 * gather(heap, xOffset, outer, dim, slice, indicesOffset, count, outOffset, elementBytes):
 * x viewed as [outer, dim, slice], out as [outer, count, slice], out[o, i] = x[o, indices[i]].
 * Returns the first index outside [0, dim), or -1 when all are in range (nothing is written then).
 */
static napi_value gather(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value args[9];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  size_t heap_bytes = 0;
  void *data = NULL;
  if (argc != 9 || napi_get_arraybuffer_info(env, args[0], &data, &heap_bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "gather: bad arguments");
    return NULL;
  }
  int64_t x_offset, outer, dim, slice, indices_offset, count, out_offset, element;
  if (!arg_int(env, args[1], &x_offset) || !arg_int(env, args[2], &outer) || !arg_int(env, args[3], &dim) ||
      !arg_int(env, args[4], &slice) || !arg_int(env, args[5], &indices_offset) || !arg_int(env, args[6], &count) ||
      !arg_int(env, args[7], &out_offset) || !arg_int(env, args[8], &element) || element != 4) {
    napi_throw_type_error(env, NULL, "gather: bad arguments");
    return NULL;
  }
  const size_t words = heap_bytes / 4;
  if ((size_t)(x_offset + outer * dim * slice) > words || (size_t)(indices_offset + count) > words ||
      (size_t)(out_offset + outer * count * slice) > words) {
    napi_throw_range_error(env, NULL, "gather: outside the heap");
    return NULL;
  }
  const int32_t *indices = (const int32_t *)data + indices_offset;
  napi_value result;
  for (int64_t i = 0; i < count; i++) {
    if (indices[i] < 0 || indices[i] >= dim) {
      CHECK(napi_create_int64(env, indices[i], &result));
      return result;
    }
  }
  const uint32_t *x = (const uint32_t *)data + x_offset;
  uint32_t *out = (uint32_t *)data + out_offset;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < count; i++)
      memcpy(out + (o * count + i) * slice, x + (o * dim + indices[i]) * slice, (size_t)slice * 4);
  CHECK(napi_create_int64(env, -1, &result));
  return result;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  int64_t threads;
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc != 1 || !arg_int(env, args[0], &threads) || threads < 1) {
    napi_throw_type_error(env, NULL, "setThreads expects a whole number ≥ 1");
    return NULL;
  }
  openblas_set_num_threads((int)threads);
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
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"blasInfo", NULL, blas_info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
