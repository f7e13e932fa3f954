{
  "variables": { "jpeg%": 0 },
  "target_defaults": {
    "cflags_cc": ["-O3", "-march=native", "-fopenmp", "-std=c++17"],
    "cflags_cc!": ["-fno-rtti", "-fno-exceptions"],
    "ldflags": ["-fopenmp"],
    "defines": ["NAPI_VERSION=8"]
  },
  "targets": [
    {
      "target_name": "pix2pix_conv",
      "sources": ["src/napi_util.cc", "src/conv.cc", "src/conv_gemm.cc", "src/conv_dnnl.cc", "src/conv_stream.cc", "src/conv_table.cc", "src/conv_async.cc", "src/conv_async_api.cc", "src/ew_kernels.cc"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-openmp"],
      "libraries": ["-L/usr/lib/x86_64-linux-gnu/openblas-openmp", "-Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp", "-lopenblas", "-ldnnl", "-lgomp"]
    },
    {
      "target_name": "pix2pix_elementwise",
      "sources": ["src/napi_util.cc", "src/elementwise.cc", "src/ew_kernels.cc", "src/ew_loss.cc", "src/resize.cc", "src/jpeg.cc"],
      "libraries": ["-lgomp"],
      "conditions": [["jpeg==1", { "defines": ["PIX2PIX_JPEG"], "libraries": ["-ljpeg"] }]]
    }
  ]
}
