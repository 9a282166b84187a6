// Pascal VOC annotation files (include/convkit/data/detection.h). VOC's XML has a fixed layout of
// plain elements without attributes, so a tag scanner reads it; anything it cannot find is an
// error naming the file and the element.
//
// VOC coordinates are 1-based inclusive pixel indices (xmin = 1 is the first column): the box in
// continuous coordinates is [xmin - 1, ymin - 1, xmax, ymax].
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "convkit/error.h"
#include "data/detection_list_builder.h"

namespace convkit::data {

namespace fs = std::filesystem;

namespace {

// Text between <tag> and </tag> in [from, to) of xml; npos-free: returns false when absent.
bool element(const std::string& xml, const std::string& tag, std::size_t from, std::size_t to,
             std::string* text, std::size_t* end = nullptr) {
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  const std::size_t a = xml.find(open, from);
  if (a == std::string::npos || a >= to) return false;
  const std::size_t b = xml.find(close, a);
  if (b == std::string::npos || b > to) return false;
  *text = xml.substr(a + open.size(), b - a - open.size());
  text->erase(0, text->find_first_not_of(" \t\r\n"));
  text->erase(text->find_last_not_of(" \t\r\n") + 1);
  if (end) *end = b + close.size();
  return true;
}

// The number in <tag> within [from, to); empty with the reason in *why when absent or malformed.
bool number(const std::string& xml, const std::string& tag, std::size_t from, std::size_t to,
            float* v, std::string* why) {
  std::string t;
  if (!element(xml, tag, from, to, &t)) {
    *why = "an <object> has no <" + tag + ">";
    return false;
  }
  std::istringstream is(t);
  is.imbue(std::locale::classic());
  is >> *v;
  if (is.fail() || !is.eof()) *why = "<" + tag + "> is '" + t + "', not a number";
  return !is.fail() && is.eof();
}

void read_one(const std::string& file, detail::DetectionListBuilder& b) {
  std::ifstream in(file);
  CONVKIT_CHECK(in.good(), file, ": cannot open the annotation file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string xml = ss.str();
  std::string filename;
  if (!element(xml, "filename", 0, xml.size(), &filename))
    return b.issue(file, 0, "no <filename> element (is this a VOC annotation?)", "image skipped");
  const fs::path dir = fs::path(file).parent_path();
  fs::path image = dir.parent_path() / "JPEGImages" / filename;
  if (!fs::exists(image)) image = dir / filename;
  const int64_t index = b.image(image.string(), file, 0);
  if (index < 0) return;
  std::string obj;
  for (std::size_t pos = 0, end = 0; element(xml, "object", pos, xml.size(), &obj, &end);
       pos = end) {
    const std::size_t start = xml.rfind("<object>", end);
    std::string name, difficult = "0", why;
    float x1, y1, x2, y2;
    if (!element(xml, "name", start, end, &name)) {
      b.issue(file, 0, "an <object> has no <name>", "row skipped");
      continue;
    }
    element(xml, "difficult", start, end, &difficult);
    if (!number(xml, "xmin", start, end, &x1, &why) ||
        !number(xml, "ymin", start, end, &y1, &why) ||
        !number(xml, "xmax", start, end, &x2, &why) ||
        !number(xml, "ymax", start, end, &y2, &why)) {
      b.issue(file, 0, "object '" + name + "': " + why, "row skipped");
      continue;
    }
    b.add_box(index, name, {x1 - 1, y1 - 1, x2, y2}, difficult == "1", file, 0);
  }
}

}  // namespace

DetectionList read_voc_xml(const std::vector<std::string>& xml_paths,
                           const DetectionListOptions& options) {
  std::vector<std::string> files = xml_paths;
  if (files.size() == 1 && fs::is_directory(files[0])) {
    files.clear();
    for (const auto& e : fs::directory_iterator(xml_paths[0]))
      if (e.path().extension() == ".xml") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    CONVKIT_CHECK(!files.empty(), xml_paths[0], ": no .xml annotation files in this folder");
  }
  detail::DetectionListBuilder b(options);
  for (const std::string& f : files) read_one(f, b);
  return b.finish(files.size() == 1 ? files[0] : "the VOC annotations");
}

}  // namespace convkit::data
