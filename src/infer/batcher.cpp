#include "convkit/infer/batcher.h"

#include <omp.h>

#include <exception>

#include "convkit/infer/preprocess.h"

namespace convkit::infer {

namespace {
double ms_between(std::chrono::steady_clock::time_point a,
                  std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
}  // namespace

Batcher::Batcher(const Session& session, BatcherOptions options)
    : Batcher(std::vector<const Session*>{&session}, std::move(options)) {}

Batcher::Batcher(const std::vector<const Session*>& replicas, BatcherOptions options)
    : options_(std::move(options)) {
  CONVKIT_CHECK(options_.max_batch >= 1, "Batcher: max_batch must be at least 1, got ",
                options_.max_batch);
  CONVKIT_CHECK(options_.max_queue >= 1, "Batcher: max_queue must be at least 1");
  CONVKIT_CHECK(options_.max_wait.count() >= 0, "Batcher: max_wait must not be negative");
  CONVKIT_CHECK(options_.threads >= 0, "Batcher: threads must be >= 0 (0: the caller's), got ",
                options_.threads);
  CONVKIT_CHECK(!replicas.empty(), "Batcher: no session to run");
  for (size_t i = 0; i < replicas.size(); ++i) {
    CONVKIT_CHECK(replicas[i] != nullptr, "Batcher: replica ", i, " is null");
    for (size_t j = 0; j < i; ++j)
      CONVKIT_CHECK(replicas[i] != replicas[j], "Batcher: replicas ", j, " and ", i,
                    " are the same session (each worker needs its own copy of the model)");
  }
  threads_ = options_.threads > 0 ? options_.threads : omp_get_max_threads();
  sessions_ = replicas;
  busy_.assign(replicas.size(), 0);
  std::vector<std::future<void>> warmed;
  for (size_t i = 0; i < replicas.size(); ++i) {
    auto ready = std::make_shared<std::promise<void>>();
    warmed.push_back(ready->get_future());
    workers_.emplace_back([this, i, ready] {
      omp_set_num_threads(threads_);
      try {
        if (options_.warm_up) options_.warm_up(*sessions_[i]);
        ready->set_value();
      } catch (...) {
        ready->set_exception(std::current_exception());
      }
      work(i);
    });
  }
  try {
    for (auto& w : warmed) w.get();
  } catch (...) {
    stop();
    throw;
  }
}

Batcher::~Batcher() { stop(); }

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& w : workers_)
    if (w.joinable()) w.join();
}

std::future<BatchedResult> Batcher::submit(Tensor input) {
  CONVKIT_CHECK(input.defined() && input.ndim() == 3,
                "Batcher::submit: expected one input [C, H, W]",
                input.defined() ? ", got " + input.shape().to_string() : std::string());
  Item item;
  item.input = std::move(input);
  item.enqueued = std::chrono::steady_clock::now();
  std::future<BatchedResult> f = item.result.get_future();
  const int replica = claim_idle_replica();
  if (replica < 0) {
    enqueue(std::move(item));
    return f;
  }
  std::vector<Item> batch;
  batch.push_back(std::move(item));
  run_batch(*sessions_[size_t(replica)], batch);  // sets the result or its exception
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy_[size_t(replica)] = 0;
  }
  wake_.notify_all();  // work may have queued for this replica meanwhile
  return f;
}

int Batcher::claim_idle_replica() {
  if (!options_.run_when_idle || threads_ != 1) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || !queue_.empty()) return -1;
  for (size_t i = 0; i < busy_.size(); ++i)
    if (!busy_[i]) {
      busy_[i] = 1;
      ++batches_;
      ++inputs_;
      return int(i);
    }
  return -1;
}

void Batcher::enqueue(Item item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw QueueFull("the model server is shutting down");
    if (queue_.size() >= options_.max_queue)
      throw QueueFull(detail::concat("the request queue is full (", options_.max_queue,
                                     " waiting); retry shortly"));
    queue_.push_back(std::move(item));
  }
  wake_.notify_all();
}

std::future<void> Batcher::run_exclusive(std::function<void()> task) {
  CONVKIT_CHECK(task != nullptr, "Batcher::run_exclusive: the task is empty");
  return run_exclusive([task = std::move(task)](const Session&) { task(); });
}

std::future<void> Batcher::run_exclusive(std::function<void(const Session&)> task) {
  CONVKIT_CHECK(task != nullptr, "Batcher::run_exclusive: the task is empty");
  Item item;
  item.task = std::move(task);
  item.enqueued = std::chrono::steady_clock::now();
  std::future<void> f = item.done.get_future();
  enqueue(std::move(item));
  return f;
}

size_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}
int64_t Batcher::batches_run() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}
int64_t Batcher::inputs_run() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inputs_;
}

int64_t Batcher::ready_inputs() const {
  int64_t n = 0;
  for (const Item& it : queue_) {
    if (!it.input.defined() || !(it.input.shape() == queue_.front().input.shape())) break;
    if (++n == options_.max_batch) break;
  }
  return n;
}

void Batcher::work(size_t replica) {
  const Session& session = *sessions_[replica];
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // A replica that a caller runs an input on (run_when_idle) takes no work until it is back.
    wake_.wait(lock, [&] { return !busy_[replica] && (stopping_ || !queue_.empty()); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    if (!queue_.front().input.defined()) {
      Item task = std::move(queue_.front());
      queue_.pop_front();
      busy_[replica] = 1;
      lock.unlock();
      try {
        task.task(session);
        task.done.set_value();
      } catch (...) {
        task.done.set_exception(std::current_exception());
      }
      lock.lock();
      busy_[replica] = 0;
      continue;
    }
    // Wait for a full batch until the oldest input has waited max_wait; when stopping, run now.
    const auto deadline = queue_.front().enqueued + options_.max_wait;
    wake_.wait_until(lock, deadline,
                     [&] { return stopping_ || ready_inputs() >= options_.max_batch; });
    // Another worker may have taken them meanwhile, or a caller this replica (run_when_idle).
    if (busy_[replica] || queue_.empty() || !queue_.front().input.defined()) continue;
    int64_t n = ready_inputs();
    if (options_.power_of_two_batches)
      while ((n & (n - 1)) != 0) n &= n - 1;  // clear low bits down to the highest one
    std::vector<Item> batch;
    batch.reserve(size_t(n));
    for (int64_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    ++batches_;
    inputs_ += n;
    busy_[replica] = 1;
    lock.unlock();
    run_batch(session, batch);
    lock.lock();
    busy_[replica] = 0;
  }
}

void Batcher::run_batch(const Session& session, std::vector<Item>& batch) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<BatchedResult> results(batch.size());
  try {
    std::vector<Tensor> inputs;
    inputs.reserve(batch.size());
    for (const Item& it : batch) inputs.push_back(it.input);
    const Tensor probs = session.probabilities(stack_inputs(inputs));
    const double model_ms = ms_between(start, std::chrono::steady_clock::now());
    for (size_t i = 0; i < batch.size(); ++i) {
      results[i].probabilities = probs.select(int64_t(i)).clone();
      results[i].batch_size = int64_t(batch.size());
      results[i].model_ms = model_ms;
      results[i].queue_ms = ms_between(batch[i].enqueued, start);
    }
    if (options_.on_batch) options_.on_batch(int64_t(batch.size()), model_ms);
  } catch (...) {
    for (Item& it : batch) it.result.set_exception(std::current_exception());
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].result.set_value(std::move(results[i]));
}

}  // namespace convkit::infer
