#pragma once
// Data-parallel training as Trainer callbacks (docs/distributed.md). Every rank holds the whole
// model and trains on its own shard (dist/sampler.h); after each backward the gradients are summed
// over the ranks and divided by their number, so every rank takes the same step and the weights
// stay identical, as those of one process training on all the ranks' batches at once.
//
// DataParallel, added to the Trainer before every other callback:
//   on_train_begin   broadcasts rank 0's parameters and buffers (fresh runs start equal whatever
//                    each rank initialized; a resumed run reads the same files on every rank)
//   on_epoch_begin   seeds the default generator (dropout) from (seed, epoch, rank)
//   backward         each parameter's gradient is copied into its bucket as soon as autograd has
//                    summed it; a full bucket's all-reduce starts at once, on the communication
//                    thread, while backward goes on with the layers below (buckets are filled in
//                    reverse parameter order, the order backward produces them)
//   on_after_backward  starts the buckets left (parameters without a gradient count as zeros),
//                    sums the step's loss, logs, example count and stop request in one small
//                    all-reduce, waits for the buckets and writes the averaged gradients back; the
//                    step's result then holds the global means, so the non-finite guard and the
//                    logs decide the same on every rank
//   on_step_begin    with broadcast_buffers, rank 0's buffers (batch-norm running statistics) go
//                    to every rank, as PyTorch's DistributedDataParallel does before each forward
#include <chrono>
#include <memory>

#include "convkit/dist/communicator.h"
#include "convkit/train/trainer.h"

namespace convkit::dist {

struct DataParallelOptions {
  // Gradient bytes per all-reduce (PyTorch's DDP uses 25 MB): small buckets start early and
  // overlap more of backward, large ones pay the per-message latency less often.
  double bucket_mb = 25;
  // Start each bucket's all-reduce during backward (false: all of them after backward, for
  // measuring what the overlap gains).
  bool overlap = true;
  bool broadcast_buffers = true;
  uint64_t seed = 0;  // with epoch and rank, seeds the dropout generator each epoch
};

// Where a run's communication time went (bench/dist_scaling.sh prints it).
struct DataParallelStats {
  int64_t steps = 0;
  int64_t buckets = 0;          // per step
  int64_t gradient_bytes = 0;   // per step, this rank's contribution
  double exposed_seconds = 0;   // waiting in on_after_backward for buckets still running
  double backward_seconds = 0;  // from the step's first gradient to on_after_backward
};

class DataParallel : public train::Callback {
 public:
  DataParallel(CommunicatorPtr comm, DataParallelOptions options = {});
  ~DataParallel() override;

  void on_train_begin(train::TrainContext& ctx) override;
  void on_epoch_begin(train::TrainContext& ctx) override;
  void on_step_begin(train::TrainContext& ctx) override;
  void on_after_backward(train::TrainContext& ctx) override;

  const DataParallelStats& stats() const;
  Communicator& communicator() const { return *comm_; }

  struct Buckets;  // the gradient buffers and their state (data_parallel.cpp)

 private:
  CommunicatorPtr comm_;
  DataParallelOptions opt_;
  std::shared_ptr<Buckets> buckets_;  // the parameters' hooks hold it weakly
};

// Copies root's parameters and buffers to every rank (values only, in place).
void broadcast_module(Communicator& comm, nn::Module& model, int root = 0);

// Wraps a task so that evaluate() returns the means over every rank's part of the validation set:
// each rank evaluates the examples of its loader (a DistributedSampler without padding) and the
// metrics, weighted by example counts, are summed over the ranks. Every metric of
// inner.metric_names() must be a mean over examples (loss, accuracy, top-5 are).
class ReducedTask : public train::Task {
 public:
  ReducedTask(train::Task& inner, CommunicatorPtr comm) : inner_(inner), comm_(std::move(comm)) {}
  train::StepResult step(nn::Module& model, const data::Batch& batch) override {
    return inner_.step(model, batch);
  }
  train::Logs evaluate(nn::Module& model, data::DataLoader& loader) override;
  std::vector<std::string> metric_names() const override { return inner_.metric_names(); }
  std::string best_metric() const override { return inner_.best_metric(); }

 private:
  train::Task& inner_;
  CommunicatorPtr comm_;
};

}  // namespace convkit::dist
