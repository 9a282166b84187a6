#include "convkit/embed/embedder.h"

#include <nlohmann/json.hpp>
#include <numeric>

#include "convkit/embed/batch_loss.h"
#include "convkit/infer/preprocess.h"
#include "convkit/ops/shape_ops.h"

namespace convkit::embed {

Embedder::Embedder(infer::ModelBundle bundle) : session_(std::move(bundle)) {
  const infer::ModelBundle& b = session_.bundle();
  auto it = b.metadata.find("embedding");
  CONVKIT_CHECK(it != b.metadata.end(), b.describe(),
                " is not an embedding model (its metadata has no 'embedding' entry); train one "
                "with `convkit train --task embed`");
  const auto j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  CONVKIT_CHECK(j.is_object() && j.contains("dim") && j["dim"].is_number_integer(), b.describe(),
                ": malformed 'embedding' metadata (expected a JSON object with an integer 'dim'): ",
                it->second);
  dim_ = j["dim"].get<int64_t>();
  CONVKIT_CHECK(dim_ == b.num_classes, b.describe(), ": 'embedding' metadata says dim ", dim_,
                " but the model outputs ", b.num_classes, " values");
  if (j.contains("threshold")) {
    CONVKIT_CHECK(j["threshold"].is_number() && j["threshold"].get<double>() >= 0, b.describe(),
                  ": the 'embedding' threshold must be a non-negative number, got ",
                  j["threshold"].dump());
    threshold_ = j["threshold"].get<double>();
  }
}

Tensor Embedder::embed(const Tensor& inputs) const { return l2_normalize(session_.logits(inputs)); }

Tensor Embedder::embed_files(const std::vector<std::string>& paths) const {
  std::vector<Tensor> inputs;
  for (const std::string& p : paths) inputs.push_back(infer::preprocess_file(bundle(), p));
  return embed(infer::stack_inputs(inputs));
}

EmbeddedSet Embedder::embed_dataset(const data::Dataset& ds, int64_t batch) const {
  EmbeddedSet s;
  TensorList parts;
  const int64_t n = ds.size();
  CONVKIT_CHECK(n > 0, "embed_dataset: the data set is empty");
  for (int64_t begin = 0; begin < n; begin += batch) {
    std::vector<int64_t> idx(size_t(std::min(batch, n - begin)));
    std::iota(idx.begin(), idx.end(), begin);
    const data::Batch b = ds.get_batch(idx);
    parts.push_back(embed(b.inputs));
    s.labels.insert(s.labels.end(), b.labels.data<int64_t>(),
                    b.labels.data<int64_t>() + b.labels.numel());
  }
  s.embeddings = concat(parts, 0);
  return s;
}

}  // namespace convkit::embed
