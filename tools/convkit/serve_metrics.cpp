#include "serve_metrics.h"

#include <cstdio>

namespace convkit::cli {

template <size_t N>
void ServeMetrics::Histogram<N>::add(const std::array<double, N>& bounds, double v) {
  for (size_t i = 0; i < N; ++i)
    if (v <= bounds[i]) {
      ++counts[i];
      break;
    }
  ++count;  // values above the last bound count only in +Inf
  sum += v;
}

void ServeMetrics::observe_request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  latency_.add(kLatencyBuckets, seconds);
}

void ServeMetrics::observe_batch(int64_t batch_size, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_size_.add(kBatchBuckets, double(batch_size));
  model_seconds_ += seconds;
}

namespace {
std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

template <size_t N, class H>
void histogram(std::string& out, const char* name, const char* help,
               const std::array<double, N>& bounds, const H& h) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < N; ++i) {
    cumulative += h.counts[i];
    out += std::string(name) + "_bucket{le=\"" + number(bounds[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
  out += std::string(name) + "_sum " + number(h.sum) + "\n";
  out += std::string(name) + "_count " + std::to_string(h.count) + "\n";
}
}  // namespace

std::string ServeMetrics::prometheus(size_t queue_depth, int64_t in_flight) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out =
      "# HELP convkit_requests_total Requests answered, by route and HTTP status code.\n"
      "# TYPE convkit_requests_total counter\n";
  uint64_t errors = 0;
  for (const auto& [key, n] : requests_) {
    out += "convkit_requests_total{route=\"" + key.first + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
    if (key.second >= 400) errors += n;
  }
  out +=
      "# HELP convkit_request_errors_total Requests answered with a 4xx or 5xx status.\n"
      "# TYPE convkit_request_errors_total counter\n"
      "convkit_request_errors_total " +
      std::to_string(errors) + "\n";
  histogram(out, "convkit_request_duration_seconds", "Time from a request's arrival to its answer.",
            kLatencyBuckets, latency_);
  histogram(out, "convkit_batch_size", "Inputs per forward pass (micro-batching).", kBatchBuckets,
            batch_size_);
  out +=
      "# HELP convkit_model_seconds_total Time spent in forward passes.\n"
      "# TYPE convkit_model_seconds_total counter\n"
      "convkit_model_seconds_total " +
      number(model_seconds_) +
      "\n"
      "# HELP convkit_queue_depth Inputs waiting for a forward pass.\n"
      "# TYPE convkit_queue_depth gauge\n"
      "convkit_queue_depth " +
      std::to_string(queue_depth) +
      "\n"
      "# HELP convkit_requests_in_flight Requests being handled.\n"
      "# TYPE convkit_requests_in_flight gauge\n"
      "convkit_requests_in_flight " +
      std::to_string(in_flight) + "\n";
  return out;
}

}  // namespace convkit::cli
