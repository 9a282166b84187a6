// convkit bench: how fast a model runs here. Inference through the planned path a Session uses
// (or the module op by op), or training steps; latency percentiles, images/s, peak memory, and with
// --profile where a call's time goes (per step and per op type, like PyTorch's profiler table).
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "convkit/autograd.h"
#include "convkit/backend.h"
#include "convkit/infer/plan.h"
#include "convkit/ops/loss.h"
#include "convkit/optim/sgd.h"
#include "convkit/random.h"
#include "model_spec.h"

namespace convkit::cli {

namespace {
using Clock = std::chrono::steady_clock;

struct BenchArgs {
  ModelSpec spec;
  int64_t batch = 1;
  int reps = 20, warmup = 3;
  int64_t calibration_images = 64;
  std::string path = "plan", dtype = "f32";
  bool train = false, profile = false;
  std::string json_out;
  RuntimeOptions runtime;
};

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
  return v[i];
}

// The process's peak resident memory (VmHWM), in MB; 0 when /proc is not there.
double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// "  rep 7/20" on stderr while it runs, when stderr is a terminal.
struct Ticker {
  bool live = isatty(STDERR_FILENO) != 0;
  void tick(const char* what, int i, int n) const {
    if (live) std::fprintf(stderr, "\r  %s %d/%d", what, i, n);
  }
  ~Ticker() {
    if (live) std::fprintf(stderr, "\r%40s\r", "");
  }
};

void print_profile(const std::vector<infer::InferencePlan::StepTime>& steps) {
  double total = 0;
  for (const auto& s : steps) total += s.ms;
  struct Kind {
    int calls = 0;
    double ms = 0;
  };
  std::map<std::string, Kind> kinds;
  for (const auto& s : steps) {
    Kind& k = kinds[s.what.rfind("conv2d", 0) == 0 ? s.what : s.kind];
    ++k.calls, k.ms += s.ms;
  }
  std::vector<std::pair<std::string, Kind>> sorted(kinds.begin(), kinds.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  std::printf("\nby op type (median per step, summed):\n%-36s %6s %10s %7s\n", "op", "calls",
              "total ms", "share");
  for (const auto& [name, k] : sorted)
    std::printf("%-36s %6d %10.3f %6.1f%%\n", name.c_str(), k.calls, k.ms,
                total > 0 ? 100 * k.ms / total : 0.0);
  std::printf("%-36s %6zu %10.3f\n", "total", steps.size(), total);
  std::vector<size_t> order(steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return steps[a].ms > steps[b].ms; });
  std::printf("\nslowest steps:\n%5s %-36s %-20s %10s\n", "step", "op", "output", "ms");
  for (size_t i = 0; i < order.size() && i < 15; ++i) {
    const auto& s = steps[order[i]];
    std::printf("%5zu %-36s %-20s %10.3f\n", order[i], s.what.c_str(), s.output.to_string().c_str(),
                s.ms);
  }
}

void run_bench(const BenchArgs& a) {
  CONVKIT_CHECK(a.batch >= 1, "bench: --batch must be at least 1, got ", a.batch);
  CONVKIT_CHECK(a.reps >= 1 && a.warmup >= 0, "bench: --reps must be >= 1 and --warmup >= 0");
  CONVKIT_CHECK(a.path == "plan" || a.path == "module", "bench: --path is plan or module, got '",
                a.path, "'");
  CONVKIT_CHECK(!(a.train && a.profile), "bench: --profile is for inference (without --train)");
  CONVKIT_CHECK(a.dtype == "f32" || (a.path == "plan" && (!a.train || a.dtype == "bf16")),
                "bench: --dtype ", a.dtype, " runs the planned inference path",
                a.dtype == "bf16" ? " or --train" : " (not --train)", ", not --path module");
  apply_runtime_options(a.runtime);
  const SpecifiedModel m = build_model(a.spec);
  const Shape shape{a.batch, m.in_channels, m.image_size, m.image_size};
  Generator gen(1);
  const Tensor x = Tensor::randn(shape, &gen);
  std::vector<double> ms;
  std::string mode;
  nlohmann::json extra;
  std::vector<infer::InferencePlan::StepTime> profile;
  const Ticker ticker;

  with_input_size_hint(a.spec, m, [&] {
    if (a.train) {
      mode = "training step (forward, cross entropy, backward, SGD with momentum)";
      if (a.dtype == "bf16") mode += ", bfloat16 convolutions (mixed precision)";
      const ConvBf16Guard mixed_precision(a.dtype == "bf16");
      m.module->train();
      optim::SGD opt(optim::single_group(*m.module, 0.01, 0.0), {.momentum = 0.9});
      Tensor target = Tensor::zeros({a.batch}, DType::i64);
      for (int64_t i = 0; i < a.batch; ++i)
        target.data<int64_t>()[i] = i % std::max<int64_t>(m.num_classes, 1);
      for (int i = 0; i < a.warmup + a.reps; ++i) {
        ticker.tick("step", i + 1, a.warmup + a.reps);
        const auto t0 = Clock::now();
        opt.zero_grad();
        Tensor loss = cross_entropy((*m.module)(x), target);
        loss.backward();
        opt.step();
        if (i >= a.warmup)
          ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      return;
    }
    m.module->eval();
    NoGradGuard no_grad;
    std::unique_ptr<infer::InferencePlan> plan;
    if (a.path == "plan") {
      const auto t0 = Clock::now();
      infer::PlanOptions po;
      po.bf16 = a.dtype == "bf16";
      if (a.dtype == "int8") {
        Shape cs = shape;
        cs[0] = a.calibration_images;
        po.int8 = infer::InferencePlan::calibrate(*m.module, Tensor::randn(cs, &gen));
      }
      plan = infer::InferencePlan::build(*m.module, shape, po);
      extra["plan_build_ms"] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      extra["plan"] = plan->stats().to_string();
      mode = "inference, planned: " + plan->stats().to_string();
    } else {
      mode = "inference, the module op by op";
    }
    for (int i = 0; i < a.warmup + a.reps; ++i) {
      ticker.tick("pass", i + 1, a.warmup + a.reps);
      const auto t0 = Clock::now();
      if (plan)
        plan->run(x);
      else
        (*m.module)(x);
      if (i >= a.warmup)
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    if (a.profile) {
      CONVKIT_CHECK(plan != nullptr, "bench: --profile times the planned path (--path plan)");
      profile = plan->profile(x, a.reps);
    }
  });

  const double p50 = percentile(ms, 0.5), p99 = percentile(ms, 0.99);
  const double images_per_s = 1000.0 * double(a.batch) / p50;
  std::printf("convkit bench: %s, input %s, %d threads\n%s\n", m.name.c_str(),
              shape.to_string().c_str(), omp_get_max_threads(), mode.c_str());
  std::printf(
      "latency p50 %.3f ms, p99 %.3f ms (%d runs after %d warm-up); %.1f images/s; "
      "peak memory %.0f MB\n",
      p50, p99, a.reps, a.warmup, images_per_s, peak_rss_mb());
  if (!profile.empty()) print_profile(profile);
  if (!a.json_out.empty()) {
    nlohmann::json j = {{"model", m.name},
                        {"input", shape.to_string()},
                        {"threads", omp_get_max_threads()},
                        {"mode", a.train ? "train" : a.path},
                        {"p50_ms", p50},
                        {"p99_ms", p99},
                        {"images_per_s", images_per_s},
                        {"peak_rss_mb", peak_rss_mb()}};
    if (!extra.is_null()) j.update(extra);
    if (!profile.empty())
      for (const auto& s : profile)
        j["profile"].push_back({{"op", s.what}, {"output", s.output.to_string()}, {"ms", s.ms}});
    std::ofstream f(a.json_out);
    f << j.dump(1) << "\n";
    CONVKIT_CHECK(f.good(), "bench: cannot write ", a.json_out);
  }
}
}  // namespace

void add_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand(
      "bench", "Time a model on this machine: latency, images/s, peak memory, a per-op profile");
  add_model_spec_options(*cmd, a->spec);
  cmd->add_option("--batch,-b", a->batch, "Images per pass")->capture_default_str();
  cmd->add_option("--reps", a->reps, "Timed passes")->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "Untimed passes first")->capture_default_str();
  cmd->add_option("--path", a->path,
                  "plan: the planned path predict/eval/serve use; module: op by op")
      ->capture_default_str();
  cmd->add_option("--dtype", a->dtype,
                  "f32, bf16 (convolutions in bfloat16) or int8 (in 8-bit integers, calibrated on "
                  "--int8-images random standard-normal images: timing, not accuracy)")
      ->check(CLI::IsMember({"f32", "bf16", "int8"}))
      ->capture_default_str();
  cmd->add_option("--int8-images", a->calibration_images, "int8: images to calibrate on")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--train", a->train, "Time training steps instead (SGD, random labels)");
  cmd->add_flag("--profile", a->profile, "Per-step and per-op-type times of the planned path");
  cmd->add_option("--json", a->json_out, "Also write the figures to this JSON file");
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_bench(*a); });
}

}  // namespace convkit::cli
