// infer::Batcher: inputs from many threads come back with exactly the answers of one forward pass
// each, while sharing passes; the queue bound, stop() draining, errors per batch, exclusive tasks.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "convkit/infer/batcher.h"
#include "convkit/models/registry.h"
#include "convkit/random.h"

namespace convkit {
namespace {

infer::ModelBundle small_bundle() {
  manual_seed(3);
  infer::ModelBundle b;
  b.module = models::create_model("small-cnn", {1, 5, 16});
  b.name = "small-cnn";
  b.in_channels = 1;
  b.image_size = 16;
  b.num_classes = 5;
  return b;
}

std::vector<Tensor> random_inputs(int n) {
  std::vector<Tensor> xs;
  for (int i = 0; i < n; ++i) xs.push_back(Tensor::randn({1, 16, 16}));
  return xs;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, double(std::abs(a.data<float>()[i] - b.data<float>()[i])));
  return m;
}

TEST(Batcher, ConcurrentInputsShareBatchesAndGetTheirOwnAnswers) {
  const infer::Session session(small_bundle());
  const std::vector<Tensor> xs = random_inputs(24);
  std::vector<Tensor> alone;
  for (const Tensor& x : xs) alone.push_back(session.probabilities(x.reshape({1, 1, 16, 16})));

  infer::BatcherOptions o;
  o.max_batch = 8;
  o.max_wait = std::chrono::milliseconds(50);
  std::atomic<int64_t> reported{0};
  o.on_batch = [&](int64_t n, double ms) {
    EXPECT_GE(ms, 0);
    reported += n;
  };
  infer::Batcher batcher(session, o);
  std::vector<infer::BatchedResult> got(xs.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = size_t(t); i < xs.size(); i += 6) got[i] = batcher.submit(xs[i]).get();
    });
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < xs.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_LE(max_abs_diff(got[i].probabilities, alone[i].reshape({5})), 1e-5);
    EXPECT_GE(got[i].batch_size, 1);
    EXPECT_LE(got[i].batch_size, 8);
  }
  EXPECT_EQ(batcher.inputs_run(), 24);
  EXPECT_EQ(reported.load(), 24);
  // Six callers at once with 50 ms to gather: passes are shared (24 alone would be 24 passes).
  EXPECT_LT(batcher.batches_run(), 24);
}

TEST(Batcher, ABatchOfOneRunsAtOnce) {
  const infer::Session session(small_bundle());
  infer::BatcherOptions o;
  o.max_batch = 1;
  o.max_wait = std::chrono::seconds(30);  // never waited for: the batch is full with one input
  infer::Batcher batcher(session, o);
  const auto start = std::chrono::steady_clock::now();
  for (const Tensor& x : random_inputs(3)) EXPECT_EQ(batcher.submit(x).get().batch_size, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(batcher.batches_run(), 3);
}

TEST(Batcher, AFullQueueRefusesAndStopFinishesWhatIsQueued) {
  const infer::Session session(small_bundle());
  infer::BatcherOptions o;
  o.max_batch = 4;
  o.max_wait = std::chrono::milliseconds(1);
  o.max_queue = 2;
  infer::Batcher batcher(session, o);
  // Hold the worker in a task so that the queue fills.
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  std::future<void> task = batcher.run_exclusive([&] {
    started.set_value();
    gate.wait();
  });
  started.get_future().wait();
  const std::vector<Tensor> xs = random_inputs(3);
  std::future<infer::BatchedResult> a = batcher.submit(xs[0]);
  std::future<infer::BatchedResult> b = batcher.submit(xs[1]);
  EXPECT_EQ(batcher.queue_depth(), 2u);
  try {
    batcher.submit(xs[2]);
    ADD_FAILURE() << "a third input was queued";
  } catch (const infer::QueueFull& e) {
    EXPECT_NE(std::string(e.what()).find("queue is full (2 waiting)"), std::string::npos)
        << e.what();
  }
  release.set_value();
  batcher.stop();  // both queued inputs still run
  task.get();
  EXPECT_EQ(a.get().probabilities.numel(), 5);
  EXPECT_EQ(b.get().probabilities.numel(), 5);
  EXPECT_THROW(batcher.submit(xs[2]), infer::QueueFull);
  EXPECT_THROW(batcher.run_exclusive([] {}), infer::QueueFull);
}

TEST(Batcher, AnInputThatDoesNotFitFailsAloneWithTheModelsMessage) {
  const infer::Session session(small_bundle());
  infer::BatcherOptions o;
  o.max_wait = std::chrono::milliseconds(20);
  infer::Batcher batcher(session, o);
  std::future<infer::BatchedResult> bad = batcher.submit(Tensor::randn({3, 16, 16}));
  std::future<infer::BatchedResult> good = batcher.submit(Tensor::randn({1, 16, 16}));
  try {
    bad.get();
    ADD_FAILURE() << "a 3-channel input ran through a 1-channel model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("small-cnn"), std::string::npos) << e.what();
  }
  EXPECT_EQ(good.get().probabilities.numel(), 5);  // another shape: its own batch
  std::future<void> failing = batcher.run_exclusive([] { throw Error("task failed"); });
  EXPECT_THROW(failing.get(), Error);
  EXPECT_THROW(batcher.submit(Tensor::randn({16, 16})), Error);  // not [C, H, W]
}

// Two replicas (two workers, one kernel thread each): every answer is its own input's, both
// workers run batches, tasks get a replica's session, and each worker warms up first.
TEST(Batcher, ReplicasShareTheQueueAndAnswerLikeOneSession) {
  const infer::Session a(small_bundle()), b(small_bundle());
  const std::vector<Tensor> xs = random_inputs(40);
  std::vector<Tensor> alone;
  for (const Tensor& x : xs) alone.push_back(a.probabilities(x.reshape({1, 1, 16, 16})));
  infer::BatcherOptions o;
  o.max_batch = 4;
  o.threads = 1;
  std::mutex mu;
  std::set<const infer::Session*> warmed, ran;
  o.warm_up = [&](const infer::Session& s) {
    std::lock_guard<std::mutex> lock(mu);
    warmed.insert(&s);
  };
  infer::Batcher batcher(std::vector<const infer::Session*>{&a, &b}, o);
  EXPECT_EQ(batcher.workers(), 2u);
  EXPECT_EQ(warmed, (std::set<const infer::Session*>{&a, &b})) << "the constructor waits for both";
  // Hold one worker in a task: the other must run the inputs meanwhile.
  std::promise<void> release, started;
  std::shared_future<void> gate = release.get_future().share();
  std::future<void> task = batcher.run_exclusive([&](const infer::Session& s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ran.insert(&s);
    }
    started.set_value();
    gate.wait();
  });
  started.get_future().wait();
  std::vector<infer::BatchedResult> got(xs.size());
  for (size_t i = 0; i < 8; ++i) got[i] = batcher.submit(xs[i]).get();  // the free worker only
  release.set_value();
  task.get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = 8 + size_t(t); i < xs.size(); i += 4) got[i] = batcher.submit(xs[i]).get();
    });
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_LE(max_abs_diff(got[i].probabilities, alone[i].reshape({5})), 1e-5) << i;
  EXPECT_EQ(batcher.inputs_run(), 40);
  EXPECT_EQ(ran.size(), 1u);
}

