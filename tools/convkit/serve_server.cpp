#include "serve_server.h"

#include <httplib.h>
#include <omp.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "convkit/data/image_file.h"
#include "convkit/infer/preprocess.h"
#include "convkit/viz/gradcam.h"
#include "serve_page.h"

namespace convkit::cli {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// An error answer: {"error": message, "status": code}.
void answer_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}, {"status", status}}.dump() + "\n", "application/json");
}

// The HTTP status for an upload the decoder refused.
int status_for(data::ImageProblem p) { return p == data::ImageProblem::too_large ? 413 : 400; }

// A request that cannot be answered, with its status.
struct HttpError : Error {
  int status;
  HttpError(int s, const std::string& m) : Error(m), status(s) {}
};

struct Upload {
  std::string name;  // the multipart file name, or "body"
  std::string_view bytes;
};

// The images in a request: the raw body (Content-Type image/* or application/octet-stream) or
// the file parts of a multipart form, in the order they were sent.
std::vector<Upload> uploads_of(const httplib::Request& req) {
  std::vector<Upload> out;
  if (req.is_multipart_form_data()) {
    // httplib keeps parts in a multimap by field name; parts with one name keep their order.
    for (const auto& [field, part] : req.files)
      out.push_back({part.filename.empty() ? field : part.filename, part.content});
    if (out.empty())
      throw HttpError(400, "the multipart form has no file parts: send the image as a file field");
    return out;
  }
  const std::string type = req.get_header_value("Content-Type");
  const bool ok = type.empty() || type.rfind("image/", 0) == 0 ||
                  type.rfind("application/octet-stream", 0) == 0;
  if (!ok)
    throw HttpError(415, "Content-Type " + type +
                             " is not accepted: send the image bytes as image/jpeg, image/png "
                             "(any image/*) or application/octet-stream, or a multipart form");
  out.push_back({"body", req.body});
  return out;
}

// The route a request counts under in /metrics (bounded: unknown paths are "other").
std::string route_of(const std::string& path) {
  static const char* kRoutes[] = {"/",           "/healthz",          "/metrics",   "/v1/model",
                                  "/v1/predict", "/v1/predict/batch", "/v1/explain"};
  for (const char* r : kRoutes)
    if (path == r) return r;
  return "other";
}

json predictions_json(const std::vector<infer::Prediction>& top) {
  json arr = json::array();
  for (const infer::Prediction& p : top)
    arr.push_back({{"index", p.index}, {"class", p.name}, {"probability", p.probability}});
  return arr;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

thread_local Clock::time_point request_start;
thread_local bool request_counted = false;

}  // namespace

ModelServer::ModelServer(const std::vector<const infer::Session*>& replicas, ServeConfig config,
                         std::string checksum)
    : session_(*replicas.at(0)), config_(std::move(config)), checksum_(std::move(checksum)) {
  config_.batching.on_batch = [this](int64_t n, double ms) { metrics_.observe_batch(n, ms / 1e3); };
  // One forward pass per worker before serving, so that the first requests do not pay for
  // creating the primitives; on the workers' threads, the only ones with teams of kernel threads
  // (BatcherOptions::threads).
  config_.batching.warm_up = [](const infer::Session& s) {
    const infer::ModelBundle& b = s.bundle();
    s.probabilities(Tensor::zeros({1, b.in_channels, b.image_size, b.image_size}));
  };
  batcher_ = std::make_unique<infer::Batcher>(replicas, config_.batching);
  http_ = std::make_unique<httplib::Server>();
  const int workers = config_.workers;
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(size_t(workers)); };
  http_->set_payload_max_length(config_.max_body_bytes);
  http_->set_read_timeout(config_.timeout_seconds, 0);
  http_->set_write_timeout(config_.timeout_seconds, 0);
  http_->set_keep_alive_max_count(1000);
  // SO_REUSEADDR without httplib's SO_REUSEPORT, with which a second server on a port in use
  // starts without an error and takes half of the first one's connections. TCP_NODELAY: an answer
  // goes out as headers then body, and Nagle's algorithm would hold the body until the client's
  // delayed ACK (40 ms; measured: 92 ms per request without it).
  http_->set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = sock;
  });
  http_->set_tcp_nodelay(true);
  install_routes();
}

ModelServer::~ModelServer() { batcher_->stop(); }

int ModelServer::bind() {
  int port = config_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(config_.host);
    CONVKIT_CHECK(port > 0, "serve: cannot bind to ", config_.host, " (any port)");
  } else {
    CONVKIT_CHECK(http_->bind_to_port(config_.host, port), "serve: cannot bind to ", config_.host,
                  ":", port, " (in use, or not an address of this machine; try --port 0)");
  }
  // Debian's cpp-httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into
  // the library): 64 clients connecting at once overflowed the accept queue, and a few of them
  // lost their first request ("no answer: Read" in bench/serve_load, always a client's first).
  // Listening again on the bound socket raises the queue (Linux takes the new backlog).
  if (listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);
  return port;
}

void ModelServer::listen() {
  http_->listen_after_bind();
  batcher_->stop();  // everything the finished requests queued has run
}

