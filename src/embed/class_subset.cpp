#include "convkit/embed/class_subset.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace convkit::embed {

data::DatasetPtr subset_of_classes(const data::DatasetPtr& ds,
                                   const std::vector<int64_t>& classes) {
  const std::set<int64_t> keep(classes.begin(), classes.end());
  const std::vector<int64_t> labels = ds->labels();
  std::vector<int64_t> idx;
  std::set<int64_t> found;
  for (size_t i = 0; i < labels.size(); ++i)
    if (keep.count(labels[i])) idx.push_back(int64_t(i)), found.insert(labels[i]);
  for (int64_t c : keep)
    CONVKIT_CHECK(found.count(c), "class ", c,
                  " has no example in the data set (its labels are 0..", ds->num_classes() - 1,
                  ")");
  return std::make_shared<data::Subset>(ds, std::move(idx));
}

std::vector<int64_t> parse_class_list(const std::string& text) {
  std::set<int64_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    const size_t dash = part.find('-', 1);
    try {
      size_t used = 0;
      const int64_t lo = std::stoll(part.substr(0, dash), &used);
      CONVKIT_CHECK(used == part.substr(0, dash).size(), "");
      int64_t hi = lo;
      if (dash != std::string::npos) {
        hi = std::stoll(part.substr(dash + 1), &used);
        CONVKIT_CHECK(used == part.size() - dash - 1, "");
      }
      CONVKIT_CHECK(lo >= 0 && lo <= hi, "");
      for (int64_t c = lo; c <= hi; ++c) out.insert(c);
    } catch (const std::exception&) {
      throw Error("class list '" + text + "': cannot read '" + part +
                  "' (expected class numbers and ranges such as 0-6 or 7,8,9)");
    }
  }
  CONVKIT_CHECK(!out.empty(), "class list '", text, "' names no class");
  return {out.begin(), out.end()};
}

}  // namespace convkit::embed
