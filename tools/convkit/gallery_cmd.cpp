// convkit enrol / identify: an embedding gallery file (embed/gallery.h) of named identities, and
// queries against it: the nearest identity, or "unknown" beyond the threshold.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "convkit/embed/embedder.h"
#include "convkit/embed/gallery.h"

namespace convkit::cli {

namespace {
struct GalleryArgs {
  ModelArgs model;
  std::string gallery, name;
  std::vector<std::string> images;
  double threshold = -1;  // < 0: the gallery's, else the model's
  RuntimeOptions runtime;
};

void run_enrol(const GalleryArgs& a) {
  apply_runtime_options(a.runtime);
  const embed::Embedder emb(load_model_argument(a.model));
  embed::Gallery g;
  if (std::filesystem::exists(a.gallery)) {
    g = embed::Gallery::load(a.gallery);
  } else {
    CONVKIT_CHECK(a.threshold >= 0 || emb.threshold(), a.model.path,
                  " has no saved verification threshold; pass --threshold for the new gallery");
    g = embed::Gallery(a.threshold >= 0 ? a.threshold : *emb.threshold(), a.model.path);
  }
  if (a.threshold >= 0) g.set_threshold(a.threshold);
  g.enrol(a.name, emb.embed_files(a.images));
  g.save(a.gallery);
  std::printf("enrolled %zu images as '%s'; %s holds %zu identities (threshold %.4f)\n",
              a.images.size(), a.name.c_str(), a.gallery.c_str(), g.names().size(), g.threshold());
}

void run_identify(const GalleryArgs& a) {
  apply_runtime_options(a.runtime);
  const embed::Embedder emb(load_model_argument(a.model));
  embed::Gallery g = embed::Gallery::load(a.gallery);
  if (a.threshold >= 0) g.set_threshold(a.threshold);
  const Tensor e = emb.embed_files(a.images);
  for (size_t i = 0; i < a.images.size(); ++i) {
    const embed::Identification r = g.identify(e.select(int64_t(i)));
    std::printf("%s: %s (distance %.4f to %s, threshold %.4f)\n", a.images[i].c_str(),
                r.name.c_str(), r.distance, r.nearest.c_str(), g.threshold());
  }
}
}  // namespace

void add_gallery_commands(CLI::App& app) {
  auto e = std::make_shared<GalleryArgs>();
  auto* enrol = app.add_subcommand("enrol", "Add images of one identity to an embedding gallery");
  add_model_argument(*enrol, e->model);
  enrol->add_option("GALLERY", e->gallery, "Gallery file (created when missing)")->required();
  enrol->add_option("--name", e->name, "The identity's name")->required();
  enrol->add_option("IMAGES", e->images, "Image files of the identity")->required();
  enrol->add_option("--threshold", e->threshold,
                    "Distance at or below which a query matches (default: the model's)");
  add_runtime_options(*enrol, e->runtime);
  enrol->callback([e] { run_enrol(*e); });

  auto q = std::make_shared<GalleryArgs>();
  auto* identify =
      app.add_subcommand("identify", "Name the identity of images from an embedding gallery");
  add_model_argument(*identify, q->model);
  identify->add_option("GALLERY", q->gallery, "Gallery file written by `convkit enrol`")
      ->required();
  identify->add_option("IMAGES", q->images, "Image files to identify")->required();
  identify->add_option("--threshold", q->threshold,
                       "Distance beyond which a query is unknown (default: the gallery's)");
  add_runtime_options(*identify, q->runtime);
  identify->callback([q] { run_identify(*q); });
}

}  // namespace convkit::cli
