#include "eval_classify.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "convkit/error.h"
#include "convkit/metrics/curves.h"
#include "output_files.h"

namespace convkit::cli {

namespace {
// NaN and infinity are no JSON numbers: null says "undefined".
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

nlohmann::json summary(const infer::Evaluation& r) {
  return {{"examples", r.examples},
          {"loss", number(r.loss)},
          {"top1", number(r.top1)},
          {"top5", number(r.top5)},
          {"non_finite_rows", r.non_finite_rows},
          {"macro_f1", number(r.confusion.macro_f1())}};
}

}  // namespace

std::string example_name(const ModelData& d, int64_t i) {
  return d.images ? d.images->entry(i).path : "#" + std::to_string(i);
}

std::vector<WrongPrediction> confidently_wrong(const Tensor& probs, const Tensor& labels) {
  const int64_t n = probs.size(0), c = probs.size(1);
  const float* p = probs.data<float>();
  const int64_t* y = labels.data<int64_t>();
  std::vector<WrongPrediction> out;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * c;
    if (!std::all_of(row, row + c, [](float v) { return std::isfinite(v); })) continue;
    const int64_t best = std::max_element(row, row + c) - row;
    if (best != y[i]) out.push_back({i, y[i], best, row[best]});
  }
  std::stable_sort(out.begin(), out.end(), [](const WrongPrediction& a, const WrongPrediction& b) {
    return a.confidence > b.confidence;
  });
  return out;
}

void add_eval_extras_options(CLI::App& cmd, EvalExtrasArgs& a) {
  cmd.add_option("--tta", a.tta,
                 "Test-time augmentation: average the probabilities over views, e.g. flip,5crop "
                 "(also 5crop=FRACTION, zoom=FACTOR); prints the gain over plain evaluation");
  cmd.add_option("--most-wrong", a.most_wrong,
                 "How many of the most confidently wrong examples to list")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--calibration-bins", a.bins, "Confidence bins of the calibration (ECE)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd.add_option("--out", a.out,
                 "Also write eval.json (every metric, per class) and predictions.csv here");
}

infer::EvalOptions eval_options(const EvalExtrasArgs& a) {
  infer::EvalOptions o;
  o.keep_probabilities = true;
  if (!a.tta.empty()) o.tta = infer::parse_tta(a.tta);
  return o;
}

