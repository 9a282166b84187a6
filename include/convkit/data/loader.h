#pragma once
// DataLoader: a sampler picks each batch's examples, the dataset (or a collate function) assembles
// them, and worker threads do that ahead of the consumer.
//
// A sampler's batches depend only on (its seed, epoch, batch number): a resumed run that restarts
// epoch e at batch k sees exactly the batches the interrupted run would have seen. The default
// sampler draws the order of epoch e as a permutation from Generator(seed ^ mix(e)). `workers`
// threads each assemble whole batches (decoding and augmentation run inside
// Dataset::get_epoch_batch), at most `prefetch` batches ahead of the consumer, and next() hands
// them out in order. A batch is a function of (seed, epoch, batch number) alone, so the batches are
// the same whatever the number of workers.
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "convkit/data/dataset.h"

namespace convkit::data {

// min(2, hardware threads): enough to keep ahead of a CPU training step on small images without
// taking cores from the kernels; raise it for JPEG decoding (bench/loader_bench.cpp).
int default_loader_workers();

// Which examples make each batch of an epoch. Implementations must make epoch_batches a function
// of (their own seed, epoch) alone and must be safe to call from several threads (it is const);
// a P x K sampler for triplet training (P classes, K examples each per batch) is one.
class Sampler {
 public:
  virtual ~Sampler() = default;
  // Batches per epoch (the same every epoch: schedules count steps with it).
  virtual int64_t num_batches() const = 0;
  // The dataset indices of every batch of epoch `epoch`, in order.
  virtual std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const = 0;
};
using SamplerPtr = std::shared_ptr<const Sampler>;

// The default sampler: epoch_order(e), a permutation of 0..size-1 drawn from
// Generator(seed ^ splitmix(e)) (the identity without shuffle), cut into consecutive runs of
// batch_size; the last, shorter run is dropped with drop_last.
class ShuffleSampler : public Sampler {
 public:
  ShuffleSampler(int64_t size, int64_t batch_size, bool shuffle, bool drop_last, uint64_t seed);
  int64_t num_batches() const override;
  std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const override;
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  int64_t size_, batch_size_;
  bool shuffle_, drop_last_;
  uint64_t seed_;
};

// Stacks one-example batches (each [1, ...]) into one: inputs, labels, every extra input and every
// target concatenated along dim 0, indices appended. Throws naming the first example whose shapes
// or names differ from the first one's.
Batch collate(const std::vector<Batch>& examples);
using CollateFn = std::function<Batch(const std::vector<Batch>& examples)>;

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  // Batches ready or being assembled ahead of the consumer (raised to `workers` if smaller, so
  // every worker can have one in progress); 0 assembles each batch on the caller's thread in
  // next().
  int prefetch = 2;
  // Threads assembling batches. The dataset's get_epoch_batch is called from all of them at once,
  // so it must be safe to call concurrently (every dataset in convkit is).
  int workers = default_loader_workers();
  // Who picks the batches; null: a ShuffleSampler from batch_size, shuffle, drop_last and seed.
  SamplerPtr sampler{};
  // Null: the dataset assembles each batch at once (Dataset::get_epoch_batch of all its indices).
  // Set: each example is fetched alone and the function makes the batch (e.g. data::collate, or
  // one that pads examples of different sizes).
  CollateFn collate{};
};

class DataLoader {
 public:
  DataLoader(DatasetPtr dataset, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t num_batches() const;
  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return opt_; }
  const Sampler& sampler() const { return *sampler_; }
  // The example order of an epoch: the sampler's batches one after the other.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // The seed handed to Dataset::get_epoch_batch in epoch `epoch` (augmentation draws).
  uint64_t epoch_seed(int64_t epoch) const;

  // Starts epoch `epoch` at batch `first_batch` (for resuming). Stops any epoch in progress.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the current epoch; nullopt at its end. A batch that failed to assemble
  // rethrows its error here, in its place in the order (the batches before it arrive first).
  std::optional<Batch> next();
  // Stops the workers (waiting for batches in progress) and drops the rest of the epoch. Safe to
  // call at any time, repeatedly; the destructor calls it.
  void stop();

 private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  Batch make_batch(int64_t b) const;
  void work();

  DatasetPtr dataset_;
  LoaderOptions opt_;
  SamplerPtr sampler_;
  std::vector<std::vector<int64_t>> batches_;  // of the current epoch
  uint64_t epoch_seed_ = 0;
  int64_t pending_ = 0;  // batches still to be taken this epoch

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t next_claim_ = 0;         // next batch number a worker will take
  int64_t next_deliver_ = 0;       // next batch number next() returns
  int64_t end_ = 0;                // one past the epoch's last batch
  std::map<int64_t, Slot> ready_;  // assembled, not yet delivered
  bool stop_ = false;
};

}  // namespace convkit::data
