#pragma once
// Evaluating a bundle on a labelled dataset: loss, top-k accuracy, the confusion matrix, and a
// count of rows whose output was not finite (docs/inference.md).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "convkit/data/dataset.h"
#include "convkit/infer/session.h"
#include "convkit/infer/tta.h"
#include "convkit/metrics/classification.h"

namespace convkit::infer {

struct Evaluation {
  int64_t examples = 0;
  double loss = 0;                        // mean cross-entropy (NaN when some output was NaN)
  double top1 = 0, top5 = 0;              // non-finite rows count as wrong
  int64_t non_finite_rows = 0;            // examples whose logits held a NaN or infinity
  metrics::ConfusionMatrix confusion{1};  // rows: true class
  // With EvalOptions::keep_probabilities: softmax probabilities [N, C] (f32; for TTA the mean
  // over the views) and the labels [N] (int64), in the data set's order.
  Tensor probabilities, labels;
  // With EvalOptions::tta: the same data evaluated with the views averaged (this Evaluation is
  // then the plain one, computed in the same pass from the unchanged view).
  std::shared_ptr<const Evaluation> tta;
};

struct EvalOptions {
  int64_t batch_size = 256;
  bool keep_probabilities = false;
  std::optional<TtaOptions> tta;
};

// Runs `session` over every example of `inputs` (already standardized: standardized() below) in
// batches (a data::DataLoader decodes ahead). `data_name` names the data in errors. Throws when the
// set is empty, when its examples are not the shape the model takes (naming the data, the shapes
// and the model), and when the model's class count differs from the data's (naming the model file
// and both counts).
Evaluation evaluate(const Session& session, const data::DatasetPtr& inputs,
                    const std::string& data_name, const EvalOptions& options = {});
// TTA's loss is the cross-entropy of the averaged probabilities (-log of the true class's mean
// probability); its top-k and confusion matrix rank the averaged probabilities.

// `ds` standardized as the bundle's training did (`ds` itself when the bundle has no statistics).
// Throws naming `data_name`, the model and both shapes when the examples' channels or size do
// not fit the model.
data::DatasetPtr standardized(const ModelBundle& bundle, data::DatasetPtr ds,
                              const std::string& data_name);

}  // namespace convkit::infer
