#include "convkit/data/loader.h"

#include <numeric>

#include "convkit/random.h"

namespace convkit::data {

DataLoader::DataLoader(DatasetPtr dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), opt_(options) {
  CONVKIT_CHECK(dataset_ != nullptr, "DataLoader: no dataset");
  CONVKIT_CHECK(opt_.batch_size > 0, "DataLoader: batch size must be positive, got ",
                opt_.batch_size);
  CONVKIT_CHECK(opt_.prefetch >= 0, "DataLoader: negative prefetch ", opt_.prefetch);
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
  CONVKIT_CHECK(first_batch >= 0 && first_batch <= num_batches(), "DataLoader: cannot start at batch ",
                first_batch, " of ", num_batches());
  order_ = epoch_order(epoch);
  epoch_seed_ = epoch_seed(epoch);
  next_batch_ = first_batch;
  pending_ = num_batches() - first_batch;
  if (opt_.prefetch == 0) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.clear();
    stop_ = false;
    done_ = false;
    error_ = nullptr;
  }
  worker_ = std::thread([this, first_batch] { produce(first_batch); });
}

void DataLoader::produce(int64_t first_batch) {
  for (int64_t b = first_batch; b < num_batches(); ++b) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || int64_t(queue_.size()) < opt_.prefetch; });
      if (stop_) break;
    }
    try {
      Batch batch = make_batch(b);
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      error_ = std::current_exception();
      break;
    }
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  cv_.notify_all();
}

std::optional<Batch> DataLoader::next() {
  if (pending_ <= 0) return std::nullopt;
  if (opt_.prefetch == 0) {
    --pending_;
    return make_batch(next_batch_++);
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || done_; });
  if (queue_.empty()) {
    if (error_) {
      pending_ = 0;
      std::rethrow_exception(error_);
    }
    return std::nullopt;
  }
  Batch b = std::move(queue_.front());
  queue_.pop_front();
  --pending_;
  lock.unlock();
  cv_.notify_all();
  return b;
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mu_);
  queue_.clear();
}

}  // namespace convkit::data
