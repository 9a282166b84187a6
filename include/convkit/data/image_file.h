#pragma once
// Image files: the format from the first bytes, width and height from the header without decoding,
// and decoding (JPEG and PNG through libjpeg and libpng with convkit's error handlers, the other
// formats through OpenCV) into the 8-bit RGB or grayscale cv::Mat that transforms take
// (data/transform.h).
//
// Every way a file can be unusable has a name (ImageProblem) so a dataset can count, report and
// skip it (docs/data.md, "Bad data"; docs/robustness.md). The header checks run before a decoder
// sees the bytes: a header that announces a huge image is refused before any pixel memory is
// allocated. A JPEG whose data ends early is refused, never filled with grey rows, and no decoder
// message reaches stderr: each becomes an ImageFileError naming the path.
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>

#include "convkit/error.h"

namespace convkit::data {

// The formats convkit decodes (through OpenCV's imgcodecs).
enum class ImageFormat { unknown, jpeg, png, bmp, webp, tiff };
const char* format_name(ImageFormat f);  // "JPEG", "PNG", ...; "unknown"

// The format a file name's extension stands for (case-insensitive: .jpg .jpeg .png .bmp .webp
// .tif .tiff); unknown for any other name.
ImageFormat format_from_extension(const std::string& path);

// What a file's bytes say without decoding. `head` holds the file's first bytes (the whole file
// when it is small), `file_size` its length. Width and height are -1 when the header is not within
// `head` (e.g. a JPEG whose EXIF block is larger than `head`); they are taken as the header gives
// them (up to 2^32 - 1 each), so compare their product in 64 bits unsigned.
struct ImageProbe {
  ImageFormat format = ImageFormat::unknown;  // from the signature bytes, never the name
  int64_t width = -1, height = -1;
  // The format's end is missing: a WebP or BMP shorter than its header declares, a TIFF directory
  // past the end; for PNG and JPEG only when `head` is the whole file and holds no IEND chunk / no
  // end-of-image marker after the scan header. Otherwise PNG and JPEG are judged by decoding:
  // bytes after the end marker are allowed, a scan that ends early is an error (read_image).
  bool truncated = false;
};
ImageProbe probe_image(std::string_view head, uint64_t file_size);

// Ways a file can be unusable, and the one way an image can be usable only after conversion.
enum class ImageProblem {
  unreadable,    // missing, a directory, no permission, read error
  empty,         // zero bytes
  not_an_image,  // the first bytes are no supported image format
  truncated,     // the file ends before the image does
  corrupt,       // the decoder refused it, or decoded another size than the header says
  too_large,     // width * height above the limit
  empty_class,   // a class folder without images (datasets report it; files never have it)
  gray_in_rgb,   // a one-channel image in an RGB data set (converted by replicating the channel)
};
const char* problem_name(ImageProblem p);  // "unreadable", "empty", ... (for counts and logs)

// Thrown by the functions below; the message starts with the path.
class ImageFileError : public Error {
 public:
  ImageFileError(ImageProblem problem, const std::string& path, const std::string& detail);
  ImageProblem problem() const { return problem_; }
  const std::string& path() const { return path_; }

 private:
  ImageProblem problem_;
  std::string path_;
};

enum class ColorMode { gray, rgb };

// 64 Mpixel (8192 x 8192): far above any training image, small enough that one decode (192 MiB as
// RGB) cannot exhaust memory.
inline constexpr int64_t kDefaultMaxPixels = int64_t(1) << 26;

// Cheap check of one file for a dataset's scan: its size, signature, header dimensions (against
// `max_pixels`) and the truncation ImageProbe can see, reading at most the first 64 KiB. Throws
// ImageFileError; returns the probe when nothing is wrong. A file that passes may still fail to
// decode (read_image).
ImageProbe check_image_file(const std::string& path, int64_t max_pixels = kDefaultMaxPixels);

struct DecodedImage {
  cv::Mat image;          // CV_8UC3 in RGB order, or CV_8UC1 for ColorMode::gray
  bool was_gray = false;  // the file holds one channel (converted when RGB was asked for)
};

// Reads and decodes `path`. Colour files become RGB (from OpenCV's BGR), grayscale files become
// three equal channels in RGB mode; alpha is dropped; 16-bit samples are scaled to 8 bits; JPEG
// EXIF orientation is applied. Throws ImageFileError naming the path and the problem.
DecodedImage read_image(const std::string& path, ColorMode mode,
                        int64_t max_pixels = kDefaultMaxPixels);

// The same from bytes already in memory; `path` only names them in errors.
DecodedImage decode_image(std::string_view bytes, const std::string& path, ColorMode mode,
                          int64_t max_pixels = kDefaultMaxPixels);

}  // namespace convkit::data
