// WebP through libwebp directly. OpenCV's imdecode picks a decoder by sniffing the bytes itself:
// a RIFF/WEBP file its WebP check turns down falls through to the other decoders, and one with
// "DICM" at offset 128 reached GDCM, which allocated 3 GB from a fuzzed length field (CI's fuzz
// step). Decoding here keeps the format the probe named and checks the pixel limit first.
#include <webp/decode.h>

#include <opencv2/core.hpp>

#include "convkit/data/image_file.h"
#include "convkit/error.h"
#include "image_codecs.h"

namespace convkit::data::codec {

cv::Mat decode_webp(std::string_view bytes, const std::string& path, int64_t max_pixels) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures f;
  const VP8StatusCode status = WebPGetFeatures(data, bytes.size(), &f);
  if (status == VP8_STATUS_NOT_ENOUGH_DATA)
    throw ImageFileError(ImageProblem::truncated, path,
                         "truncated WebP (libwebp: the data ends inside the headers)");
  if (status != VP8_STATUS_OK || f.width <= 0 || f.height <= 0)
    throw ImageFileError(ImageProblem::corrupt, path,
                         detail::concat("corrupt WebP (libwebp: header status ", int(status), ")"));
  if (f.has_animation)
    throw ImageFileError(ImageProblem::corrupt, path,
                         "animated WebP: not supported (save one frame as an image)");
  if (int64_t(f.width) * f.height > max_pixels)
    throw ImageFileError(ImageProblem::too_large, path,
                         pixels_over_limit(f.width, f.height, max_pixels));
  // Alpha is dropped, as for PNG: the decoder composites nothing, it just leaves A out.
  cv::Mat out(f.height, f.width, CV_8UC3);
  const size_t stride = out.step[0];
  if (!WebPDecodeRGBInto(data, bytes.size(), out.data, stride * size_t(f.height), int(stride)))
    throw ImageFileError(ImageProblem::corrupt, path,
                         "corrupt WebP (libwebp could not decode the image data)");
  return out;
}

}  // namespace convkit::data::codec
