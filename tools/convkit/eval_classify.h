#pragma once
// What `convkit eval` adds for a classifier beyond loss, top-k and the confusion matrix: TTA's
// gain, one-vs-rest ROC / precision-recall areas, calibration (ECE), the most confidently wrong
// examples, and with --out the same as eval.json plus every prediction as predictions.csv.
#include <CLI/CLI.hpp>
#include <string>

#include "convkit/infer/evaluate.h"
#include "image_data.h"

namespace convkit::cli {

struct EvalExtrasArgs {
  std::string tta;  // --tta SPEC (infer::parse_tta); empty: none
  int64_t most_wrong = 5;
  int64_t bins = 15;  // --calibration-bins
  std::string out;    // --out DIR
};

void add_eval_extras_options(CLI::App& cmd, EvalExtrasArgs& args);

// infer::EvalOptions for the arguments (probabilities kept: the extras need them).
infer::EvalOptions eval_options(const EvalExtrasArgs& args);

struct WrongPrediction {
  int64_t index, truth, predicted;
  double confidence;
};
// Wrong predictions of probabilities [N, C] against labels [N], most confident first (ties: data
// order). Rows with a NaN or infinite value have no prediction and are left out.
std::vector<WrongPrediction> confidently_wrong(const Tensor& probabilities, const Tensor& labels);

// The file of example i (image sets) or "#i" (IDX data).
std::string example_name(const ModelData& data, int64_t i);

// Prints the extras after the confusion matrix and writes --out. `class_names` name the classes.
void report_eval_extras(const EvalExtrasArgs& args, const infer::Evaluation& r,
                        const ModelData& data, const std::vector<std::string>& class_names,
                        const std::string& model_path);

}  // namespace convkit::cli
