// JPEG decoding for the data pipeline (lib/data/image.ts, readBytes) with
// the system's libjpeg-turbo, on the calling thread: sharp decodes with the
// same library (its default IDCT and upsampling) but through libvips's
// pipeline and worker threads, which cost ~1.8 ms a 256x512 facade on top
// of the decode itself (2.4 ms against 0.64 here).
//   decodeJpeg(bytes) -> { width, height, channels: 3, data } | undefined
// data is a Uint8Array of HWC RGB pixels. Undefined wherever sharp might not
// give these very bytes: not a JPEG, an ICC profile (sharp converts to
// sRGB), greyscale (sharp makes it sRGB too), CMYK or YCCK, more pixels
// than sharp takes (it refuses them), or any warning or error (a truncated
// or corrupt file, which sharp reports with its own words): the caller
// decodes those with sharp.
//
// Built only where jpeglib.h is (libjpeg62-turbo-dev; build.mjs defines
// PIX2PIX_JPEG): elsewhere decodeJpeg is not exported and sharp decodes all.
#include "common.h"

#ifdef PIX2PIX_JPEG
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>

namespace {

struct ErrorManager {
  jpeg_error_mgr base;
  jmp_buf jump;
  bool warned;
};

void on_error(j_common_ptr cinfo) { longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1); }

// Level -1 is a warning (corrupt data, a premature end), higher levels are traces.
void on_message(j_common_ptr cinfo, int level) {
  if (level < 0) reinterpret_cast<ErrorManager*>(cinfo->err)->warned = true;
}

// sharp's default limitInputPixels (0x3FFF * 0x3FFF): it refuses bigger images.
constexpr unsigned long long kSharpPixelLimit = 0x3FFFull * 0x3FFFull;

bool has_icc_profile(const jpeg_decompress_struct& cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m != nullptr; m = m->next)
    if (m->marker == JPEG_APP0 + 2 && m->data_length >= 12 && std::memcmp(m->data, "ICC_PROFILE", 12) == 0) return true;
  return false;
}

napi_value decode_jpeg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* bytes = nullptr;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &bytes, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, nullptr, "pix2pix_elementwise.decodeJpeg: expected a Uint8Array of a file's bytes");
    return nullptr;
  }
  const auto* in = static_cast<const unsigned char*>(bytes);
  if (length < 4 || in[0] != 0xFF || in[1] != 0xD8) return undefined_value(env);  // no JPEG start of image

  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.base);
  err.base.error_exit = on_error;
  err.base.emit_message = on_message;
  err.warned = false;
  napi_value result = nullptr;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return undefined_value(env);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, in, static_cast<unsigned long>(length));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);
  jpeg_read_header(&cinfo, TRUE);
  const J_COLOR_SPACE stored = cinfo.jpeg_color_space;
  const unsigned long long area = static_cast<unsigned long long>(cinfo.image_width) * cinfo.image_height;
  if (err.warned || has_icc_profile(cinfo) || !(stored == JCS_YCbCr || stored == JCS_RGB) || area > kSharpPixelLimit) {
    jpeg_destroy_decompress(&cinfo);
    return undefined_value(env);
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const size_t width = cinfo.output_width, height = cinfo.output_height, channels = cinfo.output_components;
  napi_value buffer;
  void* data = nullptr;
  if (napi_create_arraybuffer(env, width * height * channels, &data, &buffer) != napi_ok) {
    jpeg_destroy_decompress(&cinfo);
    napi_throw_range_error(env, nullptr, "pix2pix_elementwise.decodeJpeg: out of memory for the pixels");
    return nullptr;
  }
  auto* out = static_cast<unsigned char*>(data);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out + static_cast<size_t>(cinfo.output_scanline) * width * channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  const bool warned = err.warned;
  jpeg_destroy_decompress(&cinfo);
  if (warned) return undefined_value(env);

  napi_value pixels, w, h, c;
  NAPI_CALL(env, napi_create_typedarray(env, napi_uint8_array, width * height * channels, buffer, 0, &pixels));
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_create_uint32(env, static_cast<uint32_t>(width), &w));
  NAPI_CALL(env, napi_create_uint32(env, static_cast<uint32_t>(height), &h));
  NAPI_CALL(env, napi_create_uint32(env, static_cast<uint32_t>(channels), &c));
  NAPI_CALL(env, napi_set_named_property(env, result, "width", w));
  NAPI_CALL(env, napi_set_named_property(env, result, "height", h));
  NAPI_CALL(env, napi_set_named_property(env, result, "channels", c));
  NAPI_CALL(env, napi_set_named_property(env, result, "data", pixels));
  return result;
}

}  // namespace

void export_jpeg_functions(napi_env env, napi_value exports) { export_function(env, exports, "decodeJpeg", decode_jpeg); }

#else

void export_jpeg_functions(napi_env, napi_value) {}

#endif
