#include "progress.h"

#include <unistd.h>

#include <cmath>
#include <string>

namespace convkit::cli {

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double get(const train::Logs& logs, const char* key) {
  auto it = logs.find(key);
  return it == logs.end() ? 0.0 : it->second;
}
}  // namespace

std::string format_duration(double s) {
  auto t = int64_t(std::llround(s));
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600),
                  (long long)(t / 60 % 60), (long long)(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(t / 60), (long long)(t % 60));
  return buf;
}

Progress::Progress(const std::string& mode)
    : live_(mode == "always" || (mode == "auto" && isatty(fileno(stderr)))) {}

void Progress::on_epoch_begin(train::TrainContext& ctx) {
  epoch_start_ = std::chrono::steady_clock::now();
  first_batch_ = ctx.state.next_batch;
  first_examples_ = ctx.running.examples();
}

void Progress::on_step_end(train::TrainContext& ctx) {
  if (!live_) return;
  const int64_t batch = ctx.state.next_batch, batches = ctx.train_loader.num_batches();
  // Redraw at most 10 times a second, and always on the last batch.
  double t = now();
  if (batch != batches && t - last_draw_ < 0.1) return;
  last_draw_ = t;
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  const double ips = double(ctx.running.examples() - first_examples_) / std::max(secs, 1e-9);
  const double eta =
      double(batches - batch) * double(ctx.train_loader.options().batch_size) / std::max(ips, 1e-9);
  const train::Logs logs = ctx.running.means();
  const int width = 24;
  int filled = int(double(width) * double(batch) / double(std::max<int64_t>(batches, 1)));
  std::string bar(size_t(filled), '=');
  if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
  std::fprintf(stderr,
               "\r\033[Kepoch %lld/%lld [%s] %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s",
               (long long)(ctx.state.epoch + 1), (long long)ctx.options.epochs, bar.c_str(),
               (long long)batch, (long long)batches, get(logs, "loss"), 100 * get(logs, "acc"), ips,
               format_duration(eta).c_str());
  std::fflush(stderr);
}

void Progress::on_interrupt(train::TrainContext&) {
  if (live_) std::fprintf(stderr, "\r\033[K");
}

void Progress::on_epoch_end(train::TrainContext&, train::EpochRecord& r) {
  if (live_) std::fprintf(stderr, "\r\033[K");
  char val[128] = " | no validation set";
  if (r.has_val) {
    int n = std::snprintf(val, sizeof val, " | val loss %.4f acc %.2f%%", get(r.val, "loss"),
                          100 * get(r.val, "acc"));
    if (r.val.count("top5"))  // absent with 5 or fewer classes, where it is always 100%
      std::snprintf(val + n, sizeof val - size_t(n), " top-5 %.2f%%", 100 * get(r.val, "top5"));
  }
  std::printf("epoch %lld: train loss %.4f acc %.2f%%%s | lr %.5f | %.1f s, %.0f img/s%s%s\n",
              (long long)r.epoch, get(r.train, "loss"), 100 * get(r.train, "acc"), val, r.lr,
              r.seconds, r.images_per_second,
              r.skipped_files > 0
                  ? (" | " + std::to_string(r.skipped_files) + " bad files skipped").c_str()
                  : "",
              r.best ? (r.has_val ? " (best)" : " (best train acc)") : "");
  std::fflush(stdout);
}

}  // namespace convkit::cli
