#include "convkit/dist/sampler.h"

#include <algorithm>

namespace convkit::dist {

DistributedSampler::DistributedSampler(DistributedSamplerOptions options)
    : opt_(options), order_(options.size, 1, options.shuffle, false, options.seed) {
  CONVKIT_CHECK(opt_.world_size >= 1 && opt_.rank >= 0 && opt_.rank < opt_.world_size,
                "DistributedSampler: rank ", opt_.rank, " is not in a world of ", opt_.world_size);
  CONVKIT_CHECK(opt_.batch_size > 0, "DistributedSampler: batch size must be positive, got ",
                opt_.batch_size);
  CONVKIT_CHECK(opt_.size > 0 || !opt_.pad, "DistributedSampler: the dataset is empty");
}

int64_t DistributedSampler::shard_size() const {
  const int64_t n = opt_.size, w = opt_.world_size;
  if (opt_.pad) return (n + w - 1) / w;
  return n / w + (opt_.rank < n % w ? 1 : 0);
}

int64_t DistributedSampler::num_batches() const {
  const int64_t s = shard_size(), b = opt_.batch_size;
  return opt_.drop_last ? s / b : (s + b - 1) / b;
}

std::vector<int64_t> DistributedSampler::shard(int64_t epoch) const {
  const std::vector<int64_t> order = order_.epoch_order(epoch);
  const int64_t n = int64_t(order.size());
  std::vector<int64_t> mine;
  mine.reserve(size_t(shard_size()));
  for (int64_t i = opt_.rank; int64_t(mine.size()) < shard_size(); i += opt_.world_size)
    mine.push_back(order[size_t(i % n)]);  // past the end: the order's start again (padding)
  return mine;
}

std::vector<std::vector<int64_t>> DistributedSampler::epoch_batches(int64_t epoch) const {
  const std::vector<int64_t> mine = shard(epoch);
  std::vector<std::vector<int64_t>> batches(static_cast<size_t>(num_batches()));
  for (size_t b = 0; b < batches.size(); ++b) {
    const auto begin = mine.begin() + int64_t(b) * opt_.batch_size;
    batches[b].assign(begin, begin + std::min<int64_t>(opt_.batch_size, mine.end() - begin));
  }
  return batches;
}

}  // namespace convkit::dist
