#pragma once
// DataLoader: seeded shuffling, batching, drop_last, and batches assembled ahead on worker threads.
//
// The order of epoch e is a permutation drawn from Generator(seed ^ mix(e)), so it depends only on
// (seed, epoch): a resumed run that restarts epoch e at batch k sees exactly the batches the
// interrupted run would have seen. `workers` threads each assemble whole batches (decoding and
// augmentation run inside Dataset::get_epoch_batch), at most `prefetch` batches ahead of the
// consumer, and next() hands them out in order. A batch is a function of (seed, epoch, batch
// number) alone, so the batches are the same whatever the number of workers.
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "convkit/data/dataset.h"

namespace convkit::data {

// min(2, hardware threads): enough to keep ahead of a CPU training step on small images without
// taking cores from the kernels; raise it for JPEG decoding (bench/loader_bench.cpp).
int default_loader_workers();

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
  // The example order of an epoch (all of it; batches are consecutive runs of it).
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
  std::vector<int64_t> order_;
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
