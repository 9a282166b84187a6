#pragma once
// What the box CSV and VOC XML readers share: image probing (once per path), class lookup, the
// checks of include/convkit/data/detection.h's bad-input table and the issue log.
#include <map>
#include <string>

#include "convkit/data/detection.h"

namespace convkit::data::detail {

class DetectionListBuilder {
 public:
  explicit DetectionListBuilder(const DetectionListOptions& options);
  // Reports a problem at file:line and applies the policy (throws under strict).
  void issue(const std::string& file, int64_t line, const std::string& message,
             const std::string& action);
  // Index of the image at `path` in the list, adding it on first sight; -1 when it cannot be used
  // (reported once, with the first row naming it).
  int64_t image(const std::string& path, const std::string& file, int64_t line);
  // Checks the box against its image (clips or drops, reporting) and the class name, then adds it.
  void add_box(int64_t image, const std::string& class_name, detect::Box box, bool difficult,
               const std::string& file, int64_t line);
  // The list; throws naming `source` when no image is usable.
  DetectionList finish(const std::string& source);

 private:
  int64_t label_of(const std::string& name);

  DetectionListOptions options_;
  DetectionList list_;
  std::map<std::string, int64_t> image_index_;  // path -> index, -1 when unusable
  // Name -> label. Without a given class list, labels are provisional (first appearance) until
  // finish() sorts the names and relabels.
  std::map<std::string, int64_t> class_index_;
  bool classes_given_ = false;
};

}  // namespace convkit::data::detail
