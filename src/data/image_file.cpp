#include "convkit/data/image_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "image_codecs.h"

namespace convkit::data {

std::string codec::pixels_over_limit(uint64_t width, uint64_t height, int64_t max_pixels) {
  return detail::concat("image of ", width, " x ", height, " = ", width * height,
                        " pixels is above the limit of ", max_pixels,
                        " pixels (raise it with --max-pixels)");
}

const char* format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg:
      return "JPEG";
    case ImageFormat::png:
      return "PNG";
    case ImageFormat::bmp:
      return "BMP";
    case ImageFormat::webp:
      return "WebP";
    case ImageFormat::tiff:
      return "TIFF";
    case ImageFormat::unknown:
      break;
  }
  return "unknown";
}

ImageFormat format_from_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == ".jpg" || ext == ".jpeg") return ImageFormat::jpeg;
  if (ext == ".png") return ImageFormat::png;
  if (ext == ".bmp") return ImageFormat::bmp;
  if (ext == ".webp") return ImageFormat::webp;
  if (ext == ".tif" || ext == ".tiff") return ImageFormat::tiff;
  return ImageFormat::unknown;
}

const char* problem_name(ImageProblem p) {
  switch (p) {
    case ImageProblem::unreadable:
      return "unreadable";
    case ImageProblem::empty:
      return "empty";
    case ImageProblem::not_an_image:
      return "not_an_image";
    case ImageProblem::truncated:
      return "truncated";
    case ImageProblem::corrupt:
      return "corrupt";
    case ImageProblem::too_large:
      return "too_large";
    case ImageProblem::empty_class:
      return "empty_class";
    case ImageProblem::gray_in_rgb:
      return "gray_in_rgb";
  }
  return "?";
}

ImageFileError::ImageFileError(ImageProblem problem, const std::string& path,
                               const std::string& detail)
    : Error(path + ": " + detail), problem_(problem), path_(path) {}

namespace {
// Readers of the header fields; out-of-range offsets read as 0, which the parsers treat as absent.
struct Bytes {
  std::string_view b;
  bool has(size_t off, size_t n) const { return off + n <= b.size(); }
  uint32_t u8(size_t o) const { return has(o, 1) ? uint8_t(b[o]) : 0; }
  uint32_t be16(size_t o) const { return u8(o) << 8 | u8(o + 1); }
  uint32_t be32(size_t o) const { return be16(o) << 16 | be16(o + 2); }
  uint32_t le16(size_t o) const { return u8(o) | u8(o + 1) << 8; }
  uint32_t le24(size_t o) const { return le16(o) | u8(o + 2) << 16; }
  uint32_t le32(size_t o) const { return le16(o) | le16(o + 2) << 16; }
  bool starts(size_t o, std::string_view s) const {
    return has(o, s.size()) && b.substr(o, s.size()) == s;
  }
};

ImageFormat signature(const Bytes& h) {
  if (h.starts(0, "\x89PNG\r\n\x1a\n")) return ImageFormat::png;
  if (h.starts(0, "\xff\xd8\xff")) return ImageFormat::jpeg;
  if (h.starts(0, "BM") && h.has(0, 26)) return ImageFormat::bmp;
  if (h.starts(0, "RIFF") && h.starts(8, "WEBP")) return ImageFormat::webp;
  if (h.starts(0, std::string_view("II*\0", 4)) || h.starts(0, std::string_view("MM\0*", 4)))
    return ImageFormat::tiff;
  return ImageFormat::unknown;
}

// A PNG or JPEG is judged by decoding it (image_codecs.h): bytes after the end marker are allowed
// (phones append their own data), so the probe calls a file truncated only when it sees the whole
// file and the end marker is nowhere after `from`.
bool lacks_end_marker(const Bytes& h, uint64_t size, std::string_view marker, size_t from) {
  return h.b.size() == size && h.b.find(marker, from) == std::string_view::npos;
}

void probe_png(const Bytes& h, uint64_t size, ImageProbe& p) {
  // IHDR is the first chunk: 8-byte signature, length, "IHDR", width, height (big-endian).
  if (h.starts(12, "IHDR")) {
    p.width = h.be32(16);
    p.height = h.be32(20);
  }
  p.truncated = lacks_end_marker(h, size, "IEND", 8);
}

void probe_jpeg(const Bytes& h, uint64_t size, ImageProbe& p) {
  // Walk the marker segments (ITU T.81 B.1.1) up to the start of scan; a start-of-frame segment
  // (SOF0..SOF15 but DHT C4, JPG C8, DAC CC) holds precision, height, width.
  size_t o = 2;
  size_t scan_start = 0;
  while (h.has(o, 4)) {
    if (h.u8(o) != 0xff) break;
    uint32_t m = h.u8(o + 1);
    if (m == 0xff) {  // fill byte
      ++o;
      continue;
    }
    if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      o += 2;
      continue;
    }
    uint32_t len = h.be16(o + 2);
    if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc && h.has(o + 5, 4)) {
      p.height = h.be16(o + 5);
      p.width = h.be16(o + 7);
    }
    if (m == 0xda) {
      scan_start = o + 2 + len;
      break;
    }
    if (len < 2) break;
    o += 2 + len;
  }
  // Entropy-coded data stuffs every 0xFF with 0x00, so FF D9 after the scan header is the real end.
  p.truncated = lacks_end_marker(h, size, "\xff\xd9", scan_start);
}

