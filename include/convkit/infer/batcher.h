#pragma once
// Micro-batching over a Session (docs/serving.md): callers on many threads submit one input each;
// one worker thread runs them through the model in batches. A batch starts when `max_batch`
// inputs wait, or `max_wait` after the oldest arrived, whichever is first. With the default
// max_wait of 0 a batch is whatever queued while the previous pass ran: a lone caller never waits,
// and under load the batches grow by themselves (measured better than a 2 ms wait at 1, 8 and 64
// clients: docs/serving.md).
//
// Other model work (Grad-CAM for the server's page) runs through `run_exclusive` on a worker,
// between its batches, with that worker's session: a model, its cached per-shape state and the
// oneDNN stream are used by one thread only.
//
// Replicas: given several sessions (copies of one model), one worker per session takes batches
// from the same queue, each with its own OpenMP team of `threads` kernel threads. On a small model
// two one-thread workers outrun one two-thread worker (a forward pass of a few MFLOP does not
// split well over threads; docs/serving.md has the figures).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "convkit/error.h"
#include "convkit/infer/session.h"

namespace convkit::infer {

struct BatcherOptions {
  int64_t max_batch = 32;                 // inputs per forward pass, >= 1
  std::chrono::microseconds max_wait{0};  // longest an input waits for others, >= 0
  size_t max_queue = 256;                 // waiting inputs and tasks; more throws QueueFull
  // Run batches of 1, 2, 4, 8, ... inputs only (the largest that the waiting inputs fill; the rest
  // run next, at once): every batch size costs its own oneDNN primitives, and a server seeing
  // every size from 1 to 64 would cycle them through the bounded kernel cache (kernel_cache.h).
  bool power_of_two_batches = true;
  // Kernel threads of the worker's forward passes (its own OpenMP team; a new thread does not
  // inherit its creator's omp_set_num_threads). 0: omp_get_max_threads() of the thread that
  // constructs the Batcher. A server keeps every other thread at one kernel thread: libgomp
  // shortens its spin-waiting to almost nothing once a process holds more OpenMP threads than
  // cores, and on a virtual machine every wake-up is then a slow futex round trip
  // (docs/serving.md: 3.6 ms instead of 1.3 ms for one ResNet-20 image).
  int threads = 0;
  // Run on each worker, with its session, before it takes work (e.g. one forward pass, so that
  // the first request does not pay for creating the kernels). The constructor waits for every
  // worker's warm-up and rethrows the first failure.
  std::function<void(const Session&)> warm_up;
  // Called on the worker after each forward pass (for metrics); must not throw.
  std::function<void(int64_t batch_size, double model_ms)> on_batch;
  // With one kernel thread per worker: when nothing waits and a replica is idle, submit runs the
  // input at once on the caller's thread with that replica (its future is ready on return). A
  // lone request then skips the two thread hand-offs (queue -> worker -> caller), each a futex
  // wake-up on a virtual machine; under load inputs queue and batch as before.
  bool run_when_idle = false;
};

// submit / run_exclusive when max_queue items already wait, or after stop(): the caller should
// answer "busy, retry" (HTTP 503), not wait.
class QueueFull : public Error {
 public:
  using Error::Error;
};

struct BatchedResult {
  Tensor probabilities;    // [num_classes], softmax of the input's logits
  int64_t batch_size = 0;  // how many inputs shared the forward pass
  double model_ms = 0;     // the forward pass's wall time (shared by the batch)
  double queue_ms = 0;     // time from submit to the start of the forward pass
};

class Batcher {
 public:
  // Throws convkit::Error for max_batch < 1 or max_queue < 1. `session` must outlive the batcher.
  Batcher(const Session& session, BatcherOptions options);
  // One worker per replica (at least one; they must outlive the batcher and be distinct).
  Batcher(const std::vector<const Session*>& replicas, BatcherOptions options);
  // stop(): every item already queued is still run.
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // One standardized input [C, H, W] (preprocess.h). The future holds the result, or the
  // exception the forward pass threw (naming the model and shapes). Inputs of another shape than
  // the ones they would be batched with run in their own batch.
  std::future<BatchedResult> submit(Tensor input);
  // Runs `task` on one worker thread between its batches, with that worker's session; the future
  // holds its exception, if any.
  std::future<void> run_exclusive(std::function<void(const Session&)> task);
  std::future<void> run_exclusive(std::function<void()> task);

  // Inputs and tasks waiting (not yet started).
  size_t queue_depth() const;
  // Forward passes started, and the inputs in them, since construction.
  int64_t batches_run() const;
  int64_t inputs_run() const;

  size_t workers() const { return workers_.size(); }

  // Refuses new work (QueueFull), finishes what is queued, joins the workers. Idempotent.
  void stop();

 private:
  struct Item {
    Tensor input;  // undefined for a task
    std::function<void(const Session&)> task;
    std::promise<BatchedResult> result;
    std::promise<void> done;
    std::chrono::steady_clock::time_point enqueued;
  };
  // Queues an input or a task; throws QueueFull when stopping or full.
  void enqueue(Item item);
  // Claims an idle replica when nothing waits (run_when_idle); -1 when there is none.
  int claim_idle_replica();
  void work(size_t replica);
  void run_batch(const Session& session, std::vector<Item>& batch);
  // Leading queued inputs of the front input's shape, up to max_batch (call under mu_).
  int64_t ready_inputs() const;

  const BatcherOptions options_;
  std::vector<const Session*> sessions_;
  int threads_ = 1;         // kernel threads of each worker
  std::vector<char> busy_;  // per replica: a batch, task or inline input is running on it
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  int64_t batches_ = 0, inputs_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace convkit::infer
