#include "viz_images.h"

#include <cstdio>
#include <filesystem>
#include <set>

#include "convkit/data/image_file.h"
#include "convkit/error.h"

namespace convkit::cli {

std::vector<VizImage> read_viz_images(const infer::ModelBundle& bundle,
                                      const std::vector<std::string>& paths) {
  std::vector<VizImage> out;
  std::set<std::string> stems;
  for (const std::string& p : paths) {
    try {
      std::string stem = std::filesystem::path(p).stem().string();
      if (!stems.insert(stem).second) stem.append("-").append(std::to_string(out.size()));
      stems.insert(stem);
      out.push_back({p, stem, data::read_image(p, bundle.preprocessing.color).image});
    } catch (const data::ImageFileError& e) {
      std::fprintf(stderr, "convkit: warning: %s; skipped\n", e.what());
    }
  }
  return out;
}

void check_all_images_used(const char* command, size_t used, size_t given) {
  CONVKIT_CHECK(used == given, command, ": ", given - used, " of ", given,
                " files could not be used (see the warnings)");
}

}  // namespace convkit::cli
