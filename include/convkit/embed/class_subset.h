#pragma once
// The unseen-class protocol (docs/similarity.md): train on some classes, verify on others.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"

namespace convkit::embed {

// The examples of `ds` whose label is in `classes` (labels keep their values). Throws naming a
// class that has no example in `ds`.
data::DatasetPtr subset_of_classes(const data::DatasetPtr& ds, const std::vector<int64_t>& classes);

// "0-6" or "7,8,9" or "0-2,5" -> the class numbers, ascending. Throws naming the bad part.
std::vector<int64_t> parse_class_list(const std::string& text);

}  // namespace convkit::embed
