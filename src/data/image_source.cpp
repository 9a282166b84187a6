#include "convkit/data/image_source.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "convkit/data/image_file.h"
#include "convkit/error.h"
#include "csv_record.h"
#include "folder_walk.h"

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

}  // namespace

std::vector<std::string> csv::split_record(const std::string& line, const std::string& where) {
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

namespace {

constexpr std::string_view kUtf8Bom = "\xef\xbb\xbf";  // Excel's "CSV UTF-8" starts with it

bool is_integer(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// An is_integer() label's value; -1 when it does not fit in int64 (reported as out of range).
int64_t parse_label(const std::string& s) {
  int64_t v = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() ? v : -1;
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
  const fs::path root = walk::canonical_root(dir);
  ImageSource s;
  std::vector<std::string> found;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code status_ec;
    if (hidden(p) || !it->is_directory(status_ec)) {
      if (status_ec && status_ec != std::errc::no_such_file_or_directory)
        s.skipped_.push_back({p.string(), "cannot be read (" + status_ec.message() + ")"});
      continue;
    }
    std::error_code link_ec;
    const fs::path target = fs::canonical(p, link_ec);
    if (link_ec) {
      s.skipped_.push_back({p.string(), "cannot be resolved (" + link_ec.message() + ")"});
      continue;
    }
    if (target == root || !walk::inside(target, root)) {
      s.skipped_.push_back(
          {p.string(), "a link to " + target.string() + ", " +
                           (target == root ? "the data root itself (a loop)"
                                           : "outside the data root " + root.string()) +
                           " (not followed)"});
      continue;
    }
    found.push_back(p.filename().string());
  }
  CONVKIT_CHECK(!ec, dir, ": cannot be listed (", ec.message(), ")");
  std::sort(found.begin(), found.end());
  CONVKIT_CHECK(!found.empty(), dir, ": no class folders (expected one sub-folder per class, e.g. ",
                dir, "/cat/001.jpg)");

  s.origin_ = dir;
  s.fixed_classes_ = !classes.empty();
  s.classes_ = classes.empty() ? found : classes;
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < s.classes_.size(); ++i) index[s.classes_[i]] = int64_t(i);
  for (const std::string& c : found)
    CONVKIT_CHECK(index.count(c), dir, ": folder '", c, "' is not one of the model's ",
                  s.classes_.size(), " classes (", known_list(s.classes_), ")");
  const std::set<std::string> present(found.begin(), found.end());
  for (const std::string& c : s.classes_) {
    const fs::path class_dir = fs::path(dir) / c;
    s.class_dirs_.push_back(class_dir.string());
    if (!present.count(c)) continue;  // a class the model knows, absent here
    walk::Listing listing;
    walk::list_files(class_dir, root, listing);
    std::vector<std::string> images;
    for (std::string& f : listing.files)
      (format_from_extension(f) == ImageFormat::unknown ? s.non_image_files_ : images)
          .push_back(std::move(f));
    std::sort(images.begin(), images.end());
    for (auto& p : images) s.entries_.push_back({std::move(p), index[c]});
    s.skipped_.insert(s.skipped_.end(), listing.skipped.begin(), listing.skipped.end());
  }
  std::sort(s.non_image_files_.begin(), s.non_image_files_.end());
  std::sort(s.skipped_.begin(), s.skipped_.end(),
            [](const SkippedEntry& a, const SkippedEntry& b) { return a.path < b.path; });
  CONVKIT_CHECK(!s.entries_.empty(), dir,
                ": no images (.jpg .jpeg .png .bmp .webp .tif .tiff) in its ", found.size(),
                " class folders");
  return s;
}

ImageSource ImageSource::from_csv(const std::string& csv_path,
                                  const std::vector<std::string>& classes) {
  std::ifstream f(csv_path);
  CONVKIT_CHECK(f.good(), csv_path, ": cannot open the image list (", std::strerror(errno), ")");
  return from_csv_stream(f, csv_path, classes);
}

ImageSource ImageSource::from_csv_stream(std::istream& f, const std::string& csv_path,
                                         const std::vector<std::string>& classes) {
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
    if (n == 1 && line.rfind(kUtf8Bom, 0) == 0) line.erase(0, kUtf8Bom.size());
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::vector<std::string> fields = csv::split_record(line, where);
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
  // Labels are class positions when the first row's is an integer, names otherwise; a list may
  // not mix them (one stray name would silently turn every position into a name).
  const bool integers = is_integer(rows.front().label);
  for (const Row& r : rows)
    CONVKIT_CHECK(is_integer(r.label) == integers, csv_path, ":", r.line, ": label '", r.label,
                  "' is ", integers ? "a class name" : "an integer", " but line ",
                  rows.front().line, "'s label '", rows.front().label, "' is ",
                  integers ? "an integer" : "a class name",
                  "; a list's labels are all class positions (0, 1, ...) or all class names");
  std::map<std::string, int64_t> index;
  if (integers) {
    // A class needs at least one row, so without a class list the rows bound the class count.
    const int64_t bound = classes.empty() ? int64_t(rows.size()) : int64_t(classes.size());
    int64_t max_label = 0;
    for (const Row& r : rows) {
      const int64_t label = parse_label(r.label);
      CONVKIT_CHECK(label >= 0 && label < bound, csv_path, ":", r.line, ": label ", r.label,
                    classes.empty()
                        ? detail::concat(" is not below the list's ", rows.size(),
                                         " rows (integer labels are class positions 0..K-1 and "
                                         "each class needs a row; is it a typo?)")
                        : detail::concat(" is out of range for the ", classes.size(), " classes (",
                                         known_list(classes), ")"));
      max_label = std::max(max_label, label);
    }
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
      label = parse_label(r.label);  // checked above
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
