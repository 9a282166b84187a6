#include "folder_walk.h"

#include <algorithm>
#include <set>
#include <system_error>

#include "convkit/error.h"

namespace convkit::data::walk {

namespace fs = std::filesystem;

namespace {
bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

std::string because(const std::error_code& ec) { return " (" + ec.message() + ")"; }

// Whether to enter the folder `entry` (`link`: the entry itself is a symbolic link); records why
// not in `out`.
bool may_enter(const fs::path& entry, bool link, const fs::path& root,
               const std::set<fs::path>& listed, const std::vector<fs::path>& ancestors,
               Listing& out, fs::path& canonical) {
  std::error_code ec;
  canonical = fs::canonical(entry, ec);
  if (ec) {
    out.skipped.push_back({entry.string(), "cannot be resolved" + because(ec)});
    return false;
  }
  if (link && !inside(canonical, root)) {
    out.skipped.push_back({entry.string(), "a link to " + canonical.string() +
                                               ", outside the data root " + root.string() +
                                               " (not followed)"});
    return false;
  }
  if (std::find(ancestors.begin(), ancestors.end(), canonical) != ancestors.end() ||
      inside(ancestors.front(), canonical)) {
    out.skipped.push_back({entry.string(), "a link loop: it leads back to " + canonical.string() +
                                               " (not followed)"});
    return false;
  }
  if (listed.count(canonical)) {
    out.skipped.push_back(
        {entry.string(), "leads to " + canonical.string() + ", already listed (not followed)"});
    return false;
  }
  return true;
}

void walk(const fs::path& dir, const fs::path& root, std::set<fs::path>& listed,
          std::vector<fs::path>& ancestors, Listing& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    if (hidden(p)) continue;
    std::error_code link_ec, status_ec;
    const bool link = it->is_symlink(link_ec);
    const fs::file_status st = it->status(status_ec);
    if (status_ec && status_ec != std::errc::no_such_file_or_directory) {
      out.skipped.push_back({p.string(), "cannot be read" + because(status_ec)});
      continue;
    }
    if (!fs::is_directory(st)) {  // a file, or a dangling link (the dataset reports it by name)
      out.files.push_back(p.string());
      continue;
    }
    fs::path canonical;
    if (!may_enter(p, link, root, listed, ancestors, out, canonical)) continue;
    listed.insert(canonical);
    ancestors.push_back(canonical);
    walk(p, root, listed, ancestors, out);
    ancestors.pop_back();
  }
  if (ec) out.skipped.push_back({dir.string(), "cannot be listed" + because(ec)});
}
}  // namespace

fs::path canonical_root(const std::string& dir) {
  std::error_code ec;
  fs::path root = fs::canonical(dir, ec);
  CONVKIT_CHECK(!ec, dir, ": cannot resolve the data folder", because(ec));
  return root;
}

bool inside(const fs::path& p, const fs::path& root) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

void list_files(const fs::path& dir, const fs::path& root, Listing& out) {
  std::error_code ec;
  fs::path canonical = fs::canonical(dir, ec);
  if (ec) {
    out.skipped.push_back({dir.string(), "cannot be resolved" + because(ec)});
    return;
  }
  std::set<fs::path> listed{canonical};
  std::vector<fs::path> ancestors{canonical};
  walk(dir, root, listed, ancestors, out);
}

}  // namespace convkit::data::walk
