#pragma once
// The class-folder walk behind ImageSource::from_folder: lists every file under a folder without
// leaving the data root, entering a folder twice, or stopping at the first error. Links to folders
// are followed only when they lead to a folder inside the root that this walk has not listed yet
// (so a link to `..` or `/` is not followed, and a link loop ends at once); a folder or entry that
// cannot be read is recorded with its path and the reason, and the walk goes on (docs/data.md,
// docs/robustness.md).
#include <filesystem>
#include <string>
#include <vector>

#include "convkit/data/image_source.h"

namespace convkit::data::walk {

struct Listing {
  std::vector<std::string> files;  // every non-hidden file or dangling link, unsorted
  std::vector<SkippedEntry> skipped;
};

// The canonical root (links and `..` resolved), against which folders are judged "inside".
// Throws convkit::Error naming `dir` when it cannot be resolved.
std::filesystem::path canonical_root(const std::string& dir);

// True when `p` (canonical) is `root` or lies under it.
bool inside(const std::filesystem::path& p, const std::filesystem::path& root);

// Adds the files under `dir` (recursively; names starting with '.' skipped) to `out`. `root` is
// canonical_root()'s result. Each call lists a folder at most once, so a link from one class
// folder to another lists that folder's files under both.
void list_files(const std::filesystem::path& dir, const std::filesystem::path& root, Listing& out);

}  // namespace convkit::data::walk
