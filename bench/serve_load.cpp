// Load generator for `convkit serve` (bench/serve_load.sh): N clients, each on its own keep-alive
// connection, POST one image to /v1/predict back to back for T seconds. Prints one JSON line per
// client count: requests/s, latency p50/p99 (ms), non-200 answers, the server's mean batch size
// over the run (from /metrics), and the medians of the server's own latency_ms of each answer
// (total: from the request's arrival to the answer; model: the batch's forward), which split the
// client's latency into HTTP/client time and server time.
// Usage: serve_load PORT IMAGE SECONDS CLIENTS... (to 127.0.0.1 only)
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {
// The value of a Prometheus line "name value" (0 when absent).
double metric(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::stod(text.substr(at + name.size() + 2));
}

// The number after "key": in an answer's JSON (-1 when absent).
double json_number(const std::string& body, const std::string& key) {
  const auto at = body.find("\"" + key + "\":");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + key.size() + 3));
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: serve_load PORT IMAGE SECONDS CLIENTS...\n");
    return 2;
  }
  const int port = std::stoi(argv[1]);
  std::ifstream f(argv[2], std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string image = ss.str();
  const double seconds = std::stod(argv[3]);
  for (int a = 4; a < argc; ++a) {
    const int clients = std::stoi(argv[a]);
    httplib::Client probe("127.0.0.1", port);
    const auto before = probe.Get("/metrics");
    std::vector<std::vector<double>> lat(static_cast<size_t>(clients)),
        server_total(static_cast<size_t>(clients)), model(static_cast<size_t>(clients));
    std::atomic<int64_t> failed{0};
    std::mutex first_failure_mu;
    std::string first_failure;
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&, c] {
        httplib::Client cli("127.0.0.1", port);
        cli.set_keep_alive(true);
        cli.set_tcp_nodelay(true);
        cli.set_read_timeout(60, 0);
        int64_t sent = 0;  // this client's requests so far: a failure's position in its run
        while (Clock::now() < end) {
          ++sent;
          const auto t0 = Clock::now();
          const auto r = cli.Post("/v1/predict", image, "image/png");
          const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (!r || r->status != 200) {
            if (failed++ == 0) {  // the first failure's reason, for the report
              std::lock_guard<std::mutex> lock(first_failure_mu);
              first_failure =
                  r ? "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 120)
                    : "no answer: " + httplib::to_string(r.error());
              first_failure +=
                  " (client " + std::to_string(c) + ", its request " + std::to_string(sent) + ")";
            }
          } else {
            lat[size_t(c)].push_back(ms);
            server_total[size_t(c)].push_back(json_number(r->body, "total"));
            model[size_t(c)].push_back(json_number(r->body, "model"));
          }
        }
      });
    for (auto& t : threads) t.join();
    const auto after = probe.Get("/metrics");
    std::vector<double> all, totals, models;
    for (const auto& l : lat) all.insert(all.end(), l.begin(), l.end());
    for (const auto& l : server_total) totals.insert(totals.end(), l.begin(), l.end());
    for (const auto& l : model) models.insert(models.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
      return all.empty() ? 0.0 : all[std::min(all.size() - 1, size_t(p * double(all.size())))];
    };
    double mean_batch = 0;
    if (before && after) {
      const double n = metric(after->body, "convkit_batch_size_count") -
                       metric(before->body, "convkit_batch_size_count");
      const double sum = metric(after->body, "convkit_batch_size_sum") -
                         metric(before->body, "convkit_batch_size_sum");
      mean_batch = n > 0 ? sum / n : 0;
    }
    std::printf(
        "{\"clients\": %d, \"seconds\": %.1f, \"requests\": %zu, \"failed\": %lld, "
        "\"requests_per_s\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"mean_batch\": %.2f, "
        "\"server_total_p50_ms\": %.3f, \"model_p50_ms\": %.3f}\n",
        clients, seconds, all.size(), (long long)failed.load(), double(all.size()) / seconds,
        pct(0.5), pct(0.99), mean_batch, median(totals), median(models));
    if (failed > 0) std::fprintf(stderr, "first failure: %s\n", first_failure.c_str());
    std::fflush(stdout);
  }
}
