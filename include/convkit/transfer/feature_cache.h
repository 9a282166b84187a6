#pragma once
// Features of a cut base, computed once and cached on disk (docs/transfer.md, "Feature cache").
//
// File format (version 1), little-endian:
//   bytes 0..7    magic "CKFEAT01"
//   bytes 8..15   uint64 H: length of the JSON header that follows
//   16..16+H      JSON {"version": 1, "dtype": "float32", "shape": [N, ...feature shape],
//                 "labels": "int64", "layer": L, "base_checksum": hex, "data": fingerprint},
//                 padded with spaces so that the features start at a multiple of 64 bytes
//   features      N * prod(feature shape) float32, row-major
//   labels        N int64
// The file is memory-mapped read-only: the features dataset reads its rows from the page cache.
// A cache whose layer, base checksum or data fingerprint differ from the request is stale and is
// rebuilt; a file that is not such a cache (bad magic, unreadable header, size not the header's)
// is refused with its path.
#include <cstdint>
#include <string>

#include "convkit/data/dataset.h"
#include "convkit/transfer/truncated.h"

namespace convkit::transfer {

// FNV-1a 64 over every parameter and buffer of `module` (names, shapes and values, in name
// order), as 16 hex digits: two modules with the same weights have the same checksum.
std::string module_checksum(const nn::Module& module);

// What the examples of `ds` are, cheaply: size, example shape, classes and the FNV-1a of the
// labels, plus `source` (e.g. the data path and preprocessing). Pixels are not hashed (that would
// cost a pass over the data): change `source` when the files change under the same path.
std::string dataset_fingerprint(const data::Dataset& ds, const std::string& source);

// The identity of a cache: a stale file differs in one of these.
struct FeatureKey {
  std::string layer, base_checksum, data;
  bool operator==(const FeatureKey&) const = default;
};

// Runs every example of `ds` (in index order, batches of `batch_size`) through `base` in eval
// mode without gradients and returns the stacked features [N, ...base.feature_shape()].
Tensor extract_features(Truncated& base, const data::Dataset& ds, int64_t batch_size = 64);

// Writes features [N, ...] float32 and labels [N] int64 as a cache file, atomically (a temporary
// file renamed into place). Throws naming the path when it cannot be written.
void write_feature_cache(const std::string& path, const FeatureKey& key, const Tensor& features,
                         const Tensor& labels);

struct FeatureCacheFile {
  FeatureKey key;
  data::DatasetPtr dataset;  // a TensorDataset over the mapped features and labels
};
// Maps a cache file. Throws naming the path and what is wrong (missing, bad magic, header, size)
// with the advice to delete the file.
FeatureCacheFile read_feature_cache(const std::string& path, int64_t num_classes = -1,
                                    std::vector<std::string> class_names = {});

struct CachedFeatures {
  data::DatasetPtr dataset;  // features [F...] as inputs, the labels of `ds`
  bool built = false;        // false: read from an up-to-date file
  std::string reason;        // why it was built: "no cache", "stale: ..."
};
// The features of `ds` cut at `base`: read from `path` when its key matches, otherwise extracted
// and written there first. A corrupt file throws (read_feature_cache); it is not overwritten
// silently.
CachedFeatures cached_features(const std::string& path, Truncated& base, const data::DatasetPtr& ds,
                               const std::string& data_source, int64_t batch_size = 64);

}  // namespace convkit::transfer
