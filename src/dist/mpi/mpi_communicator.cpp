// MPI_COMM_WORLD as a Communicator. One thread owns MPI: it initializes it, starts every
// collective as a nonblocking MPI call in the order they were issued, polls them (sleeping between
// polls, so a waiting rank does not take a core from the kernels), and finalizes MPI at the end.
// The training thread only queues work and waits, so a gradient bucket's all-reduce runs while
// backward computes the next one (docs/distributed.md).
// The C API only: the deprecated C++ bindings do not compile cleanly under -Wextra.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "../work_state.h"
#include "convkit/dist/communicator.h"

namespace convkit::dist {

bool mpi_built() { return true; }

namespace {

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, size_t(len));
}

// MPI takes int counts; larger buffers go in pieces (each its own request).
constexpr int64_t kMaxCount = int64_t(1) << 30;

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_seconds) : timeout_(timeout_seconds) {
    CONVKIT_CHECK(timeout_seconds > 0, "dist: the collective timeout must be positive, got ",
                  timeout_seconds);
    thread_ = std::thread([this] { loop(); });
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return started_; });
    if (!start_error_.empty()) {
      lock.unlock();
      thread_.join();
      throw Error("MPI did not start: " + start_error_);
    }
  }
  ~MpiCommunicator() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  double timeout_seconds() const override { return timeout_; }

  Work allreduce_sum_async(float* data, int64_t n, const std::string& what) override {
    return allreduce(data, n, MPI_FLOAT, sizeof(float), what);
  }
  Work allreduce_sum_async(double* data, int64_t n, const std::string& what) override {
    return allreduce(data, n, MPI_DOUBLE, sizeof(double), what);
  }
  Work broadcast_async(void* data, int64_t bytes, int root, const std::string& what) override {
    CONVKIT_CHECK(root >= 0 && root < size_ && bytes >= 0, what, ": broadcast from rank ", root,
                  " of ", bytes, " bytes in a world of ", size_);
    return submit(what, [=](std::vector<MPI_Request>& reqs) {
      auto* p = static_cast<char*>(data);
      for (int64_t done = 0; done < bytes; done += kMaxCount) {
        MPI_Request r;
        const int count = int(std::min(kMaxCount, bytes - done));
        if (int rc = MPI_Ibcast(p + done, count, MPI_BYTE, root, MPI_COMM_WORLD, &r)) return rc;
        reqs.push_back(r);
      }
      return int(MPI_SUCCESS);
    });
  }

  [[noreturn]] void abort(int exit_code) override {
    std::fflush(nullptr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this is for a library that would
  }

 private:
  using Start = std::function<int(std::vector<MPI_Request>&)>;
  struct Op {
    Start start;
    std::shared_ptr<Work::State> state;
    std::vector<MPI_Request> requests{};
  };

  Work allreduce(void* data, int64_t n, MPI_Datatype type, size_t elem, const std::string& what) {
    CONVKIT_CHECK(n >= 0, what, ": negative element count ", n);
    return submit(what, [=](std::vector<MPI_Request>& reqs) {
      auto* p = static_cast<char*>(data);
      for (int64_t done = 0; done < n; done += kMaxCount) {
        MPI_Request r;
        const int count = int(std::min(kMaxCount, n - done));
        if (int rc = MPI_Iallreduce(MPI_IN_PLACE, p + done * int64_t(elem), count, type, MPI_SUM,
                                    MPI_COMM_WORLD, &r))
          return rc;
        reqs.push_back(r);
      }
      return int(MPI_SUCCESS);
    });
  }

  Work submit(const std::string& what, Start start) {
    // A late or failed collective ends the job from here: unwinding would free buffers MPI may
    // still write, and MPI cannot cancel a collective.
    auto state = std::make_shared<Work::State>(what, timeout_, rank_, [this](const std::string& m) {
      std::fprintf(stderr, "convkit: rank %d of %d: error: %s\n", rank_, size_, m.c_str());
      abort(1);
    });
    {
      std::lock_guard lock(mu_);
      CONVKIT_CHECK(!stopping_, what, ": the communicator is shutting down");
      queue_.push_back({std::move(start), state});
    }
    cv_.notify_all();
    return Work(state);
  }

  // The communication thread.
  void loop() {
    int provided = 0;
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(MPI_COMM_WORLD, &size_);
    {
      std::lock_guard lock(mu_);
      if (rc != MPI_SUCCESS) start_error_ = mpi_error(rc);
      started_ = true;
    }
    cv_.notify_all();
    if (rc != MPI_SUCCESS) return;

    std::deque<Op> running;
    auto sleep_us = 0;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        // Nothing in flight: sleep until work arrives (no polling while idle).
        if (running.empty()) cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (running.empty() && queue_.empty() && stopping_) break;
        while (!queue_.empty()) {
          running.push_back(std::move(queue_.front()));
          queue_.pop_front();
          Op& op = running.back();
          if (int e = op.start(op.requests)) {
            op.state->finish(mpi_error(e));
            running.pop_back();
          }
        }
      }
      // Collectives complete in the order they were started on every rank, so polling the oldest
      // is enough; MPI_Test also moves the others along.
      bool progressed = false;
      while (!running.empty()) {
        Op& op = running.front();
        int flag = 0;
        int e =
            MPI_Testall(int(op.requests.size()), op.requests.data(), &flag, MPI_STATUSES_IGNORE);
        if (e != MPI_SUCCESS) {
          op.state->finish(mpi_error(e));
        } else if (flag) {
          op.state->finish();
        } else {
          break;
        }
        running.pop_front();
        progressed = true;
      }
      if (progressed || running.empty()) {
        sleep_us = 0;
        continue;
      }
      // Back off from a busy poll to 200 us: a peer still computing its part should get the core.
      if (sleep_us == 0) {
        std::this_thread::yield();
        sleep_us = 10;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
        sleep_us = std::min(sleep_us * 2, 200);
      }
    }
    MPI_Finalize();
  }

  const double timeout_;
  int rank_ = 0, size_ = 1;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool started_ = false, stopping_ = false;
  std::string start_error_;
};

std::mutex world_mu;
std::weak_ptr<MpiCommunicator> world_comm;
bool world_finalized = false;

}  // namespace

CommunicatorPtr mpi_world(double timeout_seconds) {
  std::lock_guard lock(world_mu);
  if (auto c = world_comm.lock()) return c;
  CONVKIT_CHECK(!world_finalized,
                "dist::mpi_world: MPI was finalized when the last communicator was released; it "
                "cannot start again in this process");
  auto c = std::shared_ptr<MpiCommunicator>(new MpiCommunicator(timeout_seconds),
                                            [](MpiCommunicator* p) {
                                              delete p;
                                              std::lock_guard l(world_mu);
                                              world_finalized = true;
                                            });
  world_comm = c;
  return c;
}

}  // namespace convkit::dist
