#include "convkit/dist/data_parallel.h"

#include <cstring>
#include <vector>

#include "convkit/random.h"

namespace convkit::dist {

namespace {
using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Every tensor's bytes, one after the other: what a broadcast carries.
std::vector<char> pack(const std::vector<Tensor>& tensors) {
  size_t total = 0;
  for (const Tensor& t : tensors) total += t.nbytes();
  std::vector<char> bytes(total);
  size_t at = 0;
  for (const Tensor& t : tensors) {
    std::memcpy(bytes.data() + at, t.raw_data(), t.nbytes());
    at += t.nbytes();
  }
  return bytes;
}

void unpack(const std::vector<char>& bytes, std::vector<Tensor>& tensors) {
  size_t at = 0;
  for (Tensor& t : tensors) {
    // copy_ is the in-place write every cached form of a tensor (a reordered weight) notices.
    t.copy_(Tensor::from_blob(const_cast<char*>(bytes.data()) + at, t.shape(), t.dtype()));
    at += t.nbytes();
  }
}

void broadcast_tensors(Communicator& comm, std::vector<Tensor> tensors, int root,
                       const std::string& what) {
  std::vector<char> bytes = pack(tensors);
  comm.broadcast(bytes.data(), int64_t(bytes.size()), root, what);
  if (comm.rank() != root) unpack(bytes, tensors);
}

std::vector<Tensor> buffers_of(const nn::Module& model) {
  std::vector<Tensor> out;
  for (auto& [name, b] : model.named_buffers()) out.push_back(b);
  return out;
}
}  // namespace

void broadcast_module(Communicator& comm, nn::Module& model, int root) {
  std::vector<Tensor> all = model.parameters();
  for (Tensor& b : buffers_of(model)) all.push_back(b);
  broadcast_tensors(comm, all, root,
                    "the broadcast of rank " + std::to_string(root) + "'s weights");
}

struct DataParallel::Buckets {
  struct Param {
    Tensor tensor;
    size_t bucket = 0;
    int64_t offset = 0;  // in the bucket, in elements
    bool ready = false;  // its gradient is in the bucket this step
  };
  struct Bucket {
    std::vector<float> data;
    std::vector<size_t> members;  // indices into params
    size_t pending = 0;           // members whose gradient has not arrived this step
    Work work;
  };

  Communicator* comm = nullptr;
  bool overlap = true;
  bool armed = false;  // between on_step_begin and on_after_backward: the hooks fill buckets
  std::vector<Param> params;
  std::vector<Bucket> buckets;
  size_t next_start = 0;  // buckets start in index order on every rank (collectives must match)
  bool any_gradient = false;
  Clock::time_point first_gradient{};
  DataParallelStats stats;

  void arm() {
    for (Param& p : params) p.ready = false;
    for (Bucket& b : buckets) {
      b.pending = b.members.size();
    }
    next_start = 0;
    any_gradient = false;
    armed = true;
  }

  void on_gradient(size_t i, const Tensor& g) {
    if (!armed) return;  // a backward outside a training step (Grad-CAM, a gradient check)
    Param& p = params[i];
    if (p.ready) return;
    CONVKIT_CHECK(g.dtype() == DType::f32 && g.numel() == p.tensor.numel(),
                  "data-parallel: the gradient of a parameter of shape ",
                  p.tensor.shape().to_string(), " arrived as ", dtype_name(g.dtype()), " ",
                  g.shape().to_string());
    if (!any_gradient) {
      any_gradient = true;
      first_gradient = Clock::now();
    }
    Bucket& b = buckets[p.bucket];
    std::memcpy(b.data.data() + p.offset, g.raw_data(), size_t(g.numel()) * sizeof(float));
    p.ready = true;
    --b.pending;
    if (overlap) start_ready();
  }

