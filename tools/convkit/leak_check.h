#pragma once
// The leak warning of `convkit train`: training images that reappear (identical pixels or near
// copies, data/duplicates.h) in the validation part or the test set, found before the run starts.
// `convkit check-data` lists them; train only counts them and says so.
#include <cstdint>
#include <vector>

#include "convkit/data/dataset.h"

namespace convkit::cli {

// Above this many images (training data plus test set) train skips the check and says to run
// check-data (decoding an extra pass over a large image set is not free).
constexpr int64_t kLeakCheckLimit = 100000;

// `full`: the labelled data before the split; `val_indices`: its validation part (may be empty);
// `test`: the test set (may be null). Both unstandardized and unaugmented. Prints a warning to
// stderr when anything leaks, nothing otherwise.
void warn_about_leaks(const data::Dataset& full, const std::vector<int64_t>& val_indices,
                      const data::Dataset* test);

}  // namespace convkit::cli
