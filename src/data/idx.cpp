#include "convkit/data/idx.h"

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <vector>

namespace convkit::data {

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error("idx: " + path + ": " + what);
}

// Whole file contents, gunzipped when the file starts with the gzip magic (1f 8b). gzopen reads
// plain files transparently too.
std::string read_all(const std::string& path) {
  if (!std::filesystem::exists(path)) fail(path, "file not found");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(path, "cannot open");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      fail(path, "corrupt gzip stream (" + msg + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  // gzread returns 0 at a truncated gzip member's end without an error; gzclose reports it.
  int rc = gzclose(f);
  if (rc != Z_OK) fail(path, "truncated or corrupt gzip stream");
  return out;
}

uint32_t be32(const char* c) {
  const auto* p = reinterpret_cast<const unsigned char*>(c);
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string find_file(const std::string& dir, const std::string& stem) {
  for (const char* ext : {"", ".gz"}) {
    std::string p = dir + "/" + stem + ext;
    if (std::filesystem::exists(p)) return p;
  }
  fail(dir + "/" + stem + "[.gz]",
       "file not found (install Debian's dataset-fashion-mnist, or pass the folder holding the IDX "
       "files)");
}
}  // namespace

Tensor read_idx(const std::string& path) { return parse_idx(read_all(path), path); }

Tensor parse_idx(std::string_view bytes, const std::string& path) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
    fail(path, "not an IDX file (bad magic number)");
  if (bytes[2] != 0x08)
    fail(path, "unsupported IDX type code " + std::to_string(uint8_t(bytes[2])) +
                   " (only unsigned byte, 8)");
  const int ndim = uint8_t(bytes[3]);
  if (ndim < 1 || ndim > Shape::kMaxDims)
    fail(path, "unsupported number of dimensions " + std::to_string(ndim));
  if (bytes.size() < size_t(4 + 4 * ndim)) fail(path, "truncated header");
  std::vector<int64_t> dims;
  for (int d = 0; d < ndim; ++d) dims.push_back(be32(&bytes[size_t(4 + 4 * d)]));
  Shape shape(dims);
  int64_t numel = 0;
  try {
    numel = shape.checked_numel();
  } catch (const Error& e) {
    fail(path, std::string(e.what()) + " (a corrupt header)");
  }
  const size_t header = 4 + 4 * ndim;
  if (uint64_t(bytes.size() - header) != uint64_t(numel))
    fail(path, "data holds " + std::to_string(bytes.size() - header) + " bytes but dimensions " +
                   shape.to_string() + " need " + std::to_string(numel) + " (truncated?)");
  Tensor t = Tensor::empty(shape, DType::u8);
  if (numel > 0) std::memcpy(t.raw_data(), bytes.data() + header, size_t(numel));
  return t;
}

LabelledImages load_mnist_split(const std::string& dir, bool train, int64_t num_classes) {
  const std::string prefix = train ? "train" : "t10k";
  std::string img_path = find_file(dir, prefix + "-images-idx3-ubyte");
  std::string lbl_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  Tensor img = read_idx(img_path);
  Tensor lbl = read_idx(lbl_path);
  if (img.ndim() != 3)
    fail(img_path, "expected 3 dimensions [N, H, W], found " + img.shape().to_string());
  if (lbl.ndim() != 1) fail(lbl_path, "expected 1 dimension [N], found " + lbl.shape().to_string());
  if (img.size(0) != lbl.size(0))
    fail(img_path, std::to_string(img.size(0)) + " images but " + lbl_path + " has " +
                       std::to_string(lbl.size(0)) + " labels");
  if (img.size(0) == 0) fail(img_path, "holds no images (an empty set)");
  const uint8_t* label = lbl.data<uint8_t>();
  for (int64_t i = 0; i < lbl.numel(); ++i)
    if (label[i] >= num_classes)
      fail(lbl_path, "label " + std::to_string(label[i]) + " of example " + std::to_string(i) +
                         " is out of range for " + std::to_string(num_classes) +
                         " classes (labels are 0.." + std::to_string(num_classes - 1) + ")");
  LabelledImages out;
  out.images = Tensor::empty({img.size(0), 1, img.size(1), img.size(2)});
  const uint8_t* src = img.data<uint8_t>();
  float* dst = out.images.data<float>();
  for (int64_t i = 0; i < img.numel(); ++i) dst[i] = float(src[i]) / 255.f;
  out.labels = lbl.to(DType::i64);
  return out;
}

}  // namespace convkit::data
