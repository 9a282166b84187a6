// convkit report RUN: an HTML page with PNG charts a person would rather look at than read: the
// training curves of a run (metrics.jsonl), and the evaluation of its best weights on a test set
// (summary numbers, TTA gain, confusion heatmap, per-class table, ROC and precision-recall curves,
// reliability diagram, the most confidently wrong images). docs/evaluation.md.
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <sstream>

#include "commands.h"
#include "convkit/infer/evaluate.h"
#include "convkit/metrics/curves.h"
#include "eval_classify.h"
#include "image_data.h"
#include "output_files.h"
#include "plot.h"

namespace convkit::cli {

namespace fs = std::filesystem;

namespace {
struct ReportArgs {
  std::string data, split = "test", out, tta;
  ImageDataArgs images;
  ModelArgs model;  // MODEL: a model file, or a training run's folder
  int64_t wrong = 16;
  RuntimeOptions runtime;
};

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string percent(double v) {
  char b[32];
  std::snprintf(b, sizeof b, std::isfinite(v) ? "%.2f%%" : "n/a", 100 * v);
  return b;
}
std::string fixed(double v, int digits = 4) {
  char b[32];
  std::snprintf(b, sizeof b, std::isfinite(v) ? "%.*f" : "n/a", digits, v);
  return b;
}

// The epochs of metrics.jsonl; a line that is no JSON object is reported (file:line) and skipped.
std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream f(path);
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    if (line.empty()) continue;
    try {
      nlohmann::json j = nlohmann::json::parse(line);
      if (j.is_object() && j.contains("epoch")) {
        rows.push_back(std::move(j));
        continue;
      }
    } catch (const nlohmann::json::exception&) {
    }
    std::fprintf(stderr, "convkit: warning: %s:%d: not an epoch record; skipped\n", path.c_str(),
                 n);
  }
  return rows;
}

double value(const nlohmann::json& j, const std::string& key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

plot::LineChart chart(const std::string& title, const std::string& x, const std::string& y) {
  plot::LineChart c;
  c.title = title;
  c.x_label = x;
  c.y_label = y;
  c.integer_x = x == "epoch";
  return c;
}
plot::Series series(const std::string& name, std::vector<double> x = {}) {
  plot::Series s;
  s.name = name;
  s.x = std::move(x);
  return s;
}

struct Page {
  std::string dir;
  std::ostringstream html;
  void chart(const std::string& file, const std::string& png, const std::string& alt) {
    write_text_file(dir + "/" + file, png);
    html << "<figure><img src=\"" << file << "\" alt=\"" << html_escape(alt) << "\"></figure>\n";
  }
};

// One chart per metric the log has as train_X and/or val_X (loss, top1, ...), then the rate.
void training_curves(Page& p, const std::vector<nlohmann::json>& rows) {
  std::vector<std::string> metrics;
  for (const auto& [k, v] : rows.back().items())
    for (const char* prefix : {"train_", "val_"})
      if (k.rfind(prefix, 0) == 0) {
        const std::string m = k.substr(std::string(prefix).size());
        if (std::find(metrics.begin(), metrics.end(), m) == metrics.end()) metrics.push_back(m);
      }
  std::vector<double> epochs;
  for (const auto& r : rows) epochs.push_back(value(r, "epoch"));
  p.html << "<h2>Training</h2>\n<div class=\"row\">\n";
  for (const std::string& m : metrics) {
    plot::LineChart c = chart(m, "epoch", m);
    for (const char* prefix : {"train_", "val_"}) {
      plot::Series s =
          series(std::string(prefix).substr(0, std::string(prefix).size() - 1), epochs);
      for (const auto& r : rows) s.y.push_back(value(r, prefix + m));
      s.markers = rows.size() <= 30;
      if (std::any_of(s.y.begin(), s.y.end(), [](double v) { return std::isfinite(v); }))
        c.series.push_back(s);
    }
    if (!c.series.empty())
      p.chart("curve_" + m + ".png", plot::render(c, 560, 380), m + " per epoch");
  }
  plot::LineChart lr = chart("learning rate", "epoch", "rate");
  lr.log_y = true;
  plot::Series s = series("", epochs);
  for (const auto& r : rows) s.y.push_back(value(r, "lr"));
  s.markers = rows.size() <= 30;
  lr.series.push_back(s);
  p.chart("curve_lr.png", plot::render(lr, 560, 380), "learning rate per epoch");
  p.html << "</div>\n";
}

// The example's image as the model saw it (standardization undone), 8-bit RGB, at least 96 px.
cv::Mat thumbnail(const ModelData& d, const infer::ModelBundle& m, int64_t index) {
  const Tensor x = d.inputs->get_batch({index}).inputs;  // [1, C, H, W], standardized
  const int64_t c = x.size(1), h = x.size(2), w = x.size(3);
  cv::Mat im(int(h), int(w), CV_8UC3);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t i = 0; i < w; ++i)
      for (int64_t ch = 0; ch < 3; ++ch) {
        const int64_t src = c == 1 ? 0 : ch;
        double v = x.data<float>()[(src * h + y) * w + i];
        if (!m.standardization.mean.empty())
          v = v * m.standardization.std[size_t(src)] + m.standardization.mean[size_t(src)];
        im.ptr<uint8_t>(int(y))[i * 3 + ch] =
            uint8_t(std::lround(std::clamp(std::isfinite(v) ? v : 0.0, 0.0, 1.0) * 255));
      }
  const int scale = std::max<int>(1, int(96 / std::max(h, w)));
  if (scale > 1) cv::resize(im, im, cv::Size(), scale, scale, cv::INTER_NEAREST);
  return im;
}

