// Helpers shared by the native accelerator's modules.
#include "common.h"
#include <omp.h>

bool get_f32(napi_env env, napi_value value, F32* out) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &offset) != napi_ok) return false;
  if (type != napi_float32_array) return false;
  out->data = static_cast<float*>(data);
  out->length = length;
  return true;
}

bool get_i64(napi_env env, napi_value value, int64_t* out) { return napi_get_value_int64(env, value, out) == napi_ok; }
bool get_f64(napi_env env, napi_value value, double* out) { return napi_get_value_double(env, value, out) == napi_ok; }

napi_value undefined_value(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

void export_function(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &f);
  napi_set_named_property(env, exports, name, f);
}

napi_value threads(napi_env env, napi_callback_info) {
  napi_value n;
  napi_create_int32(env, omp_get_max_threads(), &n);
  return n;
}
