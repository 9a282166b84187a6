#include "image_codecs.h"

// clang-format off
#include <csetjmp>
#include <cstdio>
#include <jpeglib.h>  // needs <cstdio> first
#include <jerror.h>  // the message codes
#include <png.h>
// clang-format on

#include <cstring>
#include <opencv2/core.hpp>

#include "convkit/data/image_file.h"

namespace convkit::data::codec {

namespace {
// ---- JPEG ----------------------------------------------------------------------------------
// libjpeg reports through its error manager; every error and every warning jumps back to the
// setjmp in run_jpeg with the formatted message (a warning means libjpeg made up pixels).
struct JpegErrors {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
  int64_t max_pixels;
  bool too_large;
};

[[noreturn]] void jpeg_fail(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  c->err->format_message(c, e->message);
  const int code = c->err->msg_code;
  e->truncated = code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JERR_INPUT_EOF;
  std::longjmp(e->jump, 1);
}

void jpeg_message(j_common_ptr c, int level) {
  if (level < 0) jpeg_fail(c);  // level -1 is a warning; higher levels are trace output
}

// EXIF orientation (tag 0x0112 of IFD0 in the APP1 "Exif" segment; 1..8), 1 when absent.
int exif_orientation(jpeg_saved_marker_ptr m) {
  for (; m; m = m->next) {
    const unsigned char* p = m->data;
    const size_t n = m->data_length;
    if (m->marker != JPEG_APP0 + 1 || n < 14 || std::memcmp(p, "Exif\0\0", 6) != 0) continue;
    const unsigned char* t = p + 6;  // the TIFF header
    const size_t tn = n - 6;
    const bool le = t[0] == 'I';
    auto u16 = [&](size_t o) -> uint32_t {
      return o + 2 > tn ? 0 : le ? t[o] | t[o + 1] << 8 : t[o] << 8 | t[o + 1];
    };
    auto u32 = [&](size_t o) -> uint32_t {
      return le ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2);
    };
    const size_t ifd = u32(4);
    if (ifd >= tn) return 1;
    const uint32_t count = u16(ifd);
    for (uint32_t k = 0; k < count; ++k) {
      const size_t e = ifd + 2 + size_t(12) * k;
      if (e + 12 > tn) break;
      if (u16(e) == 0x0112) {
        const uint32_t v = u16(e + 8);
        return v >= 1 && v <= 8 ? int(v) : 1;
      }
    }
  }
  return 1;
}

// The transform each EXIF orientation asks for, as OpenCV's imread applies it.
cv::Mat oriented(cv::Mat img, int orientation) {
  if (orientation >= 5) cv::transpose(img, img);
  switch (orientation) {
    case 2:
    case 6:
      cv::flip(img, img, 1);
      break;
    case 3:
    case 7:
      cv::flip(img, img, -1);
      break;
    case 4:
    case 8:
      cv::flip(img, img, 0);
      break;
    default:
      break;
  }
  return img;
}

// Adobe's (inverted) CMYK, as Photoshop writes it, to RGB: R = C * K / 255.
void cmyk_to_rgb(const unsigned char* cmyk, unsigned char* rgb, int width) {
  for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3)
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<unsigned char>(cmyk[c] * cmyk[3] / 255);
}

