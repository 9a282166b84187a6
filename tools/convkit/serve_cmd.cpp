// convkit serve: a model over HTTP (serve_server.cpp; docs/serving.md). SIGTERM or SIGINT stop
// taking connections, finish the requests in flight, and exit 0.
#include <omp.h>
#include <openssl/evp.h>
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "commands.h"
#include "convkit/error.h"
#include "precision.h"
#include "serve_server.h"

namespace convkit::cli {

namespace {
struct ServeArgs {
  ModelArgs model;
  ServeConfig config;
  double max_body_mb = 16;
  double batch_wait_ms = 0;
  RuntimeOptions runtime;
  PrecisionArgs precision;
  ImageDataArgs images;  // for --int8-data
};

// "sha256:<hex>" of the model file, as `sha256sum` prints it.
std::string file_sha256(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  CONVKIT_CHECK(f, "serve: cannot read ", path);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (f.read(buf.data(), std::streamsize(buf.size())) || f.gcount() > 0)
    EVP_DigestUpdate(ctx, buf.data(), size_t(f.gcount()));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  std::string hex = "sha256:";
  for (unsigned int i = 0; i < n; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

void run_serve(ServeArgs& a) {
  CONVKIT_CHECK(a.max_body_mb > 0, "serve: --max-body-mb must be positive");
  a.config.max_body_bytes = size_t(a.max_body_mb * (1 << 20));
  a.config.batching.max_wait = std::chrono::microseconds(int64_t(a.batch_wait_ms * 1000));
  // Signals go to one thread, which stops the server (nothing else is safe in a handler). Blocked
  // before any thread starts, so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  apply_runtime_options(a.runtime);
  // The kernel threads go to the batcher's forward passes; this thread (loading) and the HTTP
  // threads run one each, so that the process holds no more OpenMP threads than that
  // (BatcherOptions::threads says why).
  CONVKIT_CHECK(a.config.model_workers >= 1 && a.config.model_workers <= omp_get_max_threads(),
                "serve: --model-workers must be from 1 to the kernel threads (",
                omp_get_max_threads(), "), got ", a.config.model_workers);
  a.config.batching.threads = omp_get_max_threads() / a.config.model_workers;
  omp_set_num_threads(1);

  std::vector<std::unique_ptr<infer::Session>> sessions;
  std::vector<const infer::Session*> replicas;
  infer::SessionOptions options;  // the first worker's (int8: its calibration images) for all
  for (int w = 0; w < a.config.model_workers; ++w) {
    infer::ModelBundle bundle = load_model_argument(a.model);
    if (w == 0) options = session_options(a.precision, bundle, a.images);
    sessions.push_back(std::make_unique<infer::Session>(std::move(bundle), options));
    replicas.push_back(sessions.back().get());
  }
  ModelServer server(replicas, a.config, file_sha256(a.model.path));
  const int port = server.bind();
  const infer::ModelBundle& b = sessions[0]->bundle();
  std::printf("convkit serve: %s, %lld classes, input %lld x %lld x %lld\n", b.describe().c_str(),
              (long long)b.num_classes, (long long)b.in_channels, (long long)b.image_size,
              (long long)b.image_size);
  std::printf("listening on http://%s:%d/ (POST /v1/predict; Ctrl-C or SIGTERM stops)\n",
              a.config.host.c_str(), port);
  std::fflush(stdout);

  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig != 0) {
      std::fprintf(stderr, "convkit serve: %s: finishing the requests in flight\n",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
      server.stop();
    }
  });
  server.listen();
  // listen() also returns when the server fails; wake the signal thread so it can be joined.
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  std::printf("convkit serve: stopped\n");
}
}  // namespace

void add_serve(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Serve a model over HTTP (JSON API and a web page)");
  add_model_argument(*cmd, a->model);
  ServeConfig& c = a->config;
  cmd->add_option("--host", c.host, "Address to listen on (0.0.0.0 opens it to the network)")
      ->capture_default_str();
  cmd->add_option("--port,-p", c.port, "Port (0: any free port, printed)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--workers", c.workers, "HTTP threads (each keep-alive client holds one)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--model-workers", c.model_workers,
                  "Copies of the model, each running batches on its share of --threads: more "
                  "throughput for small models under load (docs/serving.md)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--top-k,-k", c.top_k, "Classes per answer unless ?top_k= says otherwise")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  const char* lim = "Batching and limits";
  cmd->add_option("--max-batch", c.batching.max_batch, "Images per forward pass")
      ->group(lim)
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--batch-wait-ms", a->batch_wait_ms,
                  "Longest an image waits for others to share its forward pass")
      ->group(lim)
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10000.0));
  c.batching.run_when_idle = true;
  cmd->add_flag("--always-queue{false}", c.batching.run_when_idle,
                "Queue every image for a model worker (default: with one kernel thread per "
                "worker, an image that finds nothing waiting runs at once on its HTTP thread)")
      ->group(lim);
  cmd->add_flag("--any-batch-size{false}", c.batching.power_of_two_batches,
                "Run every batch size (default: 1, 2, 4, 8, ...; each size costs its own kernels)")
      ->group(lim);
  cmd->add_option("--max-queue", c.batching.max_queue,
                  "Images waiting for the model; more are answered 503")
      ->group(lim)
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--max-body-mb", a->max_body_mb, "Largest request body (413 above)")
      ->group(lim)
      ->capture_default_str();
  cmd->add_option("--max-pixels", c.max_pixels, "Largest image, width x height (413 above)")
      ->group(lim)
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-files", c.max_files, "Images per /v1/predict/batch request")
      ->group(lim)
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--timeout", c.timeout_seconds,
                  "Seconds to read a request, and to wait for the model (503 after)")
      ->group(lim)
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  add_runtime_options(*cmd, a->runtime);
  add_precision_options(*cmd, a->precision);
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace convkit::cli
