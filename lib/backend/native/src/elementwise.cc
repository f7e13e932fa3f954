// The element-wise module: binary/unary maps, reductions, copies, the fused optimiser.
#include "common.h"

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "threads", threads);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
