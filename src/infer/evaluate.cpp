#include "convkit/infer/evaluate.h"

#include <algorithm>
#include <cmath>

#include "convkit/autograd.h"
#include "convkit/data/loader.h"
#include "convkit/ops/loss.h"

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

Evaluation evaluate(const Session& session, const data::DatasetPtr& inputs,
                    const std::string& data_name, int64_t batch_size) {
  const ModelBundle& b = session.bundle();
  CONVKIT_CHECK(inputs->size() > 0, data_name, ": no examples to evaluate ", b.describe(), " on");
  CONVKIT_CHECK(batch_size > 0, "evaluate: batch size must be positive, got ", batch_size);
  Evaluation r;
  r.confusion = metrics::ConfusionMatrix(inputs->num_classes());
  double loss_sum = 0;
  int64_t top1 = 0, top5 = 0;
  // The loader decodes the next batches on its workers while the model runs.
  data::DataLoader loader(inputs, {.batch_size = batch_size, .shuffle = false});
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    Tensor logits = session.logits(batch->inputs);
    CONVKIT_CHECK(logits.size(1) == inputs->num_classes(), b.source, ": the model predicts ",
                  logits.size(1), " classes, but ", data_name, " has ", inputs->num_classes(),
                  "; evaluate it on data with the classes it was trained on");
    const int64_t n = logits.size(0);
    NoGradGuard no_grad;
    loss_sum += cross_entropy(logits, batch->labels).item() * double(n);
    top1 += metrics::topk_correct(logits, batch->labels, 1);
    top5 += metrics::topk_correct(logits, batch->labels, 5);
    r.non_finite_rows += count_non_finite_rows(logits);
    r.confusion.add(logits, batch->labels);
    r.examples += n;
  }
  r.loss = loss_sum / double(r.examples);
  r.top1 = double(top1) / double(r.examples);
  r.top5 = double(top5) / double(r.examples);
  return r;
}

}  // namespace convkit::infer
