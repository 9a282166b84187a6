#pragma once
// `convkit serve`'s HTTP layer (cpp-httplib) over infer::Session and infer::Batcher; the routes
// and limits are in docs/serving.md.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "convkit/infer/batcher.h"
#include "convkit/infer/session.h"
#include "serve_metrics.h"

namespace httplib {
class Server;
}

namespace convkit::cli {

struct ServeConfig {
  std::string host = "127.0.0.1";  // loopback unless the user opens it up
  int port = 8080;                 // 0: any free port (printed)
  int workers = 64;                // HTTP threads: each keep-alive client holds one
  int model_workers = 1;           // copies of the model, each run by its own batch worker
  size_t max_body_bytes = size_t(16) << 20;
  int64_t max_pixels = 25'000'000;  // decompression bombs: refused before decoding
  int timeout_seconds = 30;         // reading a request, and waiting for the model
  int64_t top_k = 5;
  int64_t max_files = 64;  // images per /v1/predict/batch request
  infer::BatcherOptions batching;
};

class ModelServer {
 public:
  // `checksum` identifies the model file (GET /v1/model), e.g. "sha256:...". `replicas`: one
  // session per model worker (infer::Batcher), copies of one model; they outlive the server.
  ModelServer(const std::vector<const infer::Session*>& replicas, ServeConfig config,
              std::string checksum);
  ~ModelServer();

  // Binds host:port; returns the port (the chosen one for port 0). Throws convkit::Error naming
  // the address when it cannot bind.
  int bind();
  // Serves until stop(); in-flight requests are finished before it returns.
  void listen();
  // Safe from any thread (the signal thread).
  void stop();

 private:
  void install_routes();

  const infer::Session& session_;
  ServeConfig config_;
  std::string checksum_;
  ServeMetrics metrics_;
  std::unique_ptr<infer::Batcher> batcher_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<int64_t> in_flight_{0};
  int listen_fd_ = -1;  // the listening socket, seen by the socket-options callback before bind
};

}  // namespace convkit::cli
