#include "convkit/embed/gallery.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "convkit/io/safetensors.h"

namespace convkit::embed {

namespace {
constexpr const char* kFormat = "convkit-gallery";

std::vector<double> unit(std::vector<double> v) {
  double s = 0;
  for (double x : v) s += x * x;
  s = std::sqrt(s) + 1e-12;
  for (double& x : v) x /= s;
  return v;
}
}  // namespace

void Gallery::enrol(const std::string& name, const Tensor& embeddings) {
  CONVKIT_CHECK(!name.empty(), "gallery: an identity needs a non-empty name");
  Tensor e = embeddings.detach().to(DType::f64);
  if (e.ndim() == 1) e = e.reshape({1, e.size(0)});
  CONVKIT_CHECK(e.ndim() == 2 && e.size(0) >= 1, "gallery: enrol '", name,
                "' expects embeddings [K, d], got ", embeddings.shape().to_string());
  if (dim_ == 0) dim_ = e.size(1);
  CONVKIT_CHECK(e.size(1) == dim_, "gallery: enrol '", name, "' with embeddings of size ",
                e.size(1), " but the gallery holds size ", dim_,
                " (were they made by another model?)");
  size_t k = 0;
  while (k < names_.size() && names_[k] != name) ++k;
  if (k == names_.size()) {
    names_.push_back(name);
    sums_.emplace_back(size_t(dim_), 0.0);
    counts_.push_back(0);
  }
  const double* x = e.data<double>();
  for (int64_t r = 0; r < e.size(0); ++r) {
    const std::vector<double> u = unit(std::vector<double>(x + r * dim_, x + (r + 1) * dim_));
    for (int64_t c = 0; c < dim_; ++c) sums_[k][size_t(c)] += u[size_t(c)];
    ++counts_[k];
  }
}

Identification Gallery::identify(const Tensor& embedding) const {
  CONVKIT_CHECK(!names_.empty(), "gallery: no identity enrolled");
  Tensor e = embedding.detach().to(DType::f64);
  CONVKIT_CHECK(e.numel() == dim_ && (e.ndim() == 1 || (e.ndim() == 2 && e.size(0) == 1)),
                "gallery: query embedding ", embedding.shape().to_string(),
                " for a gallery of size ", dim_, " (expected [", dim_, "])");
  const std::vector<double> q =
      unit(std::vector<double>(e.data<double>(), e.data<double>() + dim_));
  Identification r;
  double best = 1e300;
  for (size_t k = 0; k < names_.size(); ++k) {
    const std::vector<double> c = unit(sums_[k]);
    double s = 0;
    for (int64_t i = 0; i < dim_; ++i)
      s += (q[size_t(i)] - c[size_t(i)]) * (q[size_t(i)] - c[size_t(i)]);
    if (s < best) best = s, r.nearest = names_[k];
  }
  r.distance = std::sqrt(best);
  r.known = r.distance <= threshold_;
  r.name = r.known ? r.nearest : "unknown";
  return r;
}

void Gallery::save(const std::string& path) const {
  const int64_t m = int64_t(names_.size());
  CONVKIT_CHECK(m > 0, "gallery: nothing to save to ", path, " (no identity enrolled)");
  std::vector<float> cent;
  for (const auto& s : sums_)
    for (double v : unit(s)) cent.push_back(float(v));
  nlohmann::json names = names_;
  char thr[64];
  std::snprintf(thr, sizeof thr, "%.17g", threshold_);
  io::save_safetensors(path,
                       {{"centroids", Tensor::from_vector(cent, {m, dim_})},
                        {"counts", Tensor::from_vector(counts_, {m})}},
                       {{"format", kFormat},
                        {"version", "1"},
                        {"names", names.dump()},
                        {"threshold", thr},
                        {"model", model_}});
}

Gallery Gallery::load(const std::string& path) {
  const io::SafetensorsFile f = io::load_safetensors(path);
  auto meta = [&](const std::string& key) {
    auto it = f.metadata.find(key);
    CONVKIT_CHECK(it != f.metadata.end(), "gallery ", path, ": metadata '", key,
                  "' is missing (not a file written by `convkit enrol`?)");
    return it->second;
  };
  CONVKIT_CHECK(meta("format") == kFormat, "gallery ", path, ": format is '", meta("format"),
                "', expected '", kFormat, "'");
  CONVKIT_CHECK(meta("version") == "1", "gallery ", path, ": version ", meta("version"),
                " is not supported (this convkit reads version 1)");
  const auto names = nlohmann::json::parse(meta("names"), nullptr, /*allow_exceptions=*/false);
  CONVKIT_CHECK(names.is_array() && !names.empty(), "gallery ", path,
                ": 'names' must be a non-empty JSON array of strings");
  std::set<std::string> seen;
  Gallery g;
  for (const auto& n : names) {
    CONVKIT_CHECK(n.is_string() && !n.get<std::string>().empty(), "gallery ", path,
                  ": every name must be a non-empty string, found ", n.dump());
    CONVKIT_CHECK(seen.insert(n.get<std::string>()).second, "gallery ", path, ": name '",
                  n.get<std::string>(), "' appears twice");
    g.names_.push_back(n.get<std::string>());
  }
  const std::string thr = meta("threshold");
  char* end = nullptr;
  g.threshold_ = std::strtod(thr.c_str(), &end);
  CONVKIT_CHECK(!thr.empty() && *end == 0 && std::isfinite(g.threshold_) && g.threshold_ >= 0,
                "gallery ", path, ": threshold '", thr, "' is not a non-negative number");
  g.model_ = meta("model");
  auto tensor = [&](const std::string& key) {
    auto it = f.tensors.find(key);
    CONVKIT_CHECK(it != f.tensors.end(), "gallery ", path, ": tensor '", key, "' is missing");
    return it->second;
  };
  const Tensor c = tensor("centroids"), counts = tensor("counts");
  const int64_t m = int64_t(g.names_.size());
  CONVKIT_CHECK(c.dtype() == DType::f32 && c.ndim() == 2 && c.size(0) == m && c.size(1) > 0,
                "gallery ", path, ": 'centroids' must be float32 [", m, ", d] for ", m,
                " names, found ", dtype_name(c.dtype()), " ", c.shape().to_string());
  CONVKIT_CHECK(counts.dtype() == DType::i64 && counts.shape() == Shape{m}, "gallery ", path,
                ": 'counts' must be int64 [", m, "], found ", dtype_name(counts.dtype()), " ",
                counts.shape().to_string());
  g.dim_ = c.size(1);
  for (int64_t k = 0; k < m; ++k) {
    const int64_t n = counts.data<int64_t>()[k];
    CONVKIT_CHECK(n >= 1, "gallery ", path, ": identity '", g.names_[size_t(k)], "' has ", n,
                  " images");
    std::vector<double> row(size_t(g.dim_));
    double norm = 0;
    for (int64_t i = 0; i < g.dim_; ++i) {
      row[size_t(i)] = double(c.data<float>()[k * g.dim_ + i]);
      norm += row[size_t(i)] * row[size_t(i)];
    }
    CONVKIT_CHECK(std::isfinite(norm) && std::abs(std::sqrt(norm) - 1) < 1e-3, "gallery ", path,
                  ": centroid of '", g.names_[size_t(k)], "' has length ", std::sqrt(norm),
                  ", expected 1");
    // The sum of n unit vectors whose mean direction is this centroid (enrol more keeps working).
    for (double& v : row) v *= double(n);
    g.sums_.push_back(std::move(row));
    g.counts_.push_back(n);
  }
  return g;
}

}  // namespace convkit::embed
