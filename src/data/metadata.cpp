#include "convkit/data/metadata.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "csv_record.h"

namespace convkit::data {

namespace fs = std::filesystem;

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The whole field is a finite number ("1e3", "-2.5"); strtod alone accepts a prefix.
bool parse_number(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(*out);
}
}  // namespace

std::vector<MetadataColumn> parse_metadata_columns(const std::string& spec) {
  std::vector<MetadataColumn> out;
  std::set<std::string> seen;
  for (size_t s = 0; s <= spec.size();) {
    const size_t e = std::min(spec.find(',', s), spec.size());
    std::string item = spec.substr(s, e - s);
    s = e + 1;
    MetadataColumn c;
    const size_t colon = item.rfind(':');
    if (colon != std::string::npos) {
      const std::string kind = item.substr(colon + 1);
      CONVKIT_CHECK(kind == "cat" || kind == "num", "--metadata-columns '", spec, "': kind '", kind,
                    "' of '", item, "' is not 'num' or 'cat'");
      c.categorical = kind == "cat";
      item.resize(colon);
    }
    CONVKIT_CHECK(!item.empty(), "--metadata-columns '", spec,
                  "': an empty column name (expected e.g. age,site:cat)");
    CONVKIT_CHECK(seen.insert(item).second, "--metadata-columns '", spec, "': column '", item,
                  "' is given twice");
    c.name = item;
    out.push_back(c);
  }
  return out;
}

MetadataValues read_metadata(const std::string& csv_path,
                             const std::vector<MetadataColumn>& columns,
                             const ImageDataset& images) {
  std::ifstream f(csv_path);
  CONVKIT_CHECK(f.good(), csv_path, ": cannot open the image list for its metadata columns");
  const fs::path base = fs::path(csv_path).parent_path();
  static const std::set<std::string> path_names{"path", "file", "filename", "image", "image_path"};

  struct Row {
    std::vector<double> numeric;
    std::vector<std::string> categories;
    std::string where;
  };
  std::map<std::string, Row> rows;  // by resolved image path
  std::vector<size_t> col_index;
  size_t path_col = 0;
  bool header = true;
  std::string line;
  for (int64_t n = 1; std::getline(f, line); ++n) {
    const std::string where = csv_path + ":" + std::to_string(n);
    if (n == 1 && line.rfind("\xef\xbb\xbf", 0) == 0) line.erase(0, 3);
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const std::vector<std::string> fields = csv::split_record(line, where);
    if (header) {
      header = false;
      std::vector<std::string> low;
      for (const std::string& x : fields) low.push_back(lower(x));
      auto p =
          std::find_if(low.begin(), low.end(), [](auto& x) { return path_names.count(x) > 0; });
      CONVKIT_CHECK(p != low.end(), where,
                    ": metadata columns need a header row naming the path column (path, file, "
                    "filename, image or image_path) and the metadata columns; found '",
                    line, "'");
      path_col = size_t(p - low.begin());
      for (const MetadataColumn& c : columns) {
        auto it = std::find(fields.begin(), fields.end(), c.name);
        CONVKIT_CHECK(it != fields.end(), where, ": no column '", c.name,
                      "' in the header (columns: ", joined(fields), ")");
        col_index.push_back(size_t(it - fields.begin()));
      }
      continue;
    }
    Row r;
    r.where = where;
    for (size_t k = 0; k < columns.size(); ++k) {
      CONVKIT_CHECK(col_index[k] < fields.size(), where, ": no value for column '", columns[k].name,
                    "' (the row has ", fields.size(), " fields)");
      const std::string& v = fields[col_index[k]];
      if (columns[k].categorical) {
        CONVKIT_CHECK(!v.empty(), where, ": empty value in categorical column '", columns[k].name,
                      "'");
        r.categories.push_back(v);
      } else {
        double x = 0;
        CONVKIT_CHECK(
            parse_number(v, &x), where, ": column '", columns[k].name, "' is numeric but has '", v,
            "'; fix the value, or declare the column categorical (", columns[k].name, ":cat)");
        r.numeric.push_back(x);
      }
    }
    const fs::path p(fields.at(path_col));
    rows[(p.is_absolute() ? p : base / p).lexically_normal().string()] = std::move(r);
  }
  CONVKIT_CHECK(!header, csv_path, ": the image list is empty");

  MetadataValues out;
  out.columns = columns;
  for (int64_t i = 0; i < images.size(); ++i) {
    const std::string& path = images.entry(i).path;
    auto it = rows.find(path);
    CONVKIT_CHECK(it != rows.end(), csv_path, ": no row for image ", path,
                  " (the metadata comes from the list the images were read from)");
    out.numeric.push_back(it->second.numeric);
    out.categories.push_back(it->second.categories);
    out.where.push_back(it->second.where);
  }
  return out;
}

