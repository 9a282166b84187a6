#pragma once
// Starting from weights (docs/transfer.md): load what matches by name and shape, keep the model's
// fresh initialization for the rest, and report which is which.
#include <map>
#include <string>
#include <vector>

#include "convkit/nn/module.h"

namespace convkit::nn {

struct LoadMatchingOptions {
  // Tensors in both with different shapes (a 1000-class head loaded into a 5-class model): keep
  // the model's values and report them as replaced (true), or throw (false).
  bool allow_replaced = true;
  // Tensors in the state that the model lacks (an auxiliary head dropped): report (true) or throw.
  bool allow_skipped = true;
  // Model tensors absent from the state: keep their init and report (true) or throw.
  bool allow_missing = true;
  // Names the state in messages and reports (a file path).
  std::string source = "state dict";
};

struct LoadReport {
  struct Replaced {
    std::string name;
    Shape state, model;  // the state's shape and the model's
  };
  std::string source;
  std::vector<std::string> loaded;   // copied into the model
  std::vector<Replaced> replaced;    // same name, other shape: the model's init kept
  std::vector<std::string> skipped;  // in the state, not in the model
  std::vector<std::string> missing;  // in the model, not in the state
  // A few lines: the counts, then the names of replaced, skipped and missing tensors (at most
  // `max_names` of each, then "... and N more").
  std::string to_string(size_t max_names = 6) const;
};

// Copies every tensor of `state` whose name and shape match one of `model`'s parameters or
// buffers (floating tensors convert to the model's dtype), and reports the rest. Every check runs
// before anything is copied: when a disallowed case occurs it throws a convkit::Error naming the
// source, the first offending tensor (with both shapes for a replacement), the counts, and the
// option that allows it, and the model is left untouched. Also throws when a name matches but the
// dtypes cannot convert (integer vs floating).
LoadReport load_matching(Module& model, const std::map<std::string, Tensor>& state,
                         const LoadMatchingOptions& options = {});

}  // namespace convkit::nn
