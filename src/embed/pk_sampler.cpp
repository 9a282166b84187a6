#include "convkit/embed/pk_sampler.h"

#include <algorithm>
#include <map>

#include "convkit/random.h"

namespace convkit::embed {

namespace {
uint64_t splitmix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

template <class T>
void shuffle(std::vector<T>& v, Generator& gen) {
  for (int64_t i = int64_t(v.size()) - 1; i > 0; --i)
    std::swap(v[i], v[gen.next_u64() % uint64_t(i + 1)]);
}
}  // namespace

PKSampler::PKSampler(const std::vector<int64_t>& labels, int64_t p, int64_t k, uint64_t seed)
    : p_(p), k_(k), seed_(seed) {
  CONVKIT_CHECK(p >= 2 && k >= 2,
                "P x K sampler: P (classes per batch) and K (examples per "
                "class) must both be >= 2 for a batch to hold positives and negatives, got P=",
                p, ", K=", k);
  std::map<int64_t, std::vector<int64_t>> groups;
  for (size_t i = 0; i < labels.size(); ++i) groups[labels[i]].push_back(int64_t(i));
  for (auto& [label, idx] : groups)
    if (idx.size() >= 2) by_class_.push_back(std::move(idx));
  CONVKIT_CHECK(int64_t(by_class_.size()) >= p, "P x K sampler: P=", p,
                " classes per batch, but only ", by_class_.size(), " of the ", groups.size(),
                " classes have at least 2 examples; lower P");
  num_batches_ = std::max<int64_t>(int64_t(labels.size()) / (p * k), 1);
}

std::vector<std::vector<int64_t>> PKSampler::epoch_batches(int64_t epoch) const {
  Generator gen(seed_ ^ splitmix(uint64_t(epoch)));
  std::vector<std::vector<int64_t>> queues = by_class_;
  std::vector<size_t> next(queues.size(), 0);
  for (auto& q : queues) shuffle(q, gen);
  std::vector<int64_t> classes(queues.size());
  std::vector<std::vector<int64_t>> batches(static_cast<size_t>(num_batches_));
  for (auto& batch : batches) {
    for (size_t c = 0; c < classes.size(); ++c) classes[c] = int64_t(c);
    // The first P of a partial Fisher-Yates shuffle: P distinct classes, uniformly.
    for (int64_t i = 0; i < p_; ++i) {
      const int64_t j = i + int64_t(gen.next_u64() % uint64_t(classes.size() - size_t(i)));
      std::swap(classes[i], classes[j]);
      std::vector<int64_t>& q = queues[size_t(classes[i])];
      size_t& at = next[size_t(classes[i])];
      for (int64_t s = 0; s < k_; ++s) {
        if (at == q.size()) {
          shuffle(q, gen);
          at = 0;
        }
        batch.push_back(q[at++]);
      }
    }
  }
  return batches;
}

}  // namespace convkit::embed