void probe_bmp(const Bytes& h, uint64_t size, ImageProbe& p) {
  const uint32_t declared = h.le32(2), pixels_at = h.le32(10), dib = h.le32(14);
  int64_t w, hgt, bpp;
  if (dib == 12) {  // BITMAPCOREHEADER
    w = h.le16(18);
    hgt = h.le16(20);
    bpp = h.le16(24);
  } else {
    w = int32_t(h.le32(18));
    hgt = int32_t(h.le32(22));
    bpp = h.le16(28);
  }
  hgt = std::abs(hgt);                // negative height: rows stored top-down
  p.width = std::max<int64_t>(w, 0);  // a negative width is corrupt: reported as a size of 0
  p.height = hgt;
  const uint32_t compression = dib == 12 ? 0 : h.le32(30);
  uint64_t needed = declared;
  // Uncompressed rows are padded to 4 bytes; compressed sizes are known only to the decoder.
  // w < 2^31 and bpp < 2^16, so a row's bytes fit; rows times height may not (saturated).
  uint64_t pixel_bytes = 0;
  if ((compression == 0 || compression == 3) && w > 0 && bpp > 0 &&
      __builtin_mul_overflow(uint64_t((w * bpp + 31) / 32 * 4), uint64_t(hgt), &pixel_bytes))
    pixel_bytes = UINT64_MAX - pixels_at;
  needed = std::max<uint64_t>(needed, pixels_at + pixel_bytes);
  p.truncated = needed > size;
}

void probe_webp(const Bytes& h, uint64_t size, ImageProbe& p) {
  // RIFF container: "RIFF", payload size, "WEBP", then the first chunk at 12.
  if (h.starts(12, "VP8 ") && h.has(30, 0)) {  // lossy: frame tag (3 bytes), 9D 01 2A, sizes
    p.width = h.le16(26) & 0x3fff;
    p.height = h.le16(28) & 0x3fff;
  } else if (h.starts(12, "VP8L") && h.has(25, 0)) {  // lossless: 0x2F, 14-bit width-1, height-1
    uint32_t bits = h.le32(21);
    p.width = (bits & 0x3fff) + 1;
    p.height = ((bits >> 14) & 0x3fff) + 1;
  } else if (h.starts(12, "VP8X") && h.has(30, 0)) {  // extended: 24-bit canvas width-1, height-1
    p.width = h.le24(24) + 1;
    p.height = h.le24(27) + 1;
  }
  p.truncated = uint64_t(h.le32(4)) + 8 > size;
}

void probe_tiff(const Bytes& h, uint64_t size, ImageProbe& p) {
  const bool le = h.b[0] == 'I';
  auto u16 = [&](size_t o) { return le ? h.le16(o) : h.be16(o); };
  auto u32 = [&](size_t o) { return le ? h.le32(o) : h.be32(o); };
  const uint64_t ifd = u32(4);
  if (ifd + 2 > size) {
    p.truncated = true;
    return;
  }
  const uint32_t n = u16(ifd);
  for (uint32_t k = 0; k < n && h.has(ifd + 2 + size_t(12) * (k + 1), 0); ++k) {
    const size_t e = ifd + 2 + size_t(12) * k;
    const uint32_t tag = u16(e), type = u16(e + 2);
    // BYTE, SHORT or LONG (and their signed kinds) fit in the entry; any other type is refused
    // (size 0): a LONG8 there is an offset in a classic TIFF, so reading it here would not be the
    // size libtiff decodes (tiff_codec.cpp checks that one again).
    const int64_t value = type == 1 || type == 6   ? h.u8(e + 8)
                          : type == 3 || type == 8 ? u16(e + 8)
                          : type == 4 || type == 9 ? u32(e + 8)
                                                   : 0;
    if (tag == 256) p.width = value;
    if (tag == 257) p.height = value;
  }
}

