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
// folders are listed in `non_image_files` so a dataset can report them. Links to folders are
// followed only inside the (resolved) root and never into a folder the walk is already in (a link
// loop) or has listed; what is not followed or cannot be read is listed in `skipped_entries` with
// the reason, and the walk goes on.
//
// CSV list: `path,label[,more columns]`, one image per row, paths relative to the CSV's folder (or
// absolute). A first row naming a path column (path, file, filename, image, image_path) is a
// header; the label column is then the one named label, class, class_name, category or target, and
// columns may come in any order. Labels are all class names, or all non-negative integers (class
// positions); a list mixing both is an error naming the line. Without a class list, an integer
// label must be below the number of rows (each class needs a row; this bounds the class count by
// the file, so a typo cannot create a million classes). Fields may be double-quoted (RFC 4180).
// Empty lines and lines starting with '#' are skipped; a UTF-8 byte-order mark is dropped.
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace convkit::data {

struct ImageEntry {
  std::string path;
  int64_t label = 0;
};

// An entry of a class folder the walk did not list, and why (an unreadable folder, a link loop, a
// link leading out of the data root).
struct SkippedEntry {
  std::string path;
  std::string reason;
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
  // size. Throws naming the file and line for a malformed row, an unknown label, an integer label
  // out of range, labels mixing integers and names, or one path listed with two different labels
  // (a repeated row with the same label is kept once).
  static ImageSource from_csv(const std::string& csv_path,
                              const std::vector<std::string>& classes = {});
  // from_csv on text already open; `csv_path` names it in messages and its folder anchors relative
  // paths.
  static ImageSource from_csv_stream(std::istream& in, const std::string& csv_path,
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
  // Folder sources: entries the walk did not list (sorted by path); empty for CSV.
  const std::vector<SkippedEntry>& skipped_entries() const { return skipped_; }
  // The same classes and origin with other entries (the dataset drops files its scan rejects).
  ImageSource with_entries(std::vector<ImageEntry> entries) const;

 private:
  std::string origin_;
  std::vector<ImageEntry> entries_;
  std::vector<std::string> classes_, class_dirs_, non_image_files_;
  std::vector<SkippedEntry> skipped_;
  bool fixed_classes_ = false;
};

}  // namespace convkit::data
