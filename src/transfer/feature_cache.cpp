#include "convkit/transfer/feature_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/autograd.h"
#include "convkit/ops.h"

namespace convkit::transfer {

namespace {
constexpr char kMagic[8] = {'C', 'K', 'F', 'E', 'A', 'T', '0', '1'};
constexpr uint64_t kAlign = 64;  // features start on a cache line (and oneDNN's preference)

// FNV-1a 64 (Fowler, Noll, Vo): simple, stable across runs and platforms.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
};

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw Error("feature cache " + path + ": " + what +
              "; it is not a convkit feature cache (or it was cut short): delete it and the "
              "features are extracted again");
}

// A read-only file mapping, unmapped when the last tensor over it goes away.
struct Mapping {
  void* addr = MAP_FAILED;
  size_t bytes = 0;
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, bytes);
  }
};
}  // namespace

std::string module_checksum(const nn::Module& module) {
  Fnv f;
  for (const auto& [name, t] : module.state_dict()) {
    f.add(name);
    f.add(t.shape().to_string());
    f.add(dtype_name(t.dtype()));
    f.add(t.raw_data(), t.nbytes());
  }
  return f.hex();
}

std::string dataset_fingerprint(const data::Dataset& ds, const std::string& source) {
  Fnv f;
  const std::vector<int64_t> labels = ds.labels();
  f.add(labels.data(), labels.size() * sizeof(int64_t));
  return source + "|n=" + std::to_string(ds.size()) + "|example=" + ds.example_shape().to_string() +
         "|classes=" + std::to_string(ds.num_classes()) + "|labels=" + f.hex();
}

Tensor extract_features(Truncated& base, const data::Dataset& ds, int64_t batch_size) {
  CONVKIT_CHECK(batch_size > 0, "extract_features: batch_size must be positive, got ", batch_size);
  const bool was_training = base.is_training();
  base.eval();
  NoGradGuard no_grad;
  TensorList parts;
  for (int64_t start = 0; start < ds.size(); start += batch_size) {
    std::vector<int64_t> idx;
    for (int64_t i = start; i < std::min(ds.size(), start + batch_size); ++i) idx.push_back(i);
    parts.push_back(base(ds.get_batch(idx).inputs));
  }
  base.train(was_training);
  CONVKIT_CHECK(!parts.empty(), "extract_features: the dataset is empty");
  return parts.size() == 1 ? parts[0] : concat(parts, /*dim=*/0);
}

void write_feature_cache(const std::string& path, const FeatureKey& key, const Tensor& features,
                         const Tensor& labels) {
  CONVKIT_CHECK(features.dtype() == DType::f32 && labels.dtype() == DType::i64 &&
                    labels.ndim() == 1 && features.ndim() >= 1 &&
                    features.size(0) == labels.size(0),
                "write_feature_cache ", path,
                ": expects features [N, ...] float32 and labels [N] "
                "int64, got ",
                features.shape().to_string(), " ", dtype_name(features.dtype()), " and ",
                labels.shape().to_string(), " ", dtype_name(labels.dtype()));
  nlohmann::json h;
  h["version"] = 1;
  h["dtype"] = "float32";
  h["labels"] = "int64";
  h["shape"] = std::vector<int64_t>(features.shape().begin(), features.shape().end());
  h["layer"] = key.layer;
  h["base_checksum"] = key.base_checksum;
  h["data"] = key.data;
  std::string header = h.dump();
  const uint64_t unpadded = 16 + header.size();
  header.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  const uint64_t header_len = header.size();

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    CONVKIT_CHECK(out, "feature cache ", path, ": cannot write ", tmp,
                  " (does the folder exist and is it writable?)");
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&header_len), 8);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char*>(features.data<float>()),
              std::streamsize(features.nbytes()));
    out.write(reinterpret_cast<const char*>(labels.data<int64_t>()),
              std::streamsize(labels.nbytes()));
    out.flush();
    CONVKIT_CHECK(out, "feature cache ", path, ": writing ", tmp, " failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  CONVKIT_CHECK(!ec, "feature cache ", path, ": cannot rename ", tmp,
                " into place: ", ec.message());
}

