// convkit verify MODEL IMG1 IMG2: the embedding distance of two images and same / different by the
// threshold saved with the model (or --threshold).
#include <cstdio>

#include "commands.h"
#include "convkit/embed/embedder.h"
#include "convkit/embed/verification.h"

namespace convkit::cli {

namespace {
struct VerifyArgs {
  ModelArgs model;
  std::string first, second;
  double threshold = -1;  // < 0: the model's
  RuntimeOptions runtime;
};

void run_verify(const VerifyArgs& a) {
  apply_runtime_options(a.runtime);
  const embed::Embedder emb(load_model_argument(a.model));
  double t = a.threshold;
  if (t < 0) {
    CONVKIT_CHECK(emb.threshold().has_value(), a.model.path,
                  " has no saved verification threshold; pass --threshold");
    t = *emb.threshold();
  }
  const Tensor e = emb.embed_files({a.first, a.second});
  embed::Pairs pair{{0}, {1}, {0}};
  const double d = embed::pair_distances(e, pair)[0];
  std::printf("distance %.4f (threshold %.4f): %s\n", d, t, d <= t ? "same" : "different");
}
}  // namespace

void add_verify(CLI::App& app) {
  auto a = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify", "Same identity or not: the embedding distance of two images against a threshold");
  add_model_argument(*cmd, a->model);
  cmd->add_option("IMG1", a->first, "First image file")->required();
  cmd->add_option("IMG2", a->second, "Second image file")->required();
  cmd->add_option("--threshold", a->threshold,
                  "Distance at or below which the images match (default: the model's)");
  add_runtime_options(*cmd, a->runtime);
  cmd->callback([a] { run_verify(*a); });
}

}  // namespace convkit::cli
