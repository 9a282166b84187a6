#include "progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <string>

namespace convkit::cli {

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
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

void Progress::update(const train::ProgressEvent& e) {
  if (!live_) return;
  // Redraw at most 10 times a second, and always on the last batch.
  double t = now();
  if (e.batch != e.batches && t - last_draw_ < 0.1) return;
  last_draw_ = t;
  const int width = 24;
  int filled = int(double(width) * double(e.batch) / double(std::max<int64_t>(e.batches, 1)));
  std::string bar(size_t(filled), '=');
  if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
  std::fprintf(stderr,
               "\r\033[Kepoch %lld/%lld [%s] %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s",
               (long long)(e.epoch + 1), (long long)e.epochs, bar.c_str(), (long long)e.batch,
               (long long)e.batches, e.loss, 100 * e.acc, e.images_per_second,
               format_duration(e.eta_seconds).c_str());
  std::fflush(stderr);
}

void Progress::epoch_done(const train::EpochRecord& r) {
  if (live_) std::fprintf(stderr, "\r\033[K");
  char val[128] = " | no validation set";
  if (r.has_val)
    std::snprintf(val, sizeof val, " | val loss %.4f acc %.2f%% top-5 %.2f%%", r.val_loss,
                  100 * r.val_acc, 100 * r.val_top5);
  std::printf("epoch %lld: train loss %.4f acc %.2f%%%s | lr %.5f | %.1f s, %.0f img/s%s%s\n",
              (long long)r.epoch, r.train_loss, 100 * r.train_acc, val, r.lr, r.seconds,
              r.images_per_second,
              r.skipped_files > 0
                  ? (" | " + std::to_string(r.skipped_files) + " bad files skipped").c_str()
                  : "",
              r.best ? (r.has_val ? " (best)" : " (best train acc)") : "");
  std::fflush(stdout);
}

}  // namespace convkit::cli
