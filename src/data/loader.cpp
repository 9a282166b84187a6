#include "convkit/data/loader.h"

#include <algorithm>
#include <cstring>
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
  sampler_ = opt_.sampler
                 ? opt_.sampler
                 : std::make_shared<ShuffleSampler>(dataset_->size(), opt_.batch_size, opt_.shuffle,
                                                    opt_.drop_last, opt_.seed);
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::num_batches() const { return sampler_->num_batches(); }

uint64_t DataLoader::epoch_seed(int64_t epoch) const {
  // A different mix from the order's, so augmentation draws are independent of the shuffle.
  return splitmix64(opt_.seed ^ splitmix64(uint64_t(epoch) ^ 0xa5a5a5a5a5a5a5a5ULL));
}

ShuffleSampler::ShuffleSampler(int64_t size, int64_t batch_size, bool shuffle, bool drop_last,
                               uint64_t seed)
    : size_(size), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last), seed_(seed) {
  CONVKIT_CHECK(size >= 0, "ShuffleSampler: negative dataset size ", size);
  CONVKIT_CHECK(batch_size > 0, "ShuffleSampler: batch size must be positive, got ", batch_size);
}

int64_t ShuffleSampler::num_batches() const {
  return drop_last_ ? size_ / batch_size_ : (size_ + batch_size_ - 1) / batch_size_;
}

std::vector<int64_t> ShuffleSampler::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(size_);
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle_) return order;
  Generator gen(seed_ ^ splitmix64(uint64_t(epoch)));
  for (int64_t i = int64_t(order.size()) - 1; i > 0; --i) {
    int64_t j = int64_t(gen.next_u64() % uint64_t(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::vector<std::vector<int64_t>> ShuffleSampler::epoch_batches(int64_t epoch) const {
  const std::vector<int64_t> order = epoch_order(epoch);
  std::vector<std::vector<int64_t>> batches(static_cast<size_t>(num_batches()));
  for (size_t b = 0; b < batches.size(); ++b) {
    const auto begin = order.begin() + int64_t(b) * batch_size_;
    batches[b].assign(begin, begin + std::min<int64_t>(batch_size_, order.end() - begin));
  }
  return batches;
}

namespace {
// Concatenates the [1, ...] tensors of `parts` along dim 0; `what` names them in errors.
Tensor stack_rows(const std::vector<Tensor>& parts, const std::string& what) {
  const Tensor& first = parts.front();
  CONVKIT_CHECK(first.ndim() >= 1 && first.size(0) == 1, "collate: ", what,
                " of example 0 has shape ", first.shape().to_string(), "; expected [1, ...]");
  Shape shape = first.shape();
  shape[0] = int64_t(parts.size());
  Tensor out = Tensor::empty(shape, first.dtype());
  auto* dst = static_cast<char*>(out.raw_data());
  for (size_t i = 0; i < parts.size(); ++i) {
    CONVKIT_CHECK(parts[i].shape() == first.shape() && parts[i].dtype() == first.dtype(),
                  "collate: ", what, " of example ", i, " has shape ", parts[i].shape().to_string(),
                  ", example 0 ", first.shape().to_string(),
                  " (a collate function that pads or resizes handles examples of other sizes)");
    std::memcpy(dst + i * first.nbytes(), parts[i].raw_data(), first.nbytes());
  }
  return out;
}

std::map<std::string, Tensor> stack_named(const std::vector<Batch>& examples,
                                          std::map<std::string, Tensor> Batch::*field,
                                          const char* what) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : examples.front().*field) {
    std::vector<Tensor> parts;
    for (size_t i = 0; i < examples.size(); ++i) {
      auto it = (examples[i].*field).find(name);
      CONVKIT_CHECK(it != (examples[i].*field).end(), "collate: example ", i, " has no ", what,
                    " '", name, "'");
      parts.push_back(it->second);
    }
    out[name] = stack_rows(parts, std::string(what) + " '" + name + "'");
  }
  for (size_t i = 1; i < examples.size(); ++i)
    CONVKIT_CHECK((examples[i].*field).size() == out.size(), "collate: example ", i, " has ",
                  (examples[i].*field).size(), " ", what, "s, example 0 ", out.size());
  return out;
}
}  // namespace

Batch collate(const std::vector<Batch>& examples) {
  CONVKIT_CHECK(!examples.empty(), "collate: no examples");
  Batch b;
  std::vector<Tensor> inputs, labels;
  for (const Batch& e : examples) {
    inputs.push_back(e.inputs);
    if (e.labels.defined()) labels.push_back(e.labels);
    b.indices.insert(b.indices.end(), e.indices.begin(), e.indices.end());
  }
  b.inputs = stack_rows(inputs, "inputs");
  if (!labels.empty()) {
    CONVKIT_CHECK(labels.size() == examples.size(), "collate: only ", labels.size(), " of ",
                  examples.size(), " examples have labels");
    b.labels = stack_rows(labels, "labels");
  }
  b.extra_inputs = stack_named(examples, &Batch::extra_inputs, "extra input");
  b.targets = stack_named(examples, &Batch::targets, "target");
  return b;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order;
  for (const std::vector<int64_t>& b : sampler_->epoch_batches(epoch))
    order.insert(order.end(), b.begin(), b.end());
  return order;
}

Batch DataLoader::make_batch(int64_t b) const {
  const std::vector<int64_t>& indices = batches_[size_t(b)];
  if (!opt_.collate) return dataset_->get_epoch_batch(indices, epoch_seed_);
  std::vector<Batch> examples;
  examples.reserve(indices.size());
  for (int64_t i : indices) examples.push_back(dataset_->get_epoch_batch({i}, epoch_seed_));
  return opt_.collate(examples);
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop();
  CONVKIT_CHECK(first_batch >= 0 && first_batch <= num_batches(),
                "DataLoader: cannot start at batch ", first_batch, " of ", num_batches());
  batches_ = sampler_->epoch_batches(epoch);
  CONVKIT_CHECK(int64_t(batches_.size()) == num_batches(), "DataLoader: the sampler gave ",
                batches_.size(), " batches for epoch ", epoch, " but promised ", num_batches());
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