void ModelServer::stop() {
  // The queued images run now, without waiting out --batch-wait-ms; requests that arrive from
  // here on are answered 503 ("shutting down"). Then httplib waits for the handlers in flight.
  batcher_->stop();
  http_->stop();
}

void ModelServer::install_routes() {
  httplib::Server& s = *http_;
  const infer::ModelBundle& bundle = session_.bundle();

  // Counting: a request starts when routing does (after its body was read) and is counted when
  // its answer is logged; answers httplib gives on its own (413 before routing) count with 0 s.
  s.set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
    request_start = Clock::now();
    // Decoding and preparing an image on an HTTP thread: one kernel thread, no OpenMP team of its
    // own (BatcherOptions::threads says why).
    thread_local const bool single = (omp_set_num_threads(1), true);
    (void)single;
    request_counted = true;
    ++in_flight_;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    double seconds = 0;
    if (request_counted) {
      seconds = ms_since(request_start) / 1e3;
      request_counted = false;
      --in_flight_;
    }
    metrics_.observe_request(route_of(req.path), res.status, seconds);
  });
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        // httplib calls this for every 4xx/5xx answer: keep the ones a handler already explained.
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Handled;
        const std::string what = res.status == 404 ? "no such route: " + req.path +
                                                         " (GET /, /healthz, /metrics, /v1/model; "
                                                         "POST /v1/predict, /v1/predict/batch, "
                                                         "/v1/explain)"
                                 : res.status == 413 ? "the request body is larger than the limit"
                                                       " (--max-body-mb)"
                                                     : "the request cannot be handled (HTTP " +
                                                           std::to_string(res.status) + ")";
        answer_error(res, res.status, what);
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const HttpError& e) {
          answer_error(res, e.status, e.what());
        } catch (const data::ImageFileError& e) {
          answer_error(res, status_for(e.problem()), e.what());
        } catch (const infer::QueueFull& e) {
          answer_error(res, 503, e.what());
          res.set_header("Retry-After", "1");
        } catch (const std::exception& e) {
          answer_error(res, 500, e.what());
        } catch (...) {
          answer_error(res, 500, "internal error");
        }
      });

  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(serve_page_html(), "text/html; charset=utf-8");
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}\n", "application/json");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.prometheus(batcher_->queue_depth(), in_flight_.load()),
                    "text/plain; version=0.0.4");
  });
  s.Get("/v1/model", [this, &bundle](const httplib::Request&, httplib::Response& res) {
    json classes = json::array();
    for (int64_t k = 0; k < bundle.num_classes; ++k) classes.push_back(bundle.class_name(k));
    const json j{{"name", bundle.name},
                 {"source", bundle.source},
                 {"checksum", checksum_},
                 {"num_classes", bundle.num_classes},
                 {"classes", classes},
                 {"input",
                  {{"channels", bundle.in_channels},
                   {"height", bundle.image_size},
                   {"width", bundle.image_size}}},
                 {"top_k", config_.top_k},
                 {"max_batch", config_.batching.max_batch},
                 {"max_body_bytes", config_.max_body_bytes},
                 {"max_pixels", config_.max_pixels}};
    res.set_content(j.dump() + "\n", "application/json");
  });

  // One image: decode (limits first), prepare as in training, queue for its batch.
  auto submit = [this, &bundle](const Upload& u) {
    if (u.bytes.empty())
      throw HttpError(400, u.name + ": empty image (0 bytes): send the image file's bytes");
    const data::DecodedImage img =
        data::decode_image(u.bytes, u.name, data::ColorMode::rgb, config_.max_pixels);
    return batcher_->submit(infer::preprocess_image(bundle, img.image));
  };
  // Its answer: the top k with the time it took since t0.
  auto collect = [this, &bundle](const std::string& name, std::future<infer::BatchedResult>& f,
                                 int64_t k, Clock::time_point t0) {
    if (f.wait_until(t0 + std::chrono::seconds(config_.timeout_seconds)) !=
        std::future_status::ready)
      throw HttpError(503, "the model did not answer within " +
                               std::to_string(config_.timeout_seconds) + " s (--timeout)");
    const infer::BatchedResult r = f.get();
    const auto top = infer::top_k(r.probabilities.reshape({1, -1}), k, bundle.class_names);
    if (top[0].empty())
      throw HttpError(500, "the model's output is NaN or infinite for " + name +
                               "; its weights may have diverged");
    return json{
        {"predictions", predictions_json(top[0])},
        {"batch_size", r.batch_size},
        {"latency_ms", {{"queue", r.queue_ms}, {"model", r.model_ms}, {"total", ms_since(t0)}}}};
  };
  auto top_k_of = [this](const httplib::Request& req) {
    if (!req.has_param("top_k")) return config_.top_k;
    const std::string v = req.get_param_value("top_k");
    char* end = nullptr;
    const long long k = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || k < 1 || k > 1000)
      throw HttpError(400, "top_k must be a whole number from 1 to 1000, got \"" + v + "\"");
    return int64_t(k);
  };

  s.Post("/v1/predict",
         [this, submit, collect, top_k_of](const httplib::Request& req, httplib::Response& res) {
           const Clock::time_point t0 = Clock::now();
           const std::vector<Upload> ups = uploads_of(req);
           if (ups.size() != 1)
             throw HttpError(400, std::to_string(ups.size()) +
                                      " images in one /v1/predict request: send one, or use "
                                      "/v1/predict/batch");
           const int64_t k = top_k_of(req);
           std::future<infer::BatchedResult> f = submit(ups[0]);
           json j = collect(ups[0].name, f, k, t0);
           j["model"] = session_.bundle().name;
           res.set_content(j.dump() + "\n", "application/json");
         });

  s.Post("/v1/predict/batch", [this, submit, collect, top_k_of](const httplib::Request& req,
                                                                httplib::Response& res) {
    const Clock::time_point t0 = Clock::now();
    const std::vector<Upload> ups = uploads_of(req);
    const int64_t k = top_k_of(req);
    if (int64_t(ups.size()) > config_.max_files)
      throw HttpError(413, std::to_string(ups.size()) + " images in one request; the limit is " +
                               std::to_string(config_.max_files) + " (--max-files)");
    // Every image is queued before any answer is awaited, so that they share batches. A bad image
    // gets an error entry of its own and the others are still answered.
    std::vector<std::future<infer::BatchedResult>> futures(ups.size());
    std::vector<json> results(ups.size());
    auto as_error = [&](size_t i, int status, const char* what) {
      results[i] = {{"name", ups[i].name}, {"error", what}, {"status", status}};
    };
    auto guarded = [&](size_t i, auto&& step) {
      try {
        step();
      } catch (const HttpError& e) {
        as_error(i, e.status, e.what());
      } catch (const data::ImageFileError& e) {
        as_error(i, status_for(e.problem()), e.what());
      } catch (const infer::QueueFull& e) {
        as_error(i, 503, e.what());
      }
    };
    for (size_t i = 0; i < ups.size(); ++i) guarded(i, [&] { futures[i] = submit(ups[i]); });
    for (size_t i = 0; i < ups.size(); ++i)
      if (futures[i].valid())
        guarded(i, [&] {
          results[i] = collect(ups[i].name, futures[i], k, t0);
          results[i]["name"] = ups[i].name;
        });
    int good = 0, worst = 0;
    for (const json& r : results) {
      if (r.contains("error"))
        worst = std::max(worst, r["status"].get<int>());
      else
        ++good;
    }
    const json j{{"model", session_.bundle().name},
                 {"results", results},
                 {"latency_ms", {{"total", ms_since(t0)}}}};
    // At least one answer: 200 with per-image errors; none: the worst error's status.
    res.status = good > 0 ? 200 : worst;
    res.set_content(j.dump() + "\n", "application/json");
  });

  // Grad-CAM of the top class (or ?class=K) as a PNG overlay, for the page.
  s.Post("/v1/explain", [this, &bundle](const httplib::Request& req, httplib::Response& res) {
    const std::vector<Upload> ups = uploads_of(req);
    if (ups.size() != 1) throw HttpError(400, "send one image to /v1/explain");
    if (ups[0].bytes.empty()) throw HttpError(400, "empty image (0 bytes)");
    const data::DecodedImage img =
        data::decode_image(ups[0].bytes, ups[0].name, data::ColorMode::rgb, config_.max_pixels);
    viz::CamOptions opt;
    if (req.has_param("class")) {
      const std::string v = req.get_param_value("class");
      char* end = nullptr;
      const long long c = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || c < 0 || (bundle.num_classes > 0 && c >= bundle.num_classes))
        throw HttpError(400, "class must be an index from 0 to " +
                                 std::to_string(bundle.num_classes - 1) + ", got \"" + v + "\"");
      opt.classes = {int64_t(c)};
    }
    // Shared with the task: it may still run after a timeout has answered this request.
    auto ex = std::make_shared<std::vector<viz::Explanation>>();
    std::future<void> done =
        batcher_->run_exclusive([ex, image = img.image, opt](const infer::Session& s) {
          *ex = viz::explain(s.bundle(), image, opt);
        });
    if (done.wait_for(std::chrono::seconds(config_.timeout_seconds)) != std::future_status::ready)
      throw HttpError(503, "Grad-CAM did not finish within " +
                               std::to_string(config_.timeout_seconds) + " s (--timeout)");
    try {
      done.get();
    } catch (const data::ImageFileError&) {
      throw;
    } catch (const std::exception& e) {
      throw HttpError(422, std::string("Grad-CAM is not available for this model: ") + e.what());
    }
    if (ex->empty() || !(*ex)[0].finite)
      throw HttpError(500, "Grad-CAM's map is NaN or infinite for this image");
    const viz::Explanation& e = (*ex)[0];
    cv::Mat bgr;
    cv::cvtColor(e.overlay, bgr, cv::COLOR_RGB2BGR);
    std::vector<uchar> png;
    cv::imencode(".png", bgr, png);
    res.set_header("X-Class", e.class_name);
    res.set_header("X-Layer", e.layer);
    res.set_content(reinterpret_cast<const char*>(png.data()), png.size(), "image/png");
  });
}

}  // namespace convkit::cli