  // Starts, in index order, every bucket whose gradients have all arrived.
  void start_ready() {
    while (next_start < buckets.size() && buckets[next_start].pending == 0) start(next_start++);
  }
  void start(size_t k) {
    Bucket& b = buckets[k];
    b.work =
        comm->allreduce_sum_async(b.data.data(), int64_t(b.data.size()),
                                  "the all-reduce of gradient bucket " + std::to_string(k + 1) +
                                      " of " + std::to_string(buckets.size()) + " (" +
                                      std::to_string(b.data.size() * 4 / 1024) + " KiB)");
  }
};

DataParallel::DataParallel(CommunicatorPtr comm, DataParallelOptions options)
    : comm_(std::move(comm)), opt_(options), buckets_(std::make_shared<Buckets>()) {
  CONVKIT_CHECK(comm_ != nullptr, "DataParallel: null communicator");
  CONVKIT_CHECK(opt_.bucket_mb > 0, "DataParallel: bucket size must be positive, got ",
                opt_.bucket_mb, " MB");
  buckets_->comm = comm_.get();
  buckets_->overlap = opt_.overlap;
}

DataParallel::~DataParallel() = default;

const DataParallelStats& DataParallel::stats() const { return buckets_->stats; }

void DataParallel::on_train_begin(train::TrainContext& ctx) {
  ctx.interrupt_is_collective = true;
  ctx.is_writer = comm_->rank() == 0;
  broadcast_module(*comm_, ctx.model);
  if (!buckets_->params.empty()) return;  // hooked by an earlier run() of this trainer

  // Buckets over the trainable parameters in reverse order: backward reaches the last layers
  // first, so the first bucket fills first.
  Buckets& bk = *buckets_;
  const auto limit = int64_t(opt_.bucket_mb * 1e6 / sizeof(float));
  std::vector<Tensor> trainable;
  for (const Tensor& p : ctx.model.parameters())
    if (p.requires_grad()) trainable.push_back(p);
  for (auto it = trainable.rbegin(); it != trainable.rend(); ++it) {
    if (bk.buckets.empty() || int64_t(bk.buckets.back().data.size()) >= limit)
      bk.buckets.emplace_back();
    Buckets::Bucket& b = bk.buckets.back();
    bk.params.push_back({*it, bk.buckets.size() - 1, int64_t(b.data.size()), false});
    b.members.push_back(bk.params.size() - 1);
    b.data.resize(b.data.size() + size_t(it->numel()));
  }
  bk.stats.buckets = int64_t(bk.buckets.size());
  for (const auto& b : bk.buckets) bk.stats.gradient_bytes += int64_t(b.data.size() * 4);
  std::weak_ptr<Buckets> weak = buckets_;
  for (size_t i = 0; i < bk.params.size(); ++i)
    bk.params[i].tensor.register_hook([weak, i](const Tensor& g) {
      if (auto b = weak.lock()) b->on_gradient(i, g);
      return Tensor();
    });
}

void DataParallel::on_epoch_begin(train::TrainContext& ctx) {
  // Each rank its own dropout masks, the same ones again when the epoch is run again (resume).
  default_generator().seed(splitmix64(
      opt_.seed ^ splitmix64(uint64_t(ctx.state.epoch) * 0x10001 + uint64_t(comm_->rank()))));
}

void DataParallel::on_step_begin(train::TrainContext& ctx) {
  if (opt_.broadcast_buffers) {
    std::vector<Tensor> buffers = buffers_of(ctx.model);
    if (!buffers.empty())
      broadcast_tensors(*comm_, buffers, 0, "the broadcast of rank 0's batch-norm statistics");
  }
  buckets_->arm();
}

void DataParallel::on_after_backward(train::TrainContext& ctx) {
  Buckets& bk = *buckets_;
  const auto t_end = Clock::now();
  if (bk.any_gradient) bk.stats.backward_seconds += seconds(t_end - bk.first_gradient);
  bk.armed = false;
  // Parameters that got no gradient on this rank add zeros; the rest start now.
  for (Buckets::Bucket& b : bk.buckets) {
    for (size_t m : b.members)
      if (!bk.params[m].ready)
        std::fill_n(b.data.begin() + bk.params[m].offset, bk.params[m].tensor.numel(), 0.f);
    b.pending = 0;
  }
  bk.start_ready();

  // One small all-reduce: stop request, examples, the example-weighted loss and logs, and which
  // parameters had a gradient anywhere.
  train::StepResult& r = *ctx.result;
  const double n = double(r.examples);
  std::vector<double> small = {ctx.interrupt ? 1.0 : 0.0, n, r.loss.item() * n};
  for (const auto& [name, v] : r.logs) small.push_back(v * n);
  const size_t presence = small.size();
  for (const auto& p : bk.params) small.push_back(p.ready ? 1.0 : 0.0);
  comm_->allreduce_sum(small.data(), int64_t(small.size()), "the all-reduce of the step's logs");

  for (Buckets::Bucket& b : bk.buckets) b.work.wait();
  bk.stats.exposed_seconds += seconds(Clock::now() - t_end);
  ++bk.stats.steps;

  const float inv = 1.0f / float(comm_->size());
  for (size_t i = 0; i < bk.params.size(); ++i) {
    if (small[presence + i] == 0) continue;  // no rank has a gradient: leave it undefined
    Buckets::Param& p = bk.params[i];
    const float* src = bk.buckets[p.bucket].data.data() + p.offset;
    Tensor g = p.tensor.grad();
    if (!g.defined()) g = Tensor::empty(p.tensor.shape());
    float* dst = g.data<float>();
    for (int64_t k = 0; k < g.numel(); ++k) dst[k] = src[k] * inv;
    p.tensor.set_grad(g);
  }
  ctx.interrupt = small[0] > 0;
  const double total = small[1];
  r.examples = int64_t(total);
  if (total > 0) {
    r.loss = Tensor::full(r.loss.shape(), small[2] / total);
    size_t k = 3;
    for (auto& [name, v] : r.logs) v = small[k++] / total;
  }
}

train::Logs ReducedTask::evaluate(nn::Module& model, data::DataLoader& loader) {
  const auto n = int64_t(loader.epoch_order(0).size());  // this rank's share
  const std::vector<std::string> names = inner_.metric_names();
  std::vector<double> sums(names.size() + 1, 0.0);
  sums[0] = double(n);
  if (n > 0) {
    const train::Logs logs = inner_.evaluate(model, loader);
    for (size_t i = 0; i < names.size(); ++i) {
      auto it = logs.find(names[i]);
      CONVKIT_CHECK(it != logs.end(), "ReducedTask: the task's evaluate() returned no '", names[i],
                    "', one of its metric_names()");
      sums[i + 1] = it->second * double(n);
    }
  }
  comm_->allreduce_sum(sums.data(), int64_t(sums.size()), "the all-reduce of validation metrics");
  train::Logs out;
  for (size_t i = 0; i < names.size(); ++i)
    out[names[i]] = sums[0] > 0 ? sums[i + 1] / sums[0] : 0.0;
  return out;
}

}  // namespace convkit::dist