void report_eval_extras(const EvalExtrasArgs& a, const infer::Evaluation& r, const ModelData& d,
                        const std::vector<std::string>& class_names,
                        const std::string& model_path) {
  std::vector<std::string> names = class_names;  // a name for every class: its index if none
  for (int64_t c = int64_t(names.size()); c < r.confusion.num_classes(); ++c)
    names.push_back(std::to_string(c));
  nlohmann::json j = {{"model", model_path}, {"data", d.name}, {"plain", summary(r)}};
  const infer::Evaluation& best = r.tta ? *r.tta : r;  // the extras describe what eval reports
  if (r.tta) {
    const infer::Evaluation& t = *r.tta;
    const std::string views = infer::describe(*eval_options(a).tta);
    std::printf("\nTTA (%s): loss %.4f, top-1 %.2f%% (%+.2f points over plain %.2f%%)\n",
                views.c_str(), t.loss, 100 * t.top1, 100 * (t.top1 - r.top1), 100 * r.top1);
    j["tta"] = summary(t);
    j["tta"]["views"] = views;
    j["tta"]["top1_gain"] = t.top1 - r.top1;
  }
  const std::string which = r.tta ? " (TTA probabilities)" : "";

  // Ranking quality per class, one-vs-rest; refused (and said so) when some output is not finite.
  nlohmann::json per_class = nlohmann::json::array();
  const std::vector<metrics::ClassReport> pc = best.confusion.per_class();
  std::optional<metrics::OneVsRest> ovr;
  std::optional<metrics::Reliability> rel;
  try {
    ovr = metrics::one_vs_rest(best.probabilities, best.labels);
    rel = metrics::reliability(best.probabilities, best.labels, int(a.bins));
  } catch (const Error& e) {
    std::printf("\nROC / precision-recall curves and calibration skipped: %s\n", e.what());
  }
  if (ovr) {
    std::printf("\nOne-vs-rest%s: macro ROC AUC %.4f, macro average precision %.4f\n",
                which.c_str(), ovr->macro_auc, ovr->macro_ap);
    std::printf("  %-16s %8s %8s\n", "class", "ROC AUC", "AP");
    for (size_t c = 0; c < ovr->auc.size(); ++c)
      std::printf("  %-16s %8.4f %8.4f\n", names[c].c_str(), ovr->auc[c], ovr->ap[c]);
    if (!ovr->undefined.empty())
      std::printf("  (%zu classes without examples or without negatives have no curve)\n",
                  ovr->undefined.size());
  }
  if (rel)
    std::printf("\nCalibration%s: expected calibration error %.4f over %lld bins\n", which.c_str(),
                rel->ece, (long long)a.bins);
  for (size_t c = 0; c < pc.size(); ++c) {
    nlohmann::json row = {{"class", names[c]},
                          {"precision", pc[c].precision},
                          {"recall", pc[c].recall},
                          {"f1", pc[c].f1},
                          {"support", pc[c].support}};
    if (ovr) {
      row["roc_auc"] = number(ovr->auc[c]);
      row["average_precision"] = number(ovr->ap[c]);
    }
    per_class.push_back(row);
  }
  j["per_class"] = per_class;
  if (ovr)
    j["macro"] = {{"roc_auc", number(ovr->macro_auc)},
                  {"average_precision", number(ovr->macro_ap)}};
  if (rel) {
    nlohmann::json bins = nlohmann::json::array();
    for (const auto& b : rel->bins)
      bins.push_back({{"lower", b.lower},
                      {"upper", b.upper},
                      {"count", b.count},
                      {"confidence", b.confidence},
                      {"accuracy", b.accuracy}});
    j["calibration"] = {{"ece", rel->ece}, {"bins", bins}};
  }
  j["confusion"] = nlohmann::json::array();
  for (int64_t t = 0; t < best.confusion.num_classes(); ++t) {
    std::vector<int64_t> row;
    for (int64_t p = 0; p < best.confusion.num_classes(); ++p)
      row.push_back(best.confusion.count(t, p));
    j["confusion"].push_back(row);
  }

  const std::vector<WrongPrediction> wrong = confidently_wrong(best.probabilities, best.labels);
  const size_t shown = std::min<size_t>(wrong.size(), size_t(a.most_wrong));
  if (shown > 0) {
    std::printf("\nMost confidently wrong%s (%zu of %zu wrong):\n", which.c_str(), shown,
                wrong.size());
    for (size_t k = 0; k < shown; ++k) {
      const WrongPrediction& w = wrong[k];
      std::printf("  %s: true %s, predicted %s (%.1f%%)\n", example_name(d, w.index).c_str(),
                  names[w.truth].c_str(), names[w.predicted].c_str(), 100 * w.confidence);
    }
  }
  j["most_wrong"] = nlohmann::json::array();
  for (size_t k = 0; k < std::min<size_t>(wrong.size(), 100); ++k)
    j["most_wrong"].push_back({{"example", example_name(d, wrong[k].index)},
                               {"index", wrong[k].index},
                               {"true", names[wrong[k].truth]},
                               {"predicted", names[wrong[k].predicted]},
                               {"confidence", wrong[k].confidence}});

  if (a.out.empty()) return;
  make_output_dir(a.out, "eval");
  write_text_file(a.out + "/eval.json", j.dump(1) + "\n");
  std::ostringstream csv;
  csv << "index,example,true,predicted,confidence";
  for (const std::string& n : names) csv << ",p_" << csv_field(n);
  csv << "\n";
  const int64_t n = best.probabilities.size(0), c = best.probabilities.size(1);
  const float* p = best.probabilities.data<float>();
  const int64_t* y = best.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * c;
    const bool finite = std::all_of(row, row + c, [](float v) { return std::isfinite(v); });
    const int64_t arg = std::max_element(row, row + c) - row;
    csv << i << "," << csv_field(example_name(d, i)) << "," << csv_field(names[y[i]]) << ","
        << (finite ? csv_field(names[arg]) : "") << "," << (finite ? row[arg] : NAN);
    for (int64_t k = 0; k < c; ++k) csv << "," << row[k];
    csv << "\n";
  }
  write_text_file(a.out + "/predictions.csv", csv.str());
  std::printf("\nwrote %s/eval.json and %s/predictions.csv\n", a.out.c_str(), a.out.c_str());
}

}  // namespace convkit::cli
