// Box lists: the shared checks (detection_list_builder.h) and the box CSV reader (format and
// bad-input table in include/convkit/data/detection.h).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "convkit/error.h"
#include "data/detection_list_builder.h"

namespace convkit::data {

namespace fs = std::filesystem;

int64_t DetectionList::num_objects() const {
  int64_t n = 0;
  for (const DetectionImage& im : images) n += int64_t(im.objects.size());
  return n;
}

namespace detail {

DetectionListBuilder::DetectionListBuilder(const DetectionListOptions& options)
    : options_(options), classes_given_(!options.class_names.empty()) {
  for (std::size_t i = 0; i < options.class_names.size(); ++i) {
    CONVKIT_CHECK(class_index_.emplace(options.class_names[i], int64_t(i)).second,
                  "detection data: class '", options.class_names[i], "' is listed twice");
    list_.class_names.push_back(options.class_names[i]);
  }
}

void DetectionListBuilder::issue(const std::string& file, int64_t line, const std::string& message,
                                 const std::string& action) {
  const std::string where = line > 0 ? file + ":" + std::to_string(line) : file;
  if (options_.policy == BadDataPolicy::strict)
    throw Error(where + ": " + message + " (--strict; without it: " + action + ")");
  BoxIssue i{file, line, where + ": " + message, action};
  if (options_.on_issue) options_.on_issue(i);
  list_.issues.push_back(std::move(i));
}

int64_t DetectionListBuilder::image(const std::string& path, const std::string& file,
                                    int64_t line) {
  auto it = image_index_.find(path);
  if (it != image_index_.end()) return it->second;
  int64_t index = -1;
  try {
    const ImageProbe probe = check_image_file(path);
    CONVKIT_CHECK(probe.width > 0 && probe.height > 0, path,
                  ": the header does not give the image size");
    index = int64_t(list_.images.size());
    list_.images.push_back({path, probe.width, probe.height, {}});
  } catch (const Error& e) {
    image_index_[path] = -1;
    issue(file, line, e.what(), "image skipped");
    return -1;
  }
  image_index_[path] = index;
  return index;
}

int64_t DetectionListBuilder::label_of(const std::string& name) {
  auto it = class_index_.find(name);
  if (it != class_index_.end()) return it->second;
  if (classes_given_) return -1;
  const int64_t label = int64_t(list_.class_names.size());
  list_.class_names.push_back(name);
  class_index_[name] = label;
  return label;
}

void DetectionListBuilder::add_box(int64_t image, const std::string& class_name, detect::Box b,
                                   bool difficult, const std::string& file, int64_t line) {
  DetectionImage& im = list_.images[size_t(image)];
  const int64_t label = label_of(class_name);
  std::ostringstream box;
  box << "[" << b.x1 << ", " << b.y1 << ", " << b.x2 << ", " << b.y2 << "]";
  if (label < 0) {
    std::string known;
    for (const std::string& n : list_.class_names) known += (known.empty() ? "" : ", ") + n;
    return issue(file, line, "unknown class '" + class_name + "' (classes: " + known + ")",
                 "row skipped");
  }
  if (!(std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) && std::isfinite(b.y2)))
    return issue(file, line, "box " + box.str() + " has a coordinate that is not finite",
                 "box dropped");
  if (b.x2 < b.x1 || b.y2 < b.y1)
    return issue(file, line,
                 "box " + box.str() +
                     " has x2 < x1 or y2 < y1; columns are x1,y1,x2,y2 (corners, not a size)",
                 "box dropped");
  const float w = float(im.width), h = float(im.height);
  const detect::Box clipped{std::clamp(b.x1, 0.0f, w), std::clamp(b.y1, 0.0f, h),
                            std::clamp(b.x2, 0.0f, w), std::clamp(b.y2, 0.0f, h)};
  if (clipped.area() <= 0)
    return issue(file, line,
                 "box " + box.str() +
                     (b.area() <= 0 ? " has zero area"
                                    : " lies outside the " + std::to_string(im.width) + "x" +
                                          std::to_string(im.height) + " image " + im.path),
                 "box dropped");
  if (!(clipped == b))
    issue(file, line,
          "box " + box.str() + " extends outside the " + std::to_string(im.width) + "x" +
              std::to_string(im.height) + " image " + im.path,
          "clipped");
  im.objects.push_back({label, clipped, difficult});
}

DetectionList DetectionListBuilder::finish(const std::string& source) {
  CONVKIT_CHECK(!list_.images.empty(), source,
                ": no usable image (every row was skipped; see the messages above)");
  if (!classes_given_) {  // relabel by sorted name
    std::vector<std::string> sorted = list_.class_names;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> relabel(sorted.size());
    for (std::size_t i = 0; i < sorted.size(); ++i) relabel[class_index_[sorted[i]]] = int64_t(i);
    for (DetectionImage& im : list_.images)
      for (ObjectBox& o : im.objects) o.label = relabel[size_t(o.label)];
    list_.class_names = sorted;
  }
  return std::move(list_);
}

}  // namespace detail

namespace {

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> f;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      f.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  f.push_back(cur);
  for (std::string& s : f) {  // trim spaces
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
  }
  return f;
}

bool parse_float(const std::string& s, float* out) {
  if (s.empty()) return false;
  std::istringstream is(s);
  is.imbue(std::locale::classic());
  is >> *out;
  return !is.fail() && is.eof();
}

}  // namespace

DetectionList read_box_csv(const std::string& csv_path, const DetectionListOptions& options) {
  std::ifstream in(csv_path);
  CONVKIT_CHECK(in.good(), csv_path, ": cannot open the box list (check the path)");
  const fs::path dir = fs::path(csv_path).parent_path();
  detail::DetectionListBuilder b(options);
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \r") == std::string::npos || line[0] == '#') continue;
    const std::vector<std::string> f = split_csv(line);
    if (f.size() != 6) {
      b.issue(csv_path, n,
              "expected 6 fields (path,class,x1,y1,x2,y2), found " + std::to_string(f.size()),
              "row skipped");
      continue;
    }
    float c[4];
    const bool numbers = parse_float(f[2], &c[0]) && parse_float(f[3], &c[1]) &&
                         parse_float(f[4], &c[2]) && parse_float(f[5], &c[3]);
    const bool negative =
        f[1].empty() && f[2].empty() && f[3].empty() && f[4].empty() && f[5].empty();
    if (!numbers && !negative) {
      if (n == 1) continue;  // the header
      b.issue(
          csv_path, n,
          "coordinates '" + f[2] + "," + f[3] + "," + f[4] + "," + f[5] + "' are not four numbers",
          "row skipped");
      continue;
    }
    if (f[0].empty()) {
      b.issue(csv_path, n, "the image path is empty", "row skipped");
      continue;
    }
    const fs::path p(f[0]);
    const int64_t image = b.image((p.is_absolute() ? p : dir / p).string(), csv_path, n);
    if (image < 0 || negative) continue;
    if (f[1].empty()) {
      b.issue(csv_path, n,
              "the class is empty (a row for an image without objects leaves all "
              "five fields empty: path,,,,,)",
              "row skipped");
      continue;
    }
    b.add_box(image, f[1], {c[0], c[1], c[2], c[3]}, false, csv_path, n);
  }
  return b.finish(csv_path);
}

}  // namespace convkit::data
