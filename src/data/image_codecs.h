#pragma once
// JPEG, PNG, WebP and TIFF decoding through libjpeg, libpng, libwebp and libtiff with error
// handlers of our own, so that their warnings and errors become an ImageFileError naming the file
// instead of lines on stderr (OpenCV's decoders let libjpeg's warnings and libpng's "libpng error:"
// reach stderr, and decode a JPEG whose data stops early into grey rows without telling). Each call
// owns its decoder state, so loader workers may decode concurrently.
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>

namespace convkit::data::codec {

// "image of W x H = N pixels is above the limit of M pixels (raise it with --max-pixels)"; W and H
// may be anything a header holds (the product is taken in 64 bits unsigned, so it cannot wrap).
std::string pixels_over_limit(uint64_t width, uint64_t height, int64_t max_pixels);

// Both refuse (ImageProblem::too_large) an image of more than `max_pixels` before decoding it.

// Decodes a JPEG to CV_8UC1 (grayscale files) or CV_8UC3 in RGB order (colour and CMYK files),
// with the EXIF orientation applied. Any libjpeg error or warning throws ImageFileError: a file
// whose data ends early (even when an end marker follows) is `truncated`, anything else `corrupt`.
cv::Mat decode_jpeg(std::string_view bytes, const std::string& path, int64_t max_pixels);

// Decodes a PNG to CV_8UC1 (gray, gray + alpha) or CV_8UC3 in RGB order (colour, palette), alpha
// dropped and 16-bit samples scaled to 8 bits. A libpng error throws ImageFileError (`truncated`
// when the data ends before IEND, `corrupt` otherwise); libpng's warnings (ancillary chunks) are
// dropped. Bytes after IEND are ignored.
cv::Mat decode_png(std::string_view bytes, const std::string& path, int64_t max_pixels);

// Decodes a still WebP (lossy, lossless, extended) to CV_8UC3 in RGB order, alpha dropped, through
// libwebp (webp_codec.cpp). Headers that end early throw `truncated`; anything libwebp refuses,
// and animations, throw `corrupt`.
cv::Mat decode_webp(std::string_view bytes, const std::string& path, int64_t max_pixels);

// Decodes the first image of a TIFF to CV_8UC1 (min-is-black/white files) or CV_8UC3 in RGB order,
// alpha dropped and every bit depth libtiff's RGBA interface reads scaled to 8 bits, through
// libtiff (tiff_codec.cpp), whose allocations are capped. Data that ends early throws `truncated`;
// anything else libtiff refuses throws `corrupt`.
cv::Mat decode_tiff(std::string_view bytes, const std::string& path, int64_t max_pixels);

}  // namespace convkit::data::codec
