#pragma once
// Where a labelled image set comes from: a folder with one sub-folder per class (torchvision's
// ImageFolder, Keras' flow_from_directory) or a CSV list of (path, label) rows. An ImageSource only
// lists files and labels; ImageDataset decodes them.
//
// Folder layout (docs/data.md):
//   root/<class>/**/<file>.{jpg,jpeg,png,bmp,webp,tif,tiff}   (extension case-insensitive)
// Classes are the visible sub-folders of root, sorted by name (byte order, as torchvision), label =
// position. Files inside a class folder are found recursively and sorted by path. Names starting
// with '.' are skipped; files directly in root carry no label and are ignored; other files in class
// folders are listed in `non_image_files` so a dataset can report them.
//
// CSV list: `path,label[,more columns]`, one image per row, paths relative to the CSV's folder (or
// absolute). A first row naming a path column (path, file, filename, image, image_path) is a
// header; the label column is then the one named label, class, class_name, category or target, and
// columns may come in any order. Labels are class names, or non-negative integers when every row's
// label is one. Fields may be double-quoted (RFC 4180). Empty lines and lines starting with '#' are
// skipped.
#include <cstdint>
#include <string>
#include <vector>

namespace convkit::data {

struct ImageEntry {
  std::string path;
  int64_t label = 0;
};

class ImageSource {
 public:
  // Lists `dir`. With `classes` given (e.g. the names a trained model was saved with), labels are
  // positions in that list and a class folder not in it is an error; otherwise the classes are the
  // sub-folders found. Throws naming the folder when it is missing, has no class folders or no
  // images.
  static ImageSource from_folder(const std::string& dir,
                                 const std::vector<std::string>& classes = {});
  // Reads a CSV list. With `classes` given, name labels must be in it and integer labels below its
  // size. Throws naming the file and line for a malformed row, an unknown label, or one path listed
  // with two different labels (a repeated row with the same label is kept once).
  static ImageSource from_csv(const std::string& csv_path,
                              const std::vector<std::string>& classes = {});
  // from_csv for a path ending in .csv (any case), from_folder otherwise.
  static ImageSource open(const std::string& path, const std::vector<std::string>& classes = {});

  const std::string& origin() const { return origin_; }  // the folder or CSV file
  const std::vector<ImageEntry>& entries() const { return entries_; }
  const std::vector<std::string>& class_names() const { return classes_; }
  int64_t num_classes() const { return int64_t(classes_.size()); }
  // Folder sources: each class's folder (to name it when it holds no usable image); empty for CSV.
  const std::vector<std::string>& class_dirs() const { return class_dirs_; }
  // The classes came from the caller (not discovered), so classes without files are expected.
  bool fixed_classes() const { return fixed_classes_; }
  // Files in class folders without an image extension (not listed in entries).
  const std::vector<std::string>& non_image_files() const { return non_image_files_; }
  // The same classes and origin with other entries (the dataset drops files its scan rejects).
  ImageSource with_entries(std::vector<ImageEntry> entries) const;

 private:
  std::string origin_;
  std::vector<ImageEntry> entries_;
  std::vector<std::string> classes_, class_dirs_, non_image_files_;
  bool fixed_classes_ = false;
};

}  // namespace convkit::data
