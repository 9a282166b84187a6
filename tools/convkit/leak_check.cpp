#include "leak_check.h"

#include <cstdio>

#include "convkit/data/duplicates.h"

namespace convkit::cli {

void warn_about_leaks(const data::Dataset& full, const std::vector<int64_t>& val_indices,
                      const data::Dataset* test) {
  const int64_t total = full.size() + (test ? test->size() : 0);
  if (total > kLeakCheckLimit) {
    std::printf(
        "leak check skipped (%lld images): run convkit check-data to look for training "
        "images in the validation and test sets\n",
        (long long)total);
    return;
  }
  const std::vector<data::ImageFingerprint> all = data::fingerprints(full);
  std::vector<char> is_val(all.size(), 0);
  for (int64_t i : val_indices) is_val[size_t(i)] = 1;
  std::vector<data::ImageFingerprint> train, val;
  for (size_t i = 0; i < all.size(); ++i) (is_val[i] ? val : train).push_back(all[i]);
  auto leaked = [&](const std::vector<data::ImageFingerprint>& other) {
    std::vector<char> hit(other.size(), 0);
    for (const auto& p : data::find_duplicates(train, other, 6, false, 3)) hit[size_t(p.b)] = 1;
    int64_t n = 0;
    for (char h : hit) n += h;
    return n;
  };
  const int64_t in_val = val.empty() ? 0 : leaked(val);
  const int64_t in_test = test ? leaked(data::fingerprints(*test)) : 0;
  if (in_val == 0 && in_test == 0) return;
  std::fprintf(stderr,
               "convkit: warning: %lld of %zu validation images and %lld of %lld test images "
               "repeat a training image (identical pixels or a near copy); accuracy measured on "
               "them is inflated. convkit check-data lists the pairs\n",
               (long long)in_val, val.size(), (long long)in_test,
               (long long)(test ? test->size() : 0));
}

}  // namespace convkit::cli
