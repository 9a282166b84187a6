#pragma once
// DataLoader: seeded shuffling, batching, drop_last, and background prefetch.
//
// The order of epoch e is a permutation drawn from Generator(seed ^ mix(e)), so it depends only on
// (seed, epoch): a resumed run that restarts epoch e at batch k sees exactly the batches the
// interrupted run would have seen. A producer thread assembles up to `prefetch` batches ahead so the
// training step does not wait on data.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "convkit/data/dataset.h"

namespace convkit::data {

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  int prefetch = 2;  // batches assembled ahead; 0 assembles on the caller's thread
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
  // The next batch of the current epoch; nullopt at its end. Rethrows a producer's error.
  std::optional<Batch> next();
  void stop();

 private:
  Batch make_batch(int64_t b) const;
  void produce(int64_t first_batch);

  DatasetPtr dataset_;
  LoaderOptions opt_;
  std::vector<int64_t> order_;
  uint64_t epoch_seed_ = 0;
  int64_t next_batch_ = 0;  // used when prefetch == 0

  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool done_ = true;
  bool stop_ = false;
  std::exception_ptr error_;
  int64_t pending_ = 0;  // batches still to be taken this epoch
};

}  // namespace convkit::data
