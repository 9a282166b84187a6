#include "convkit/data/image_source.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "convkit/data/image_file.h"
#include "convkit/error.h"

namespace convkit::data {

namespace fs = std::filesystem;

namespace {
bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// One CSV record (RFC 4180 quoting; a quoted field may not span lines). Unquoted fields are
// trimmed.
std::vector<std::string> split_csv(const std::string& line, const std::string& where) {
  std::vector<std::string> fields;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
        cur += line[++i];
      else if (c == '"')
        quoted = false;
      else
        cur += c;
    } else if (c == '"' && trim(cur).empty()) {
      quoted = was_quoted = true;
      cur.clear();
    } else if (c == ',') {
      fields.push_back(was_quoted ? cur : trim(cur));
      cur.clear();
      was_quoted = false;
    } else {
      cur += c;
    }
  }
  CONVKIT_CHECK(!quoted, where, ": unterminated quoted field");
  fields.push_back(was_quoted ? cur : trim(cur));
  return fields;
}

bool is_count(const std::string& s) {
  return !s.empty() && s.size() < 18 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string known_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 20; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 20) out += ", ...";
  return out;
}
}  // namespace

ImageSource ImageSource::from_folder(const std::string& dir,
                                     const std::vector<std::string>& classes) {
  std::error_code ec;
  CONVKIT_CHECK(fs::is_directory(dir, ec), dir,
                ": no such folder (an image folder has one sub-folder per class)");
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir, fs::directory_options::follow_directory_symlink))
    if (!hidden(e.path()) && e.is_directory()) found.push_back(e.path().filename().string());
  std::sort(found.begin(), found.end());
  CONVKIT_CHECK(!found.empty(), dir, ": no class folders (expected one sub-folder per class, e.g. ",
                dir, "/cat/001.jpg)");

  ImageSource s;
  s.origin_ = dir;
  s.fixed_classes_ = !classes.empty();
  s.classes_ = classes.empty() ? found : classes;
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < s.classes_.size(); ++i) index[s.classes_[i]] = int64_t(i);
  for (const std::string& c : found)
    CONVKIT_CHECK(index.count(c), dir, ": folder '", c, "' is not one of the model's ",
                  s.classes_.size(), " classes (", known_list(s.classes_), ")");
  for (const std::string& c : s.classes_) {
    const fs::path class_dir = fs::path(dir) / c;
    s.class_dirs_.push_back(class_dir.string());
    if (!fs::is_directory(class_dir, ec)) continue;  // a class the model knows, absent here
    std::vector<std::string> images;
    auto it = fs::recursive_directory_iterator(class_dir,
                                               fs::directory_options::follow_directory_symlink);
    for (auto e = fs::begin(it); e != fs::end(it); ++e) {
      if (hidden(e->path())) {
        if (e->is_directory()) e.disable_recursion_pending();
        continue;
      }
      if (e->is_directory()) continue;
      if (format_from_extension(e->path().string()) == ImageFormat::unknown)
        s.non_image_files_.push_back(e->path().string());
      else
        images.push_back(e->path().string());
    }
    std::sort(images.begin(), images.end());
    for (auto& p : images) s.entries_.push_back({std::move(p), index[c]});
  }
  std::sort(s.non_image_files_.begin(), s.non_image_files_.end());
  CONVKIT_CHECK(!s.entries_.empty(), dir,
                ": no images (.jpg .jpeg .png .bmp .webp .tif .tiff) in its ", found.size(),
                " class folders");
  return s;
}

