// Shared helpers for the N-API functions of the native accelerator.
#pragma once
#include <node_api.h>
#include <cstddef>
#include <cstdint>

#define NAPI_CALL(env, call)                                          \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error((env), nullptr, "pix2pix_native: " #call);     \
      return nullptr;                                                 \
    }                                                                 \
  } while (0)

// A Float32Array argument as a raw pointer and length (no copy).
struct F32 {
  float* data = nullptr;
  size_t length = 0;
};

bool get_f32(napi_env env, napi_value value, F32* out);
bool get_i64(napi_env env, napi_value value, int64_t* out);
bool get_f64(napi_env env, napi_value value, double* out);
napi_value undefined_value(napi_env env);
void export_function(napi_env env, napi_value exports, const char* name, napi_callback fn);

// OpenMP threads the kernels use (both modules export it as `threads`).
napi_value threads(napi_env env, napi_callback_info info);
