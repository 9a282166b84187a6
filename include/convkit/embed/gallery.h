#pragma once
// An embedding gallery: identities enrolled from a few images each, queried with a new image's
// embedding -> the nearest identity, or "unknown" when even that is farther than a threshold.
//
// Each identity is stored as the mean of its images' L2-normalised embeddings, normalised again
// (a centroid on the unit sphere; averaging several images smooths out pose and lighting).
//
// File format (safetensors, io/safetensors.h; readable from Python):
//   tensor "centroids"  float32 [M, d], one unit-length row per identity
//   tensor "counts"     int64 [M], images enrolled per identity
//   metadata "format" = "convkit-gallery", "version" = "1",
//            "names" = JSON array of M distinct non-empty strings (row order),
//            "threshold" = distance at or below which a query is that identity (decimal),
//            "model" = the model file the embeddings came from (informational)
// load() checks every field and throws naming the file and what is wrong.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::embed {

struct Identification {
  std::string name;  // the nearest identity, or "unknown"
  bool known = false;
  double distance = 0;  // to the nearest identity's centroid
  std::string nearest;  // the nearest identity even when unknown
};

class Gallery {
 public:
  Gallery() = default;
  Gallery(double threshold, std::string model) : threshold_(threshold), model_(std::move(model)) {}
  // Adds embeddings [K, d] (any norm; normalised here) to identity `name` (created when new).
  // Throws when name is empty or d differs from the gallery's.
  void enrol(const std::string& name, const Tensor& embeddings);
  // The nearest identity of one embedding [d] or [1, d]. Throws when the gallery is empty or d
  // differs.
  Identification identify(const Tensor& embedding) const;

  void save(const std::string& path) const;
  static Gallery load(const std::string& path);

  const std::vector<std::string>& names() const { return names_; }
  int64_t dim() const { return dim_; }
  double threshold() const { return threshold_; }
  void set_threshold(double t) { threshold_ = t; }
  const std::string& model() const { return model_; }

 private:
  double threshold_ = 1.0;
  std::string model_;
  int64_t dim_ = 0;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> sums_;  // sum of normalised embeddings per identity
  std::vector<int64_t> counts_;
};

}  // namespace convkit::embed
