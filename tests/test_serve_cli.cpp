// `convkit serve` end to end (issue 23): a real server process on a free loopback port, driven by
// an HTTP client. Answers equal the in-process session's; every bad upload gets a 4xx JSON error
// and the server stays up; a full queue answers 503; SIGTERM finishes the request in flight; the
// page's self-test passes in headless Chromium when it is installed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "convkit/backend.h"
#include "convkit/infer/bundle.h"
#include "convkit/infer/session.h"
#include "convkit/models/registry.h"
#include "convkit/random.h"
#include "convkit/train/checkpoint.h"
#include "support/image_files.h"

using convkit::test::TempDir;
using json = nlohmann::json;

namespace {

#define ONCE()                                      \
  if (convkit::backend() != convkit::Backend::dnnl) \
  GTEST_SKIP() << "runs once, on the default backend"

// small-cnn on 16x16 RGB images of 3 named classes, random weights, as `convkit train` saves it.
std::string save_model(const TempDir& t) {
  const std::string path = t.path("w.safetensors");
  convkit::manual_seed(5);
  auto model = convkit::models::create_model("small-cnn", {3, 3, 16});
  const json config = {
      {"in_channels", 3},
      {"num_classes", 3},
      {"image_size", 16},
      {"class_names", {"circle", "cross", "square"}},
      {"normalization", {{"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}},
      {"preprocessing", json::parse(R"({"image_size":16,"load_size":16,"color":"rgb"})")}};
  convkit::train::save_weights(path, *model, {{"model", "small-cnn"}, {"config", config.dump()}});
  return path;
}

// A `convkit serve` child process on a free port; SIGKILLed if still running at the end.
class Server {
 public:
  Server(const TempDir& t, const std::string& args) : log_(t.path("serve.log")) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      const int err = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(err, 2);
      close(out[0]);
      execl("/bin/sh", "sh", "-c", (std::string("exec ") + CONVKIT_CLI + " serve " + args).c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    out_ = fdopen(out[0], "r");
    // The first lines say where it listens.
    char line[1024];
    while (std::fgets(line, sizeof line, out_)) {
      banner_ += line;
      const std::string l(line);
      const auto at = l.find("listening on http://127.0.0.1:");
      if (at != std::string::npos) {
        port_ = std::stoi(l.substr(at + 30));
        break;
      }
    }
  }
  ~Server() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& banner() const { return banner_; }
  std::string stderr_text() const { return convkit::test::read_bytes(log_); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }
  // Sends `sig` and waits (up to 60 s) for the exit status; -1 when it did not exit normally.
  int stop(int sig = SIGTERM) {
    kill(pid_, sig);
    int status = 0;
    for (int i = 0; i < 600; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        char rest[4096];
        while (std::fgets(rest, sizeof rest, out_)) banner_ += rest;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -2;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string banner_;
  int port_ = 0;
  bool exited_ = false;
};

json body_json(const httplib::Result& r) {
  if (!r) return json{{"transport_error", int(r.error())}};
  try {
    return json::parse(r->body);
  } catch (const std::exception&) {
    return json{{"not_json", r->body}};
  }
}

// A 4xx JSON answer whose error message contains `part`.
void expect_error(const httplib::Result& r, int status, const std::string& part) {
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, status) << r->body;
  const json j = body_json(r);
  ASSERT_TRUE(j.contains("error")) << r->body;
  EXPECT_NE(j["error"].get<std::string>().find(part), std::string::npos) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
}

}  // namespace

TEST(ServeCli, AnswersEqualTheSessionsAndEveryRouteWorks) {
  ONCE();
  TempDir t;
  const std::string model = save_model(t);
  const std::string img = t.path("a.png"), img2 = t.path("b.jpg");
  convkit::test::write_class_image(img, 0, 1, 20, 16);
  convkit::test::write_class_image(img2, 2, 3, 16, 16);
  // Two model workers (replicas), one kernel thread each: the answers are still the session's.
  Server s(t, model + " --port 0 --top-k 2 --batch-wait-ms 1 --threads 2 --model-workers 2");
  ASSERT_GT(s.port(), 0) << s.banner() << s.stderr_text();
  EXPECT_NE(s.banner().find("small-cnn"), std::string::npos) << s.banner();
  httplib::Client c = s.client();

  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  const json m = body_json(c.Get("/v1/model"));
  EXPECT_EQ(m["name"], "small-cnn");
  EXPECT_EQ(m["classes"], json({"circle", "cross", "square"}));
  EXPECT_EQ(m["input"]["height"], 16);
  // The checksum is the file's SHA-256, as sha256sum prints it.
  FILE* p = popen(("sha256sum " + model).c_str(), "r");
  char sum[65] = {};
  ASSERT_EQ(std::fread(sum, 1, 64, p), 64u);
  pclose(p);
  EXPECT_EQ(m["checksum"], std::string("sha256:") + sum);

  // The same answers as the library's session on the same files.
  const convkit::infer::Session session(convkit::infer::load_checkpoint(model));
  const auto want = session.classify_files({img, img2}, 2);
  const std::string bytes = convkit::test::read_bytes(img);
  const json one = body_json(c.Post("/v1/predict", bytes, "image/png"));
  ASSERT_TRUE(one.contains("predictions")) << one;
  ASSERT_EQ(one["predictions"].size(), 2u) << one;
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(one["predictions"][k]["class"], want[0][k].name);
    EXPECT_NEAR(one["predictions"][k]["probability"].get<double>(), want[0][k].probability, 1e-5);
  }
  EXPECT_GE(one["latency_ms"]["model"].get<double>(), 0);
  EXPECT_EQ(one["model"], "small-cnn");

  // top_k from the query; a multipart upload; a batch of two in order.
  const json three = body_json(c.Post("/v1/predict?top_k=3", bytes, "application/octet-stream"));
  EXPECT_EQ(three["predictions"].size(), 3u) << three;
  httplib::MultipartFormDataItems form{{"image", bytes, "a.png", "image/png"}};
  const json multi = body_json(c.Post("/v1/predict", form));
  EXPECT_EQ(multi["predictions"][0]["class"], want[0][0].name) << multi;
  httplib::MultipartFormDataItems two{
      {"image", bytes, "a.png", "image/png"},
      {"image", convkit::test::read_bytes(img2), "b.jpg", "image/jpeg"}};
  const json batch = body_json(c.Post("/v1/predict/batch", two));
  ASSERT_EQ(batch["results"].size(), 2u) << batch;
  EXPECT_EQ(batch["results"][0]["name"], "a.png");
  EXPECT_EQ(batch["results"][1]["name"], "b.jpg");
  for (size_t i = 0; i < 2; ++i)
    EXPECT_NEAR(batch["results"][i]["predictions"][0]["probability"].get<double>(),
                want[i][0].probability, 1e-5);

  // Grad-CAM as a PNG; the page; the metrics count what happened.
  auto cam = c.Post("/v1/explain", bytes, "image/png");
  ASSERT_TRUE(cam);
  EXPECT_EQ(cam->status, 200) << cam->body;
  EXPECT_EQ(cam->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(cam->body.substr(1, 3), "PNG");
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("<title>convkit serve</title>"), std::string::npos);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("convkit_requests_total{route=\"/v1/predict\",code=\"200\"} 3"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("convkit_batch_size_count "), std::string::npos);
  EXPECT_NE(metrics->body.find("convkit_request_duration_seconds_bucket{le=\"+Inf\"}"),
            std::string::npos);

  // The page's self-test in headless Chromium: a drawn image through the page's own code.
  if (std::system("command -v chromium > /dev/null 2>&1") == 0) {
    const std::string cmd =
        std::string("bash ") + CONVKIT_TESTS_DIR +
        "/../scripts/check_serve_chromium.sh http://127.0.0.1:" + std::to_string(s.port()) +
        "/ > " + t.path("chromium.txt") + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << convkit::test::read_bytes(t.path("chromium.txt"));
  }
  EXPECT_EQ(s.stop(), 0) << s.stderr_text();
}

TEST(ServeCli, BadUploadsGetA4xxJsonAnswerAndTheServerStaysUp) {
  ONCE();
  TempDir t;
  const std::string model = save_model(t);
  const std::string img = t.path("a.png");
  convkit::test::write_class_image(img, 1, 0, 40, 30);
  const std::string good = convkit::test::read_bytes(img);
  Server s(t, model + " --port 0 --max-body-mb 0.05 --max-pixels 100000");
  ASSERT_GT(s.port(), 0) << s.banner() << s.stderr_text();
  httplib::Client c = s.client();

  expect_error(c.Post("/v1/predict", "", "image/png"), 400, "empty image");
  expect_error(c.Post("/v1/predict", "password=hunter2\n", "image/png"), 400, "not an image");
  expect_error(c.Post("/v1/predict", good.substr(0, good.size() / 2), "image/png"), 400,
               "truncated");
  expect_error(c.Post("/v1/predict", convkit::test::corrupt_png(0), "image/png"), 400, "corrupt");
  expect_error(c.Post("/v1/predict", convkit::test::png_claiming_size(20000, 20000), "image/png"),
               413, "pixels");
  expect_error(c.Post("/v1/predict", good, "text/plain"), 415, "Content-Type text/plain");
  expect_error(c.Post("/v1/predict", std::string(100000, 'x'), "image/png"), 413, "--max-body-mb");
  expect_error(c.Post("/v1/predict?top_k=0", good, "image/png"), 400, "top_k");
  expect_error(c.Post("/v1/predict?top_k=abc", good, "image/png"), 400, "top_k");
  expect_error(c.Post("/v1/explain?class=7", good, "image/png"), 400, "class must be");
  expect_error(c.Get("/v2/nothing"), 404, "no such route");
  httplib::MultipartFormDataItems none{{"note", "hello", "", "text/plain"}};
  expect_error(c.Post("/v1/predict", none), 400, "");
  // Two images to the one-image route; a batch of one good and one bad image answers both.
  httplib::MultipartFormDataItems mixed{{"image", good, "good.png", "image/png"},
                                        {"image", "not an image", "bad.png", "image/png"}};
  expect_error(c.Post("/v1/predict", mixed), 400, "/v1/predict/batch");
  const auto r = c.Post("/v1/predict/batch", mixed);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json j = body_json(r);
  EXPECT_TRUE(j["results"][0].contains("predictions")) << j;
  EXPECT_EQ(j["results"][1]["status"], 400) << j;

  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("convkit_requests_total{route=\"/v1/predict\",code=\"400\"}"),
            std::string::npos)
      << metrics->body;
  EXPECT_EQ(s.stop(), 0) << s.stderr_text();
}

// A burst of clients connecting at once. While the server is stopped (SIGSTOP) the kernel still
// completes handshakes into its accept queue, up to the listen backlog: all 64 here. With the
// backlog of 5 that Debian's cpp-httplib listens with, 6 completed and the rest waited for SYN
// retransmissions; under load a few such clients lost their first request.
TEST(ServeCli, ABurstOfConnectionsFitsTheAcceptQueueAndIsAnswered) {
  ONCE();
  TempDir t;
  Server s(t, save_model(t) + " --port 0");
  ASSERT_GT(s.port(), 0) << s.banner() << s.stderr_text();
  ASSERT_EQ(kill(s.pid(), SIGSTOP), 0);
  std::vector<int> fds;
  for (int i = 0; i < 64; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(s.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);  // EINPROGRESS
    fds.push_back(fd);
  }
  int connected = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLOUT, 0};
    int err = -1;
    socklen_t len = sizeof err;
    if (poll(&p, 1, 500) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
      ++connected;
  }
  ASSERT_EQ(kill(s.pid(), SIGCONT), 0);
  EXPECT_EQ(connected, 64);
  // Every connection is then answered.
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  int answered = 0;
  for (int fd : fds) {
    fcntl(fd, F_SETFL, 0);  // blocking again
    timeval tv{30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (write(fd, request.data(), request.size()) != ssize_t(request.size())) continue;
    std::string got;
    char buf[512];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) got.append(buf, size_t(n));
    answered += got.rfind("HTTP/1.1 200", 0) == 0;
    close(fd);
  }
  EXPECT_EQ(answered, 64);
}

TEST(ServeCli, AFullQueueAnswers503AndSigtermFinishesTheRequestInFlight) {
  ONCE();
  TempDir t;
  const std::string model = save_model(t);
  const std::string img = t.path("a.png");
  convkit::test::write_class_image(img, 2, 0, 16, 16);
  const std::string bytes = convkit::test::read_bytes(img);
  // One image may wait, for 5 s: the first request holds the queue while the next arrive.
  Server s(t, model + " --port 0 --max-queue 1 --batch-wait-ms 5000 --max-batch 8");
  ASSERT_GT(s.port(), 0) << s.banner() << s.stderr_text();
  auto first = std::async(std::launch::async, [&] {
    httplib::Client c = s.client();
    return c.Post("/v1/predict", bytes, "image/png");
  });
  // Until the first image waits in the queue (/metrics says so), not a fixed sleep: the test
  // machine may be busy.
  {
    httplib::Client c = s.client();
    for (int i = 0; i < 200; ++i) {
      const auto m = c.Get("/metrics");
      if (m && m->body.find("\nconvkit_queue_depth 1\n") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  {
    httplib::Client c = s.client();
    const auto busy = c.Post("/v1/predict", bytes, "image/png");
    expect_error(busy, 503, "queue is full");
    EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  }
  // SIGTERM while the first request still waits for its batch: it is answered, then the server
  // exits 0.
  const auto sent = std::chrono::steady_clock::now();
  const int status = s.stop(SIGTERM);
  const auto r = first.get();
  ASSERT_TRUE(r) << "the request in flight was dropped";
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(status, 0) << s.stderr_text();
  // The queued image runs at once, without waiting out its 5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(4));
  EXPECT_NE(s.stderr_text().find("SIGTERM: finishing the requests in flight"), std::string::npos)
      << s.stderr_text();
}

TEST(ServeCli, AModelFileThatCannotLoadOrAPortInUseFailsWithAMessage) {
  ONCE();
  TempDir t;
  convkit::test::write_bytes(t.path("bad.safetensors"), "not a model");
  const std::string log = t.path("out.txt");
  const std::string cli = std::string(CONVKIT_CLI) + " serve ";
  int status =
      std::system((cli + t.path("bad.safetensors") + " --port 0 > " + log + " 2>&1").c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(convkit::test::read_bytes(log).find("bad.safetensors"), std::string::npos)
      << convkit::test::read_bytes(log);
  const std::string model = save_model(t);
  Server s(t, model + " --port 0");
  ASSERT_GT(s.port(), 0);
  status = std::system(
      (cli + model + " --port " + std::to_string(s.port()) + " > " + log + " 2>&1").c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(convkit::test::read_bytes(log).find("cannot bind"), std::string::npos)
      << convkit::test::read_bytes(log);
  EXPECT_EQ(s.stop(), 0);
  status = std::system(
      (cli + model + " --port 0 --threads 2 --model-workers 3 > " + log + " 2>&1").c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(convkit::test::read_bytes(log).find("--model-workers must be from 1 to the kernel "
                                                "threads (2), got 3"),
            std::string::npos)
      << convkit::test::read_bytes(log);
}
