#pragma once
// Tabular metadata beside images (docs/transfer.md, "Metadata inputs"): columns of the CSV list
// that names the images, numeric ones standardized, categorical ones mapped to category indices
// for an embedding. Batches carry them as extra_inputs "numeric" [B, numeric columns] float32 and
// "categorical" [B, categorical columns] int64.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/data/image_dataset.h"

namespace convkit::data {

struct MetadataColumn {
  std::string name;
  bool categorical = false;
};
// "age,weight,site:cat" -> age and weight numeric, site categorical (":num" is the default).
// Throws on an empty name, an unknown kind or a repeated column.
std::vector<MetadataColumn> parse_metadata_columns(const std::string& spec);

// The raw values of the columns for every example of an image set read from a CSV list with a
// header row (the path column as ImageSource finds it).
struct MetadataValues {
  std::vector<MetadataColumn> columns;
  std::vector<std::vector<double>> numeric;          // [example][numeric column]
  std::vector<std::vector<std::string>> categories;  // [example][categorical column]
  std::vector<std::string> where;                    // "list.csv:7": each example's row
};
// Reads `csv_path` and returns the values for each example of `images` (matched by the image's
// resolved path). Throws naming the file and line: no header, a column missing from it (listing
// the columns there are), an empty or non-numeric value in a numeric column; and naming the image
// when the list has no row for it.
MetadataValues read_metadata(const std::string& csv_path,
                             const std::vector<MetadataColumn>& columns,
                             const ImageDataset& images);

// What the model learned the columns as: statistics and vocabularies of the training rows.
struct MetadataSchema {
  std::vector<MetadataColumn> columns;
  std::vector<double> mean, std;                // per numeric column (std 1 when constant)
  std::vector<std::vector<std::string>> vocab;  // per categorical column, sorted
  int64_t num_numeric() const { return int64_t(mean.size()); }
  int64_t num_categorical() const { return int64_t(vocab.size()); }
  std::vector<int64_t> vocab_sizes() const;
  std::string to_json() const;
  static MetadataSchema from_json(const std::string& json);
};
// Mean / std and vocabularies over the examples at `indices` (the training part only, so that
// validation and test rows do not leak into them).
MetadataSchema fit_metadata(const MetadataValues& values, const std::vector<int64_t>& indices);

// `base` (the image set the values were read for, or a wrapper with the same indices) with the
// metadata in every batch, standardized / indexed by `schema`. Throws at construction naming the
// row, column and value when a category is not in the schema's vocabulary (unseen in training).
class WithMetadata : public Dataset {
 public:
  WithMetadata(DatasetPtr base, const MetadataValues& values, MetadataSchema schema);
  int64_t size() const override { return base_->size(); }
  Shape example_shape() const override { return base_->example_shape(); }
  int64_t num_classes() const override { return base_->num_classes(); }
  std::vector<std::string> class_names() const override { return base_->class_names(); }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  Batch get_epoch_batch(const std::vector<int64_t>& indices, uint64_t epoch_seed) const override;
  std::vector<int64_t> labels() const override { return base_->labels(); }
  int64_t skipped_files() const override { return base_->skipped_files(); }
  const MetadataSchema& schema() const { return schema_; }

 private:
  Batch add(Batch b, const std::vector<int64_t>& indices) const;
  DatasetPtr base_;
  MetadataSchema schema_;
  std::vector<float> numeric_;       // [N, numeric], standardized
  std::vector<int64_t> categories_;  // [N, categorical]
};

}  // namespace convkit::data