FeatureCacheFile read_feature_cache(const std::string& path, int64_t num_classes,
                                    std::vector<std::string> class_names) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  CONVKIT_CHECK(fd >= 0, "feature cache ", path, ": cannot open it (", std::strerror(errno), ")");
  struct stat st {};
  ::fstat(fd, &st);
  auto map = std::make_shared<Mapping>();
  map->bytes = size_t(st.st_size);
  if (map->bytes > 0)
    map->addr = ::mmap(nullptr, map->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map->bytes < 16) refuse(path, "only " + std::to_string(map->bytes) + " bytes");
  CONVKIT_CHECK(map->addr != MAP_FAILED, "feature cache ", path, ": cannot map it (",
                std::strerror(errno), ")");
  auto* base = static_cast<unsigned char*>(map->addr);
  if (std::memcmp(base, kMagic, 8) != 0) refuse(path, "bad magic (expected CKFEAT01)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, base + 8, 8);
  if (header_len > map->bytes - 16)
    refuse(path, "header length " + std::to_string(header_len) + " exceeds the file's " +
                     std::to_string(map->bytes) + " bytes");
  nlohmann::json h;
  std::vector<int64_t> dims;
  FeatureCacheFile file;
  try {
    h = nlohmann::json::parse(base + 16, base + 16 + header_len);
    CONVKIT_CHECK(h.at("version").get<int>() == 1, "version ", h.at("version").dump(),
                  " (this convkit reads version 1)");
    CONVKIT_CHECK(h.at("dtype") == "float32" && h.at("labels") == "int64", "dtypes ",
                  h.at("dtype").dump(), "/", h.at("labels").dump(), " (expected float32/int64)");
    dims = h.at("shape").get<std::vector<int64_t>>();
    file.key = {h.at("layer").get<std::string>(), h.at("base_checksum").get<std::string>(),
                h.at("data").get<std::string>()};
  } catch (const std::exception& e) {
    refuse(path, std::string("unreadable header: ") + e.what());
  }
  if (dims.empty()) refuse(path, "the header's shape is empty");
  const Shape shape(dims);
  const uint64_t n = uint64_t(dims[0]), feature_bytes = uint64_t(shape.checked_numel()) * 4;
  const uint64_t data_at = 16 + header_len, expected = data_at + feature_bytes + n * 8;
  if (data_at % kAlign != 0) refuse(path, "features do not start at a 64-byte boundary");
  if (expected != map->bytes)
    refuse(path, "the header's shape " + shape.to_string() + " needs " + std::to_string(expected) +
                     " bytes but the file has " + std::to_string(map->bytes));
  auto keep = [map](void*) {};  // each tensor holds the mapping alive
  Tensor features = Tensor::from_blob(base + data_at, shape, DType::f32, keep);
  Tensor labels = Tensor::from_blob(base + data_at + feature_bytes, {int64_t(n)}, DType::i64, keep);
  for (int64_t y : std::vector<int64_t>(labels.data<int64_t>(), labels.data<int64_t>() + n))
    CONVKIT_CHECK(y >= 0 && (num_classes < 0 || y < num_classes), "feature cache ", path,
                  ": label ", y, " is outside 0..", num_classes - 1,
                  "; delete the file and the features are extracted again");
  file.dataset =
      std::make_shared<data::TensorDataset>(features, labels, num_classes, std::move(class_names));
  return file;
}

CachedFeatures cached_features(const std::string& path, Truncated& base, const data::DatasetPtr& ds,
                               const std::string& data_source, int64_t batch_size) {
  const FeatureKey key{base.layer() + (base.pooled() ? " (pooled)" : ""), module_checksum(base),
                       dataset_fingerprint(*ds, data_source)};
  CachedFeatures out;
  if (std::filesystem::exists(path)) {
    FeatureCacheFile file = read_feature_cache(path, ds->num_classes(), ds->class_names());
    if (file.key == key) {
      out.dataset = file.dataset;
      return out;
    }
    out.reason = file.key.layer != key.layer
                     ? "stale: cut at " + file.key.layer + ", not " + key.layer
                 : file.key.base_checksum != key.base_checksum
                     ? "stale: the base's weights changed (checksum " + file.key.base_checksum +
                           ", now " + key.base_checksum + ")"
                     : "stale: the data changed";
  } else {
    out.reason = "no cache";
  }
  const std::vector<int64_t> labels = ds->labels();
  write_feature_cache(path, key, extract_features(base, *ds, batch_size),
                      Tensor::from_vector(labels, {int64_t(labels.size())}));
  out.dataset = read_feature_cache(path, ds->num_classes(), ds->class_names()).dataset;
  out.built = true;
  return out;
}

}  // namespace convkit::transfer
