#pragma once
// The server's counters, in Prometheus' text exposition format (GET /metrics): requests by route
// and status code, request latency and batch size histograms, the model's time, the queue depth.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace convkit::cli {

class ServeMetrics {
 public:
  // One answered request: its route ("/v1/predict"; unknown paths count as "other"), HTTP status
  // and wall time from the request's arrival to its answer.
  void observe_request(const std::string& route, int status, double seconds);
  // One forward pass of `batch_size` inputs taking `seconds`.
  void observe_batch(int64_t batch_size, double seconds);
  // Everything, with `queue_depth` and `in_flight` as gauges.
  std::string prometheus(size_t queue_depth, int64_t in_flight) const;

  // Latency bucket upper bounds in seconds (Prometheus' defaults), and batch size buckets.
  static constexpr std::array<double, 11> kLatencyBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1,    2.5,   5,    10};
  static constexpr std::array<double, 7> kBatchBuckets{1, 2, 4, 8, 16, 32, 64};

 private:
  template <size_t N>
  struct Histogram {
    std::array<uint64_t, N> counts{};  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;
    void add(const std::array<double, N>& bounds, double v);
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  Histogram<kLatencyBuckets.size()> latency_;
  Histogram<kBatchBuckets.size()> batch_size_;
  double model_seconds_ = 0;
};

}  // namespace convkit::cli
