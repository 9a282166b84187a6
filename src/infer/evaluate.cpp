#include "convkit/infer/evaluate.h"

#include <algorithm>
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/data/loader.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/loss.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::infer {

data::DatasetPtr standardized(const ModelBundle& b, data::DatasetPtr ds,
                              const std::string& data_name) {
  const Shape ex = ds->example_shape();
  CONVKIT_CHECK(ex.ndim() == 3 && ex[0] == b.in_channels, data_name, ": examples are ",
                ex.to_string(), " but ", b.describe(), " takes ", b.in_channels, "x", b.image_size,
                "x", b.image_size, " inputs",
                b.trained_on_images ? " (it was trained on image files: pass an image folder or "
                                      "a .csv list with --data)"
                                    : "");
  if (ex[1] != b.image_size || ex[2] != b.image_size) {
    try {
      check_input_size(b, std::min(ex[1], ex[2]));
    } catch (const Error& e) {
      throw Error(data_name + ": examples are " + ex.to_string() + "; " + e.what());
    }
  }
  if (b.standardization.mean.empty()) return ds;
  return std::make_shared<data::Normalized>(std::move(ds), b.standardization);
}

namespace {
// Sums over the batches of one evaluation: from logits (plain) or from probabilities (TTA).
struct Tally {
  explicit Tally(int64_t classes, bool keep) : confusion(classes), keep(keep) {}
  metrics::ConfusionMatrix confusion;
  bool keep;
  double loss_sum = 0;
  int64_t top1 = 0, top5 = 0, non_finite = 0, examples = 0;
  std::vector<Tensor> probabilities, labels;

  void add(const Tensor& scores, const Tensor& probs, const Tensor& labels_, double batch_loss) {
    const int64_t n = scores.size(0);
    loss_sum += batch_loss * double(n);
    top1 += metrics::topk_correct(scores, labels_, 1);
    top5 += metrics::topk_correct(scores, labels_, 5);
    non_finite += count_non_finite_rows(scores);
    confusion.add(scores, labels_);
    examples += n;
    if (keep) {
      probabilities.push_back(probs);
      labels.push_back(labels_);
    }
  }

  Evaluation result() && {
    Evaluation r;
    r.examples = examples;
    r.loss = loss_sum / double(examples);
    r.top1 = double(top1) / double(examples);
    r.top5 = double(top5) / double(examples);
    r.non_finite_rows = non_finite;
    r.confusion = std::move(confusion);
    if (keep) {
      r.probabilities = concat(probabilities, 0);
      r.labels = concat(labels, 0);
    }
    return r;
  }
};

// Mean negative log of each row's true-class probability.
double nll(const Tensor& probs, const Tensor& labels) {
  const int64_t n = probs.size(0), c = probs.size(1);
  const float* p = probs.data<float>();
  const int64_t* y = labels.data<int64_t>();
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum -= std::log(double(p[i * c + y[i]]));
  return sum / double(n);
}
}  // namespace

Evaluation evaluate(const Session& session, const data::DatasetPtr& inputs,
                    const std::string& data_name, const EvalOptions& options) {
  const ModelBundle& b = session.bundle();
  CONVKIT_CHECK(inputs->size() > 0, data_name, ": no examples to evaluate ", b.describe(), " on");
  CONVKIT_CHECK(options.batch_size > 0, "evaluate: batch size must be positive, got ",
                options.batch_size);
  const std::vector<TtaView> views =
      options.tta ? tta_views(*options.tta) : std::vector<TtaView>{TtaView{}};
  const int64_t classes = inputs->num_classes();
  Tally plain(classes, options.keep_probabilities), tta(classes, options.keep_probabilities);
  // The loader decodes the next batches on its workers while the model runs.
  data::DataLoader loader(inputs, {.batch_size = options.batch_size, .shuffle = false});
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    Tensor logits = session.logits(batch->inputs);
    CONVKIT_CHECK(logits.size(1) == classes, b.source, ": the model predicts ", logits.size(1),
                  " classes, but ", data_name, " has ", classes,
                  "; evaluate it on data with the classes it was trained on");
    NoGradGuard no_grad;
    // Probabilities only when kept or averaged: plain evaluation ranks the logits.
    const Tensor probs = options.keep_probabilities || options.tta ? softmax(logits, 1) : Tensor();
    plain.add(logits, probs, batch->labels, cross_entropy(logits, batch->labels).item());
    if (!options.tta) continue;
    Tensor sum = probs.clone();
    for (size_t v = 1; v < views.size(); ++v)
      sum = add(sum, softmax(session.logits(tta_view(batch->inputs, views[v])), 1));
    const Tensor mean = mul(sum, 1.0 / double(views.size()));
    tta.add(mean, mean, batch->labels, nll(mean, batch->labels));
  }
  Evaluation r = std::move(plain).result();
  if (options.tta) r.tta = std::make_shared<const Evaluation>(std::move(tta).result());
  return r;
}

}  // namespace convkit::infer
