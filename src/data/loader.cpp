#include "convkit/data/loader.h"

#include <algorithm>
#include <numeric>

#include "convkit/random.h"

namespace convkit::data {

DataLoader::DataLoader(DatasetPtr dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), opt_(options) {
  CONVKIT_CHECK(dataset_ != nullptr, "DataLoader: no dataset");
  CONVKIT_CHECK(opt_.batch_size > 0, "DataLoader: batch size must be positive, got ",
                opt_.batch_size);
  CONVKIT_CHECK(opt_.prefetch >= 0, "DataLoader: negative prefetch ", opt_.prefetch);
  CONVKIT_CHECK(opt_.workers >= 1, "DataLoader: need at least one worker, got ", opt_.workers);
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::num_batches() const {
  const int64_t n = dataset_->size();
  return opt_.drop_last ? n / opt_.batch_size : (n + opt_.batch_size - 1) / opt_.batch_size;
}

namespace {
// splitmix64: decorrelates the streams of consecutive epochs.
uint64_t splitmix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

uint64_t DataLoader::epoch_seed(int64_t epoch) const {
  // A different mix from the order's, so augmentation draws are independent of the shuffle.
  return splitmix(opt_.seed ^ splitmix(uint64_t(epoch) ^ 0xa5a5a5a5a5a5a5a5ULL));
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(dataset_->size());
  std::iota(order.begin(), order.end(), 0);
  if (!opt_.shuffle) return order;
  Generator gen(opt_.seed ^ splitmix(uint64_t(epoch)));
  for (int64_t i = int64_t(order.size()) - 1; i > 0; --i) {
    int64_t j = int64_t(gen.next_u64() % uint64_t(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

Batch DataLoader::make_batch(int64_t b) const {
  const int64_t begin = b * opt_.batch_size;
  const int64_t end = std::min<int64_t>(begin + opt_.batch_size, int64_t(order_.size()));
  return dataset_->get_epoch_batch(
      std::vector<int64_t>(order_.begin() + begin, order_.begin() + end), epoch_seed_);
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop();
  CONVKIT_CHECK(first_batch >= 0 && first_batch <= num_batches(),
                "DataLoader: cannot start at batch ", first_batch, " of ", num_batches());
  order_ = epoch_order(epoch);
  epoch_seed_ = epoch_seed(epoch);
  pending_ = num_batches() - first_batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.clear();
    stop_ = false;
    next_claim_ = next_deliver_ = first_batch;
    end_ = num_batches();
  }
  if (opt_.prefetch == 0) return;
  const int n = int(std::min<int64_t>(opt_.workers, pending_));
  for (int w = 0; w < n; ++w) workers_.emplace_back([this] { work(); });
}

void DataLoader::work() {
  // The claim window: batches taken by workers but not yet by next() never exceed it.
  const int64_t window = std::max(opt_.prefetch, opt_.workers);
  for (;;) {
    int64_t b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        return stop_ || next_claim_ >= end_ || next_claim_ < next_deliver_ + window;
      });
      if (stop_ || next_claim_ >= end_) return;
      b = next_claim_++;
    }
    Slot slot;
    try {
      slot.batch = make_batch(b);
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      // After a failure no later batch is assembled: next() stops at the error.
      if (slot.error) end_ = std::min(end_, next_claim_);
      ready_.emplace(b, std::move(slot));
    }
    cv_.notify_all();
  }
}

std::optional<Batch> DataLoader::next() {
  if (pending_ <= 0) return std::nullopt;
  if (opt_.prefetch == 0) {
    --pending_;
    try {
      return make_batch(next_deliver_++);
    } catch (...) {
      pending_ = 0;
      throw;
    }
  }
  Slot slot;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Every claimed batch ends in ready_ (a batch or an error), so this wait always ends.
    cv_.wait(lock, [&] { return ready_.count(next_deliver_) > 0; });
    auto it = ready_.find(next_deliver_);
    slot = std::move(it->second);
    ready_.erase(it);
    ++next_deliver_;
  }
  cv_.notify_all();
  --pending_;
  if (slot.error) {
    pending_ = 0;
    std::rethrow_exception(slot.error);
  }
  return std::move(slot.batch);
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  ready_.clear();
  pending_ = 0;
}

int default_loader_workers() {
  return int(std::clamp<unsigned>(std::thread::hardware_concurrency(), 1, 2));
}

}  // namespace convkit::data
