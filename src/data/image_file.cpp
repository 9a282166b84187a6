#include "convkit/data/image_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace convkit::data {

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

// Position of the first byte after the last occurrence of `needle` in the tail, as a file offset;
// 0 when absent.
uint64_t find_in_tail(std::string_view tail, uint64_t file_size, std::string_view needle,
                      uint64_t not_before) {
  const uint64_t tail_start = file_size - tail.size();
  size_t at = tail.rfind(needle);
  if (at == std::string_view::npos || tail_start + at < not_before) return 0;
  return tail_start + at + needle.size();
}

void probe_png(const Bytes& h, std::string_view tail, uint64_t size, ImageProbe& p) {
  // IHDR is the first chunk: 8-byte signature, length, "IHDR", width, height (big-endian).
  if (h.starts(12, "IHDR")) {
    p.width = h.be32(16);
    p.height = h.be32(20);
  }
  p.truncated = find_in_tail(tail, size, "IEND", 8) == 0;
}

void probe_jpeg(const Bytes& h, std::string_view tail, uint64_t size, ImageProbe& p) {
  // Walk the marker segments (ITU T.81 B.1.1) up to the start of scan; a start-of-frame segment
  // (SOF0..SOF15 but DHT C4, JPG C8, DAC CC) holds precision, height, width.
  size_t o = 2;
  uint64_t scan_start = 0;
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
  p.truncated = find_in_tail(tail, size, "\xff\xd9", scan_start) == 0;
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
  hgt = std::abs(hgt);  // negative height: rows stored top-down
  p.width = w;
  p.height = hgt;
  const uint32_t compression = dib == 12 ? 0 : h.le32(30);
  uint64_t needed = declared;
  // Uncompressed rows are padded to 4 bytes; compressed sizes are known only to the decoder.
  if ((compression == 0 || compression == 3) && w > 0 && bpp > 0)
    needed =
        std::max<uint64_t>(needed, pixels_at + uint64_t((w * bpp + 31) / 32 * 4) * uint64_t(hgt));
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
  const uint32_t ifd = u32(4);
  if (ifd + 2 > size) {
    p.truncated = true;
    return;
  }
  const uint32_t n = u16(ifd);
  for (uint32_t k = 0; k < n && h.has(ifd + 2 + 12 * (k + 1), 0); ++k) {
    const size_t e = ifd + 2 + 12 * k;
    const uint32_t tag = u16(e), type = u16(e + 2);
    const int64_t value = type == 3 ? u16(e + 8) : u32(e + 8);  // SHORT or LONG
    if (tag == 256) p.width = value;
    if (tag == 257) p.height = value;
  }
}

std::string first_bytes(std::string_view b) {
  std::string printable;
  for (char c : b.substr(0, 8)) printable += std::isprint(static_cast<unsigned char>(c)) ? c : '.';
  return "'" + printable + "'";
}

std::string pixels_detail(int64_t w, int64_t h, int64_t max_pixels) {
  return detail::concat("image of ", w, " x ", h, " = ", w * h, " pixels is above the limit of ",
                        max_pixels, " pixels (raise it with --max-pixels)");
}

void check_probe(const ImageProbe& p, std::string_view head, uint64_t size, const std::string& path,
                 int64_t max_pixels) {
  if (size == 0) throw ImageFileError(ImageProblem::empty, path, "empty file (0 bytes)");
  if (p.format == ImageFormat::unknown) {
    ImageFormat by_name = format_from_extension(path);
    throw ImageFileError(ImageProblem::not_an_image, path,
                         detail::concat("not an image: ",
                                        by_name == ImageFormat::unknown
                                            ? std::string("no JPEG, PNG, BMP, WebP or TIFF")
                                            : std::string("named as ") + format_name(by_name) +
                                                  ", but no " + format_name(by_name),
                                        " signature (first bytes ", first_bytes(head), ")"));
  }
  if (p.truncated)
    throw ImageFileError(ImageProblem::truncated, path,
                         detail::concat("truncated ", format_name(p.format), " (", size,
                                        " bytes; the file ends before the image does)"));
  if (p.width >= 0 && p.height >= 0 && p.width * p.height > max_pixels)
    throw ImageFileError(ImageProblem::too_large, path,
                         pixels_detail(p.width, p.height, max_pixels));
  if (p.width == 0 || p.height == 0)
    throw ImageFileError(ImageProblem::corrupt, path,
                         detail::concat(format_name(p.format), " header gives a size of ", p.width,
                                        " x ", p.height));
}

constexpr size_t kHeadBytes = 64 * 1024, kTailBytes = 4 * 1024;

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

ImageProbe probe_image(std::string_view head, std::string_view tail, uint64_t file_size) {
  ImageProbe p;
  Bytes h{head};
  p.format = signature(h);
  switch (p.format) {
    case ImageFormat::png:
      probe_png(h, tail, file_size, p);
      break;
    case ImageFormat::jpeg:
      probe_jpeg(h, tail, file_size, p);
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
  std::string head, tail;
  if (size <= kHeadBytes + kTailBytes) {
    head = read_range(f, path, 0, size);
    tail = head;
  } else {
    head = read_range(f, path, 0, kHeadBytes);
    tail = read_range(f, path, size - kTailBytes, kTailBytes);
  }
  ImageProbe p = probe_image(head, tail, size);
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
  std::string_view tail = bytes.substr(bytes.size() - std::min(bytes.size(), kTailBytes));
  ImageProbe p = probe_image(bytes, tail, bytes.size());
  check_probe(p, bytes, bytes.size(), path, max_pixels);

  cv::Mat raw;
  try {
    // ANYCOLOR keeps one-channel files one-channel (to tell grayscale from colour) and still
    // applies EXIF orientation, which IMREAD_UNCHANGED would not; without ANYDEPTH, samples become
    // 8-bit.
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
  if (int64_t(raw.cols) * raw.rows > max_pixels)
    throw ImageFileError(ImageProblem::too_large, path,
                         pixels_detail(raw.cols, raw.rows, max_pixels));
  // EXIF orientation may swap the sides, so compare the pixel count only.
  if (p.width > 0 && p.height > 0 && int64_t(raw.cols) * raw.rows != p.width * p.height)
    throw ImageFileError(
        ImageProblem::corrupt, path,
        detail::concat("corrupt ", format_name(p.format), ": header says ", p.width, " x ",
                       p.height, ", decoded ", raw.cols, " x ", raw.rows));
  if (raw.depth() != CV_8U) raw.convertTo(raw, CV_8U, raw.depth() == CV_16U ? 1.0 / 257 : 1.0);

  DecodedImage out;
  out.was_gray = raw.channels() == 1;
  const int channels = raw.channels();
  if (mode == ColorMode::gray) {
    if (channels == 1)
      out.image = raw;
    else
      cv::cvtColor(raw, out.image, channels == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  } else {
    if (channels == 1)
      cv::cvtColor(raw, out.image, cv::COLOR_GRAY2RGB);
    else
      cv::cvtColor(raw, out.image, channels == 4 ? cv::COLOR_BGRA2RGB : cv::COLOR_BGR2RGB);
  }
  return out;
}

}  // namespace convkit::data