ImageSource ImageSource::from_csv(const std::string& csv_path,
                                  const std::vector<std::string>& classes) {
  std::ifstream f(csv_path);
  CONVKIT_CHECK(f.good(), csv_path, ": cannot open the image list");
  const fs::path base = fs::path(csv_path).parent_path();

  struct Row {
    std::string path, label;
    int64_t line;
  };
  std::vector<Row> rows;
  size_t path_col = 0, label_col = 1;
  bool first = true;
  std::string line;
  for (int64_t n = 1; std::getline(f, line); ++n) {
    const std::string where = csv_path + ":" + std::to_string(n);
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::vector<std::string> fields = split_csv(line, where);
    if (first) {
      first = false;
      static const std::set<std::string> path_names{"path", "file", "filename", "image",
                                                    "image_path"};
      static const std::vector<std::string> label_names{"label", "class", "class_name", "category",
                                                        "target"};
      std::vector<std::string> low;
      for (auto& x : fields) low.push_back(lower(x));
      auto p =
          std::find_if(low.begin(), low.end(), [](auto& x) { return path_names.count(x) > 0; });
      if (p != low.end()) {
        path_col = size_t(p - low.begin());
        auto l = low.end();
        for (const auto& name : label_names)
          if (l == low.end()) l = std::find(low.begin(), low.end(), name);
        CONVKIT_CHECK(l != low.end(), where,
                      ": the header names no label column (one of label, class, "
                      "class_name, category, target)");
        label_col = size_t(l - low.begin());
        continue;
      }
    }
    CONVKIT_CHECK(fields.size() > std::max(path_col, label_col), where,
                  ": expected a path and a label, found ", fields.size(), " field",
                  fields.size() == 1 ? "" : "s");
    CONVKIT_CHECK(!fields[path_col].empty(), where, ": empty path");
    CONVKIT_CHECK(!fields[label_col].empty(), where, ": empty label for ", fields[path_col]);
    fs::path p(fields[path_col]);
    rows.push_back(
        {(p.is_absolute() ? p : base / p).lexically_normal().string(), fields[label_col], n});
  }
  CONVKIT_CHECK(!rows.empty(), csv_path, ": the image list has no rows");

  ImageSource s;
  s.origin_ = csv_path;
  s.fixed_classes_ = !classes.empty();
  const bool integers =
      std::all_of(rows.begin(), rows.end(), [](const Row& r) { return is_count(r.label); });
  std::map<std::string, int64_t> index;
  if (integers) {
    int64_t max_label = 0;
    for (const Row& r : rows) max_label = std::max<int64_t>(max_label, std::stoll(r.label));
    if (classes.empty())
      for (int64_t i = 0; i <= max_label; ++i) s.classes_.push_back(std::to_string(i));
    else
      s.classes_ = classes;
  } else {
    if (classes.empty()) {
      std::set<std::string> names;
      for (const Row& r : rows) names.insert(r.label);
      s.classes_.assign(names.begin(), names.end());
    } else {
      s.classes_ = classes;
    }
    for (size_t i = 0; i < s.classes_.size(); ++i) index[s.classes_[i]] = int64_t(i);
  }
  std::map<std::string, std::pair<std::string, int64_t>> seen;  // path -> (label, line)
  for (const Row& r : rows) {
    const std::string where = csv_path + ":" + std::to_string(r.line);
    auto [it, fresh] = seen.try_emplace(r.path, r.label, r.line);
    if (!fresh) {
      CONVKIT_CHECK(it->second.first == r.label, where, ": ", r.path, " is listed with label '",
                    r.label, "' here and '", it->second.first, "' on line ", it->second.second,
                    " (a classification list needs one label per image)");
      continue;
    }
    int64_t label;
    if (integers) {
      label = std::stoll(r.label);
      CONVKIT_CHECK(label < s.num_classes(), where, ": label ", label, " is out of range for the ",
                    s.num_classes(), " classes (", known_list(s.classes_), ")");
    } else {
      auto c = index.find(r.label);
      CONVKIT_CHECK(c != index.end(), where, ": label '", r.label, "' is not one of the ",
                    s.num_classes(), " classes (", known_list(s.classes_), ")");
      label = c->second;
    }
    s.entries_.push_back({r.path, label});
  }
  return s;
}

ImageSource ImageSource::open(const std::string& path, const std::vector<std::string>& classes) {
  return lower(fs::path(path).extension().string()) == ".csv" ? from_csv(path, classes)
                                                              : from_folder(path, classes);
}

ImageSource ImageSource::with_entries(std::vector<ImageEntry> entries) const {
  ImageSource s = *this;
  s.entries_ = std::move(entries);
  return s;
}

}  // namespace convkit::data