std::vector<int64_t> MetadataSchema::vocab_sizes() const {
  std::vector<int64_t> out;
  for (const auto& v : vocab) out.push_back(int64_t(v.size()));
  return out;
}

std::string MetadataSchema::to_json() const {
  nlohmann::json j;
  for (const MetadataColumn& c : columns)
    j["columns"].push_back({{"name", c.name}, {"categorical", c.categorical}});
  j["mean"] = mean;
  j["std"] = std;
  j["vocab"] = vocab;
  return j.dump();
}

MetadataSchema MetadataSchema::from_json(const std::string& json) {
  MetadataSchema s;
  try {
    const nlohmann::json j = nlohmann::json::parse(json);
    for (const auto& c : j.at("columns"))
      s.columns.push_back({c.at("name").get<std::string>(), c.at("categorical").get<bool>()});
    s.mean = j.at("mean").get<std::vector<double>>();
    s.std = j.at("std").get<std::vector<double>>();
    s.vocab = j.at("vocab").get<std::vector<std::vector<std::string>>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("metadata schema: malformed JSON (") + e.what() + ")");
  }
  return s;
}

MetadataSchema fit_metadata(const MetadataValues& values, const std::vector<int64_t>& indices) {
  CONVKIT_CHECK(!indices.empty(), "fit_metadata: no training rows");
  MetadataSchema s;
  s.columns = values.columns;
  const size_t nn = values.numeric.at(indices[0]).size(),
               nc = values.categories.at(indices[0]).size();
  for (size_t k = 0; k < nn; ++k) {
    double sum = 0, sq = 0;
    for (int64_t i : indices) sum += values.numeric[i][k];
    const double mean = sum / double(indices.size());
    for (int64_t i : indices) sq += (values.numeric[i][k] - mean) * (values.numeric[i][k] - mean);
    const double sd = std::sqrt(sq / double(indices.size()));
    s.mean.push_back(mean);
    s.std.push_back(sd > 0 ? sd : 1.0);
  }
  for (size_t k = 0; k < nc; ++k) {
    std::set<std::string> v;
    for (int64_t i : indices) v.insert(values.categories[i][k]);
    s.vocab.emplace_back(v.begin(), v.end());
  }
  return s;
}

WithMetadata::WithMetadata(DatasetPtr base, const MetadataValues& values, MetadataSchema schema)
    : base_(std::move(base)), schema_(std::move(schema)) {
  CONVKIT_CHECK(int64_t(values.numeric.size()) == base_->size(),
                "WithMetadata: ", values.numeric.size(), " metadata rows for ", base_->size(),
                " examples");
  std::vector<std::string> cat_names;
  for (const MetadataColumn& c : schema_.columns)
    if (c.categorical) cat_names.push_back(c.name);
  for (int64_t i = 0; i < base_->size(); ++i) {
    CONVKIT_CHECK(int64_t(values.numeric[i].size()) == schema_.num_numeric() &&
                      int64_t(values.categories[i].size()) == schema_.num_categorical(),
                  values.where[i], ": the metadata columns differ from the model's");
    for (int64_t k = 0; k < schema_.num_numeric(); ++k)
      numeric_.push_back(float((values.numeric[i][k] - schema_.mean[k]) / schema_.std[k]));
    for (int64_t k = 0; k < schema_.num_categorical(); ++k) {
      const auto& v = schema_.vocab[k];
      const std::string& x = values.categories[i][k];
      auto it = std::lower_bound(v.begin(), v.end(), x);
      CONVKIT_CHECK(it != v.end() && *it == x, values.where[i], ": column '", cat_names[k],
                    "' has category '", x, "', which training never saw (known: ", joined(v),
                    "); add rows with it to the training list or map it to a known category");
      categories_.push_back(int64_t(it - v.begin()));
    }
  }
}

Batch WithMetadata::add(Batch b, const std::vector<int64_t>& indices) const {
  const int64_t n = int64_t(indices.size()), nn = schema_.num_numeric(),
                nc = schema_.num_categorical();
  std::vector<float> num;
  std::vector<int64_t> cat;
  for (int64_t i : indices) {
    num.insert(num.end(), numeric_.begin() + i * nn, numeric_.begin() + (i + 1) * nn);
    cat.insert(cat.end(), categories_.begin() + i * nc, categories_.begin() + (i + 1) * nc);
  }
  b.extra_inputs["numeric"] = Tensor::from_vector(num, {n, nn});
  b.extra_inputs["categorical"] = Tensor::from_vector(cat, {n, nc});
  return b;
}

Batch WithMetadata::get_batch(const std::vector<int64_t>& indices) const {
  return add(base_->get_batch(indices), indices);
}

Batch WithMetadata::get_epoch_batch(const std::vector<int64_t>& indices,
                                    uint64_t epoch_seed) const {
  return add(base_->get_epoch_batch(indices, epoch_seed), indices);
}

}  // namespace convkit::data
