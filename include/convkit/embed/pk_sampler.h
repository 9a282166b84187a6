#pragma once
// P x K batches for triplet training (Hermans et al. 2017): each batch holds K examples of each of
// P different classes, so every anchor has K - 1 positives and (P - 1) K negatives to mine from.
//
// Epoch semantics: an epoch has floor(N / (P K)) batches (about one pass over the N examples).
// Each class keeps a queue of its examples in a random order; a batch picks P distinct classes at
// random and takes the next K examples from each queue, which is reshuffled and restarted when it
// runs out. So within an epoch every example of a class is used once before any is used twice.
// A class with fewer than K examples (but at least 2) repeats some of them within its K slots (its
// queue restarts mid-slot); classes with a single example cannot give a positive pair and are never
// picked. Batches are a function of (seed, epoch) alone, as data::Sampler requires.
#include <cstdint>
#include <vector>

#include "convkit/data/loader.h"

namespace convkit::embed {

class PKSampler : public data::Sampler {
 public:
  // labels: every example's class (Dataset::labels()). Throws when P < 2 or K < 2, or when fewer
  // than P classes have at least 2 examples (naming how many do).
  PKSampler(const std::vector<int64_t>& labels, int64_t p, int64_t k, uint64_t seed);
  int64_t num_batches() const override { return num_batches_; }
  std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const override;
  int64_t classes_per_batch() const { return p_; }
  int64_t examples_per_class() const { return k_; }
  // Classes that can be picked (at least 2 examples).
  int64_t usable_classes() const { return int64_t(by_class_.size()); }

 private:
  int64_t p_, k_, num_batches_;
  uint64_t seed_;
  std::vector<std::vector<int64_t>> by_class_;  // example indices of each usable class
};

}  // namespace convkit::embed