// run_when_idle: a lone input runs on the caller's thread; under contention from many callers the
// replicas are never used by two threads at once (every answer is its own input's), and a replica
// that a caller holds takes no queued work until it is back.
TEST(Batcher, AnInputThatFindsAnIdleReplicaRunsOnTheCallersThread) {
  const infer::Session a(small_bundle()), b(small_bundle());
  const std::vector<Tensor> xs = random_inputs(64);
  std::vector<Tensor> alone;
  for (const Tensor& x : xs) alone.push_back(a.probabilities(x.reshape({1, 1, 16, 16})));
  infer::BatcherOptions o;
  o.max_batch = 4;
  o.threads = 1;
  o.run_when_idle = true;
  std::mutex mu;
  std::set<std::thread::id> batch_threads;
  o.on_batch = [&](int64_t, double) {
    std::lock_guard<std::mutex> lock(mu);
    batch_threads.insert(std::this_thread::get_id());
  };
  infer::Batcher batcher(std::vector<const infer::Session*>{&a, &b}, o);
  std::future<infer::BatchedResult> f = batcher.submit(xs[0]);
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "ran in submit";
  EXPECT_LE(max_abs_diff(f.get().probabilities, alone[0].reshape({5})), 1e-5);
  EXPECT_EQ(batch_threads, std::set<std::thread::id>{std::this_thread::get_id()});

  std::vector<infer::BatchedResult> got(xs.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = 1 + size_t(t); i < xs.size(); i += 8) got[i] = batcher.submit(xs[i]).get();
    });
  for (auto& th : threads) th.join();
  for (size_t i = 1; i < xs.size(); ++i)
    EXPECT_LE(max_abs_diff(got[i].probabilities, alone[i].reshape({5})), 1e-5) << i;
  EXPECT_EQ(batcher.inputs_run(), 64);

  o.threads = 2;  // a caller's thread runs one kernel thread: with more, everything queues
  batch_threads.clear();
  infer::Batcher two(std::vector<const infer::Session*>{&a}, o);
  two.submit(xs[0]).get();
  EXPECT_EQ(batch_threads.count(std::this_thread::get_id()), 0u);
}

TEST(Batcher, ReplicasAndWarmUpFailuresAreChecked) {
  const infer::Session a(small_bundle());
  infer::BatcherOptions o;
  try {
    infer::Batcher(std::vector<const infer::Session*>{&a, &a}, o);
    ADD_FAILURE() << "one session given twice was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("are the same session"), std::string::npos) << e.what();
  }
  EXPECT_THROW(infer::Batcher(std::vector<const infer::Session*>{}, o), Error);
  o.warm_up = [](const infer::Session&) { throw Error("warm-up failed"); };
  try {
    infer::Batcher batcher(a, o);
    ADD_FAILURE() << "a failed warm-up was not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("warm-up failed"), std::string::npos) << e.what();
  }
}

TEST(Batcher, OptionsAreChecked) {
  const infer::Session session(small_bundle());
  infer::BatcherOptions o;
  o.max_batch = 0;
  EXPECT_THROW(infer::Batcher(session, o), Error);
  o.max_batch = 1;
  o.max_queue = 0;
  EXPECT_THROW(infer::Batcher(session, o), Error);
}

}  // namespace
}  // namespace convkit