// What a file that is no supported image seems to be, from its first bytes. Never quotes them:
// a list may name any file (a key, a password store), and warnings end up in shared logs.
std::string content_kind(const Bytes& h) {
  static const std::pair<std::string_view, const char*> kSignatures[] = {
      {"PK\x03\x04", "a ZIP archive"},
      {"\x1f\x8b", "a gzip archive"},
      {"%PDF", "a PDF document"},
      {"GIF8", "a GIF image (not supported)"},
      {"\x7f"
       "ELF",
       "an executable"},
      {"7z\xbc\xaf", "a 7-Zip archive"},
      {"RIFF", "a RIFF file that is no WebP"},
  };
  for (const auto& [magic, kind] : kSignatures)
    if (h.starts(0, magic)) return kind;
  if (h.starts(4, "ftyp")) return "an ISO media file (HEIC, AVIF or video; not supported)";
  const std::string_view start = h.b.substr(0, 512);
  const bool text = std::all_of(start.begin(), start.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isprint(u) || std::isspace(u);  // UTF-8 multi-byte text passes
  });
  return text ? "looks like text" : "unknown binary data";
}

void check_probe(const ImageProbe& p, std::string_view head, uint64_t size, const std::string& path,
                 int64_t max_pixels) {
  if (size == 0) throw ImageFileError(ImageProblem::empty, path, "empty file (0 bytes)");
  if (p.format == ImageFormat::unknown) {
    ImageFormat by_name = format_from_extension(path);
    throw ImageFileError(
        ImageProblem::not_an_image, path,
        detail::concat("not an image: ",
                       by_name == ImageFormat::unknown
                           ? std::string("no JPEG, PNG, BMP, WebP or TIFF")
                           : std::string("named as ") + format_name(by_name) + ", but no " +
                                 format_name(by_name),
                       " signature (the content: ", content_kind(Bytes{head}), ")"));
  }
  // Header sizes are up to 2^32 each: the product fits in 64 bits unsigned, not signed.
  if (p.width > 0 && p.height > 0 && uint64_t(p.width) * uint64_t(p.height) > uint64_t(max_pixels))
    throw ImageFileError(ImageProblem::too_large, path,
                         codec::pixels_over_limit(p.width, p.height, max_pixels));
  if (p.truncated)
    throw ImageFileError(ImageProblem::truncated, path,
                         detail::concat("truncated ", format_name(p.format), " (", size,
                                        " bytes; the file ends before the image does)"));
  if (p.width == 0 || p.height == 0)
    throw ImageFileError(ImageProblem::corrupt, path,
                         detail::concat(format_name(p.format), " header gives a size of ", p.width,
                                        " x ", p.height));
}

constexpr size_t kHeadBytes = 64 * 1024;

std::ifstream open_or_throw(const std::string& path, uint64_t& size) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw ImageFileError(ImageProblem::unreadable, path, "no such file");
  if (!std::filesystem::is_regular_file(status))
    throw ImageFileError(ImageProblem::unreadable, path, "not a regular file");
  size = std::filesystem::file_size(path, ec);
  std::ifstream f(path, std::ios::binary);
  if (ec || !f)
    throw ImageFileError(ImageProblem::unreadable, path, "cannot be opened for reading");
  return f;
}

std::string read_range(std::ifstream& f, const std::string& path, uint64_t offset, uint64_t n) {
  std::string buf(n, '\0');
  f.seekg(std::streamoff(offset));
  f.read(buf.data(), std::streamsize(n));
  if (uint64_t(f.gcount()) != n) throw ImageFileError(ImageProblem::unreadable, path, "read error");
  return buf;
}
}  // namespace