// The libjpeg calls, between a setjmp and the longjmps of jpeg_fail: no object with a destructor
// is created here (`out` and `cmyk_row` live in the caller). False after an error or warning.
bool run_jpeg(jpeg_decompress_struct& cinfo, JpegErrors& err, std::string_view bytes, cv::Mat& out,
              cv::Mat& cmyk_row, int& orientation) {
  if (setjmp(err.jump)) return false;
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  // The probe checks the size in the header it finds; this covers a frame header it missed.
  if (int64_t(cinfo.image_width) * cinfo.image_height > err.max_pixels) {
    err.too_large = true;
    return false;
  }
  orientation = exif_orientation(cinfo.marker_list);
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const int w = int(cinfo.output_width), h = int(cinfo.output_height);
  out.create(h, w, cinfo.output_components == 1 ? CV_8UC1 : CV_8UC3);
  if (cmyk) cmyk_row.create(1, w, CV_8UC4);
  while (cinfo.output_scanline < cinfo.output_height) {
    const int y = int(cinfo.output_scanline);
    JSAMPROW row = cmyk ? cmyk_row.ptr(0) : out.ptr(y);
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (cmyk) cmyk_to_rgb(cmyk_row.ptr(0), out.ptr(y), w);
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

// ---- PNG -----------------------------------------------------------------------------------
struct PngInput {
  std::string_view bytes;
  size_t at;
  std::jmp_buf jump;
  char message[256];
  bool truncated;
  int64_t max_pixels;
  bool too_large;
};

[[noreturn]] void png_fail(png_structp png, png_const_charp msg) {
  auto* in = static_cast<PngInput*>(png_get_error_ptr(png));
  std::snprintf(in->message, sizeof in->message, "%s", msg);
  std::longjmp(in->jump, 1);
}

void png_warning_dropped(png_structp, png_const_charp) {}

void png_read_bytes(png_structp png, png_bytep dst, size_t n) {
  auto* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (n > in->bytes.size() - in->at) {
    in->truncated = true;
    png_error(png, "the file ends before the image data does");
  }
  std::memcpy(dst, in->bytes.data() + in->at, n);
  in->at += n;
}

// As run_jpeg: only libpng calls and the caller's objects between setjmp and png_fail's longjmp.
bool run_png(png_structp png, png_infop info, PngInput& in, cv::Mat& out) {
  if (setjmp(in.jump)) return false;
  png_set_read_fn(png, &in, png_read_bytes);
  png_read_info(png, info);
  if (int64_t(png_get_image_width(png, info)) * png_get_image_height(png, info) > in.max_pixels) {
    in.too_large = true;
    return false;
  }
  const int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_scale_16(png);
  if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int w = int(png_get_image_width(png, info)), h = int(png_get_image_height(png, info));
  out.create(h, w, png_get_channels(png, info) == 1 ? CV_8UC1 : CV_8UC3);
  for (int pass = 0; pass < passes; ++pass)
    for (int y = 0; y < h; ++y) png_read_row(png, out.ptr(y), nullptr);
  png_read_end(png, nullptr);
  return true;
}
}  // namespace

cv::Mat decode_jpeg(std::string_view bytes, const std::string& path, int64_t max_pixels) {
  jpeg_decompress_struct cinfo{};
  JpegErrors err{};
  err.max_pixels = max_pixels;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jpeg_fail;
  err.pub.emit_message = jpeg_message;
  cv::Mat out, cmyk_row;
  int orientation = 1;
  const bool ok = run_jpeg(cinfo, err, bytes, out, cmyk_row, orientation);
  jpeg_destroy_decompress(&cinfo);
  if (err.too_large)
    throw ImageFileError(ImageProblem::too_large, path,
                         pixels_over_limit(cinfo.image_width, cinfo.image_height, max_pixels));
  if (!ok)
    throw ImageFileError(err.truncated ? ImageProblem::truncated : ImageProblem::corrupt, path,
                         std::string(err.truncated ? "truncated" : "corrupt") +
                             " JPEG (libjpeg: " + err.message + ")");
  return oriented(out, orientation);
}

cv::Mat decode_png(std::string_view bytes, const std::string& path, int64_t max_pixels) {
  PngInput in{};
  in.bytes = bytes;
  in.max_pixels = max_pixels;
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &in, png_fail, png_warning_dropped);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw ImageFileError(ImageProblem::corrupt, path,
                         "PNG decoder could not start (out of memory)");
  }
  cv::Mat out;
  const bool ok = run_png(png, info, in, out);
  const int64_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  png_destroy_read_struct(&png, &info, nullptr);
  if (in.too_large)
    throw ImageFileError(ImageProblem::too_large, path, pixels_over_limit(w, h, max_pixels));
  if (!ok)
    throw ImageFileError(
        in.truncated ? ImageProblem::truncated : ImageProblem::corrupt, path,
        std::string(in.truncated ? "truncated" : "corrupt") + " PNG (libpng: " + in.message + ")");
  return out;
}

}  // namespace convkit::data::codec