void run_report(const ReportArgs& a) {
  apply_runtime_options(a.runtime);
  const std::string& run = a.model.path;
  const bool is_run = fs::is_directory(run);
  ModelArgs model = a.model;
  model.path = is_run ? run + "/best.safetensors" : run;
  CONVKIT_CHECK(fs::exists(model.path), "report: ", model.path, " does not exist",
                is_run ? " (is " + run + " the --out folder of a training run?)" : "");
  const std::string run_dir = is_run ? run : fs::path(run).parent_path().string();
  const std::string out = a.out.empty() ? (run_dir.empty() ? "." : run_dir) + "/report" : a.out;
  make_output_dir(out, "report");

  const infer::Session session(load_model_argument(model));
  const infer::ModelBundle& m = session.bundle();
  const ModelData d = data_for_model(m, a.data, a.split, a.images);
  infer::EvalOptions eo;
  eo.keep_probabilities = true;
  if (!a.tta.empty()) eo.tta = infer::parse_tta(a.tta);
  std::fprintf(stderr, "report: evaluating %s on %s\n", m.describe().c_str(), d.name.c_str());
  const infer::Evaluation r = infer::evaluate(session, d.inputs, d.name, eo);
  const infer::Evaluation& best = r.tta ? *r.tta : r;
  std::vector<std::string> names = m.class_names.empty() ? d.inputs->class_names() : m.class_names;
  for (int64_t c = int64_t(names.size()); c < r.confusion.num_classes(); ++c)
    names.push_back(std::to_string(c));

  Page p{out, {}};
  std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  p.html << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>convkit "
            "report: "
         << html_escape(m.describe())
         << "</title>\n<style>body{font-family:sans-serif;margin:24px;max-width:1400px;color:#222}"
            "figure{display:inline-block;margin:6px}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "th{background:#f0f0f0}td:first-child{text-align:left}.row{display:flex;flex-wrap:"
            "wrap}.warn{color:#b00}.wrong{display:inline-block;margin:4px;font-size:12px;"
            "text-align:center;width:120px;vertical-align:top;word-wrap:break-word}"
            ".wrong img{image-rendering:pixelated;width:96px}</style></head>\n<body>\n";
  p.html << "<h1>" << html_escape(m.describe()) << "</h1>\n<p>evaluated on " << html_escape(d.name)
         << ", " << r.examples << " examples; " << date << "</p>\n";

  // Summary numbers.
  std::optional<metrics::OneVsRest> ovr;
  std::optional<metrics::Reliability> rel;
  std::string skipped;
  try {
    ovr = metrics::one_vs_rest(best.probabilities, best.labels);
    rel = metrics::reliability(best.probabilities, best.labels, 15);
  } catch (const Error& e) {
    skipped = e.what();
  }
  p.html << "<h2>Summary</h2>\n<table><tr><th></th><th>plain</th>"
         << (r.tta ? "<th>TTA (" + html_escape(infer::describe(*eo.tta)) + ")</th>" : "")
         << "</tr>\n";
  auto row = [&](const char* name, double plain, double tta) {
    p.html << "<tr><td>" << name << "</td><td>" << percent(plain) << "</td>"
           << (r.tta ? "<td>" + percent(tta) + "</td>" : "") << "</tr>\n";
  };
  row("top-1 accuracy", r.top1, r.tta ? r.tta->top1 : NAN);
  if (names.size() > 5) row("top-5 accuracy", r.top5, r.tta ? r.tta->top5 : NAN);
  row("macro F1", r.confusion.macro_f1(), r.tta ? r.tta->confusion.macro_f1() : NAN);
  p.html << "<tr><td>loss</td><td>" << fixed(r.loss) << "</td>"
         << (r.tta ? "<td>" + fixed(r.tta->loss) + "</td>" : "") << "</tr>\n</table>\n";
  if (r.tta)
    p.html << "<p>TTA changes top-1 accuracy by <b>" << fixed(100 * (r.tta->top1 - r.top1), 2)
           << " points</b>.</p>\n";
  if (ovr)
    p.html << "<p>Macro ROC AUC " << fixed(ovr->macro_auc) << ", macro average precision "
           << fixed(ovr->macro_ap) << ", expected calibration error " << fixed(rel->ece)
           << (r.tta ? " (TTA probabilities)" : "") << ".</p>\n";
  if (r.non_finite_rows > 0)
    p.html << "<p class=\"warn\">The model's output is NaN or infinite for " << r.non_finite_rows
           << " of " << r.examples
           << " examples (counted as wrong): its weights may have diverged.</p>\n";
  if (!skipped.empty())
    p.html << "<p class=\"warn\">ROC / precision-recall curves and calibration skipped: "
           << html_escape(skipped) << "</p>\n";

  // Training curves.
  const std::string log = run_dir.empty() ? "metrics.jsonl" : run_dir + "/metrics.jsonl";
  if (fs::exists(log)) {
    const auto rows = read_metrics(log);
    if (!rows.empty()) training_curves(p, rows);
  } else {
    p.html << "<p>No training log (" << html_escape(log) << "): no training curves.</p>\n";
  }

  // Confusion matrix and per-class table.
  p.html << "<h2>Classes</h2>\n<div class=\"row\">\n";
  plot::Heatmap hm;
  hm.title = "confusion matrix (colour: share of the true class)";
  hm.x_label = "predicted";
  hm.y_label = "true";
  hm.row_names = hm.col_names = names;
  for (int64_t t = 0; t < best.confusion.num_classes(); ++t) {
    hm.counts.emplace_back();
    for (int64_t q = 0; q < best.confusion.num_classes(); ++q)
      hm.counts.back().push_back(best.confusion.count(t, q));
  }
  p.chart("confusion.png", plot::render(hm), "confusion matrix");
  p.html << "<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
         << (ovr ? "<th>ROC AUC</th><th>AP</th>" : "") << "</tr>\n";
  const auto pc = best.confusion.per_class();
  for (size_t c = 0; c < pc.size(); ++c)
    p.html << "<tr><td>" << html_escape(names[c]) << "</td><td>" << fixed(pc[c].precision, 3)
           << "</td><td>" << fixed(pc[c].recall, 3) << "</td><td>" << fixed(pc[c].f1, 3)
           << "</td><td>" << pc[c].support << "</td>"
           << (ovr ? "<td>" + fixed(ovr->auc[c]) + "</td><td>" + fixed(ovr->ap[c]) + "</td>" : "")
           << "</tr>\n";
  p.html << "</table>\n</div>\n";

  if (ovr) {
    p.html << "<h2>Ranking and calibration</h2>\n<div class=\"row\">\n";
    plot::LineChart roc =
        chart("ROC, one class vs the rest", "false positive rate", "true positive rate");
    roc.diagonal = true;
    roc.legend = plot::Corner::bottom_right;
    roc.x_min = roc.y_min = 0;
    roc.x_max = roc.y_max = 1;
    plot::LineChart pr = chart("precision-recall, one class vs the rest", "recall", "precision");
    pr.x_min = pr.y_min = 0;
    pr.legend = plot::Corner::bottom_left;
    pr.x_max = pr.y_max = 1.02;
    for (size_t c = 0; c < names.size(); ++c) {
      if (ovr->roc[c].fpr.empty()) continue;
      roc.series.push_back(
          {names[c] + " " + fixed(ovr->auc[c], 3), ovr->roc[c].fpr, ovr->roc[c].tpr, false});
      pr.series.push_back(
          {names[c] + " " + fixed(ovr->ap[c], 3), ovr->pr[c].recall, ovr->pr[c].precision, false});
    }
    p.chart("roc.png", plot::render(roc, 560, 480), "ROC curves");
    p.chart("pr.png", plot::render(pr, 560, 480), "precision-recall curves");
    plot::LineChart cal =
        chart("reliability (ECE " + fixed(rel->ece) + ")", "confidence", "accuracy");
    cal.diagonal = true;
    cal.legend = plot::Corner::bottom_right;
    cal.x_min = cal.y_min = 0;
    cal.x_max = cal.y_max = 1;
    plot::Series s = series("top-1");
    s.markers = true;
    for (const auto& b : rel->bins)
      if (b.count > 0) {
        s.x.push_back(b.confidence);
        s.y.push_back(b.accuracy);
      }
    cal.series.push_back(s);
    p.chart("reliability.png", plot::render(cal, 480, 420), "reliability diagram");
    p.html << "</div>\n";
  }

  // The most confidently wrong examples.
  const auto wrong = confidently_wrong(best.probabilities, best.labels);
  const size_t shown = std::min<size_t>(wrong.size(), size_t(a.wrong));
  if (shown > 0) {
    p.html << "<h2>Most confidently wrong (" << shown << " of " << wrong.size()
           << ")</h2>\n<div>\n";
    for (size_t k = 0; k < shown; ++k) {
      const WrongPrediction& w = wrong[k];
      const std::string file = "wrong_" + std::to_string(k) + ".png";
      write_png(out + "/" + file, thumbnail(d, m, w.index));
      p.html << "<div class=\"wrong\"><img src=\"" << file << "\" alt=\"example " << w.index
             << "\"><br>" << html_escape(fs::path(example_name(d, w.index)).filename().string())
             << "<br>true " << html_escape(names[w.truth]) << "<br>predicted "
             << html_escape(names[w.predicted]) << " (" << fixed(100 * w.confidence, 1)
             << "%)</div>\n";
    }
    p.html << "</div>\n";
  }
  // Lets a headless browser (scripts/check_report_chromium.sh) see that every image loaded.
  p.html << "<script>window.addEventListener('load', function () {\n"
            "  var bad = Array.prototype.filter.call(document.images, function (i) {\n"
            "    return !(i.complete && i.naturalWidth > 0); });\n"
            "  document.body.setAttribute('data-images', document.images.length);\n"
            "  document.body.setAttribute('data-images-ok', bad.length ? 'no' : 'yes');\n"
            "});</script>\n</body></html>\n";
  write_text_file(out + "/index.html", p.html.str());
  std::printf("%s (%s) on %s: top-1 %s%s\nreport: %s/index.html\n", model.path.c_str(),
              m.name.c_str(), d.name.c_str(), percent(r.top1).c_str(),
              r.tta ? (", TTA " + percent(r.tta->top1)).c_str() : "", out.c_str());
}
}  // namespace

void add_report(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report",
      "Write an HTML report with PNG charts: training curves, confusion heatmap, per-class table, "
      "ROC / precision-recall curves, calibration, the most confidently wrong images");
  // MODEL may also be a training run's --out folder: its best.safetensors, and its metrics.jsonl
  // for the training curves (a model file's folder is searched for metrics.jsonl too).
  add_model_argument(*cmd, a->model);
  cmd->add_option("--data", a->data,
                  "Test data: an image folder, a .csv list, or an IDX folder (default: "
                  "Fashion-MNIST, for models trained on it)");
  cmd->add_option("--split", a->split, "test | train (IDX data)")
      ->capture_default_str()
      ->check(CLI::IsMember({"test", "train"}));
  cmd->add_option("--out", a->out, "Output folder (default: RUN/report)");
  cmd->add_option("--tta", a->tta, "Also evaluate with test-time augmentation (as eval --tta)");
  cmd->add_option("--wrong", a->wrong, "How many confidently wrong images to show")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  add_image_data_options(*cmd, a->images, /*training=*/false);
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_report(*a); });
}

}  // namespace convkit::cli