ImageProbe probe_image(std::string_view head, uint64_t file_size) {
  ImageProbe p;
  Bytes h{head};
  p.format = signature(h);
  switch (p.format) {
    case ImageFormat::png:
      probe_png(h, file_size, p);
      break;
    case ImageFormat::jpeg:
      probe_jpeg(h, file_size, p);
      break;
    case ImageFormat::bmp:
      probe_bmp(h, file_size, p);
      break;
    case ImageFormat::webp:
      probe_webp(h, file_size, p);
      break;
    case ImageFormat::tiff:
      probe_tiff(h, file_size, p);
      break;
    case ImageFormat::unknown:
      break;
  }
  return p;
}

ImageProbe check_image_file(const std::string& path, int64_t max_pixels) {
  uint64_t size = 0;
  std::ifstream f = open_or_throw(path, size);
  const std::string head = read_range(f, path, 0, std::min<uint64_t>(size, kHeadBytes));
  ImageProbe p = probe_image(head, size);
  check_probe(p, head, size, path, max_pixels);
  return p;
}

DecodedImage read_image(const std::string& path, ColorMode mode, int64_t max_pixels) {
  uint64_t size = 0;
  std::ifstream f = open_or_throw(path, size);
  std::string bytes = read_range(f, path, 0, size);
  return decode_image(bytes, path, mode, max_pixels);
}

DecodedImage decode_image(std::string_view bytes, const std::string& path, ColorMode mode,
                          int64_t max_pixels) {
  ImageProbe p = probe_image(bytes, bytes.size());
  check_probe(p, bytes, bytes.size(), path, max_pixels);

  // JPEG, PNG, WebP and TIFF through their own libraries (their messages carry the path and never
  // reach stderr); BMP through OpenCV, whose BGR(A) becomes RGB here. OpenCV sniffs the bytes
  // itself, and its BMP signature is exactly the probe's (checked before any decoder that looks
  // further into a file), and it reads the BMP size from the same fields as probe_bmp.
  cv::Mat raw;
  if (p.format == ImageFormat::jpeg) {
    raw = codec::decode_jpeg(bytes, path, max_pixels);
  } else if (p.format == ImageFormat::png) {
    raw = codec::decode_png(bytes, path, max_pixels);
  } else if (p.format == ImageFormat::webp) {
    raw = codec::decode_webp(bytes, path, max_pixels);
  } else if (p.format == ImageFormat::tiff) {
    raw = codec::decode_tiff(bytes, path, max_pixels);
  } else {
    try {
      // ANYCOLOR keeps one-channel files one-channel (to tell grayscale from colour).
      cv::Mat buf(1, int(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
      raw = cv::imdecode(buf, cv::IMREAD_ANYCOLOR);
    } catch (const cv::Exception& e) {
      throw ImageFileError(ImageProblem::corrupt, path,
                           std::string("corrupt ") + format_name(p.format) + ": " + e.what());
    }
    if (raw.empty())
      throw ImageFileError(
          ImageProblem::corrupt, path,
          std::string("corrupt ") + format_name(p.format) + ": OpenCV could not decode it");
    if (raw.channels() > 1)
      cv::cvtColor(raw, raw, raw.channels() == 4 ? cv::COLOR_BGRA2RGB : cv::COLOR_BGR2RGB);
  }
  if (int64_t(raw.cols) * raw.rows > max_pixels)
    throw ImageFileError(ImageProblem::too_large, path,
                         codec::pixels_over_limit(raw.cols, raw.rows, max_pixels));
  // EXIF orientation may swap the sides, so compare the pixel count only.
  if (p.width > 0 && p.height > 0 && int64_t(raw.cols) * raw.rows != p.width * p.height)
    throw ImageFileError(
        ImageProblem::corrupt, path,
        detail::concat("corrupt ", format_name(p.format), ": header says ", p.width, " x ",
                       p.height, ", decoded ", raw.cols, " x ", raw.rows));

  DecodedImage out;  // raw is CV_8UC1 or CV_8UC3 in RGB order here
  out.was_gray = raw.channels() == 1;
  if (mode == ColorMode::gray)
    out.image = out.was_gray ? raw : [&] {
      cv::Mat g;
      cv::cvtColor(raw, g, cv::COLOR_RGB2GRAY);
      return g;
    }();
  else if (out.was_gray)
    cv::cvtColor(raw, out.image, cv::COLOR_GRAY2RGB);
  else
    out.image = raw;
  return out;
}

}  // namespace convkit::data
