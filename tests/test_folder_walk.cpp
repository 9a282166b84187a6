// The class-folder walk on a hostile tree (issue 16): links that loop, lead out of the data root
// or to `/`, unreadable entries. Each is reported by path and skipped; the walk finishes and never
// leaves the root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "convkit/data/image_dataset.h"
#include "convkit/data/image_source.h"
#include "support/gradcheck.h"
#include "support/image_files.h"

using namespace convkit;
using namespace convkit::data;
using test::TempDir;
namespace fs = std::filesystem;

namespace {
std::string reason_for(const ImageSource& s, const std::string& path) {
  for (const SkippedEntry& e : s.skipped_entries())
    if (e.path == path) return e.reason;
  return "(not reported)";
}

// root/{cat,dog} with one image each, and a link of every bad kind.
void plant(const TempDir& t) {
  test::write_class_image(t.path("root/cat/a.png"), 0);
  test::write_class_image(t.path("root/dog/b.png"), 1);
  test::write_class_image(t.path("outside/c.png"), 2);
  fs::create_directory_symlink("..", t.path("root/cat/up"));   // the root: a loop
  fs::create_directory_symlink(".", t.path("root/cat/self"));  // itself: a loop
  fs::create_directories(t.path("root/cat/deep/er"));
  fs::create_directory_symlink("../..", t.path("root/cat/deep/er/back"));  // the class folder
  fs::create_directory_symlink("/", t.path("root/dog/slash"));             // the whole machine
  fs::create_directory_symlink("../../outside", t.path("root/dog/out"));
  fs::create_symlink("spin", t.path("root/dog/spin"));              // ELOOP on every stat
  fs::create_directory_symlink("../dog", t.path("root/cat/dogs"));  // inside: followed
  fs::create_directory_symlink("/", t.path("root/everything"));     // a "class" outside
  fs::create_directory_symlink(".", t.path("root/again"));          // a "class" = the root
}
}  // namespace

TEST(FolderWalk, LinksThatLoopOrLeaveTheRootAreReportedAndSkipped) {
  TempDir t;
  plant(t);
  ImageSource s = ImageSource::from_folder(t.path("root"));
  EXPECT_EQ(s.class_names(), (std::vector<std::string>{"cat", "dog"}));
  std::vector<std::string> files;
  for (const ImageEntry& e : s.entries()) files.push_back(e.path);
  EXPECT_EQ(files,
            (std::vector<std::string>{t.path("root/cat/a.png"), t.path("root/cat/dogs/b.png"),
                                      t.path("root/dog/b.png")}));
  const std::string root = fs::canonical(t.path("root")).string();
  EXPECT_NE(reason_for(s, t.path("root/cat/up")).find("a link loop"), std::string::npos);
  EXPECT_NE(reason_for(s, t.path("root/cat/self")).find("a link loop"), std::string::npos);
  EXPECT_NE(reason_for(s, t.path("root/cat/deep/er/back")).find("a link loop"), std::string::npos);
  EXPECT_NE(
      reason_for(s, t.path("root/dog/slash")).find("a link to /, outside the data root " + root),
      std::string::npos);
  EXPECT_NE(reason_for(s, t.path("root/dog/out")).find("outside the data root"), std::string::npos);
  EXPECT_NE(reason_for(s, t.path("root/dog/spin")).find("cannot be read (Too many levels"),
            std::string::npos)
      << reason_for(s, t.path("root/dog/spin"));
  EXPECT_NE(reason_for(s, t.path("root/everything")).find("outside the data root"),
            std::string::npos);
  EXPECT_NE(reason_for(s, t.path("root/again")).find("the data root itself"), std::string::npos);
  // 8 planted, and the 3 of dog/ again through cat/dogs (under their own paths there).
  EXPECT_EQ(s.skipped_entries().size(), 11u);
}

TEST(FolderWalk, DatasetsReportSkippedEntriesAndStrictStops) {
  TempDir t;
  plant(t);
  ImageSource s = ImageSource::from_folder(t.path("root"));
  ImageDatasetOptions o;
  o.preprocessing.image_size = 8;
  std::vector<std::string> reported;
  o.on_issue = [&](const DataIssue& i) {
    if (i.problem == ImageProblem::unreadable) reported.push_back(i.message);
  };
  ImageDataset ds(s, o);
  EXPECT_EQ(ds.size(), 3);
  ASSERT_EQ(reported.size(), 11u);
  EXPECT_TRUE(std::any_of(reported.begin(), reported.end(), [&](const std::string& m) {
    return m.rfind(t.path("root/dog/slash") + ": a link to /", 0) == 0;
  }));
  o.policy = BadDataPolicy::strict;
  EXPECT_THROW_WITH(ImageDataset(s, o), t.path("root/again"), "the data root itself");
}

TEST(FolderWalk, UnreadableSubFolderIsReportedByPath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every folder; run as a user to test this";
  TempDir t;
  test::write_class_image(t.path("root/cat/a.png"), 0);
  test::write_class_image(t.path("root/cat/locked/b.png"), 0);
  fs::permissions(t.path("root/cat/locked"), fs::perms::none);
  ImageSource s = ImageSource::from_folder(t.path("root"));
  fs::permissions(t.path("root/cat/locked"), fs::perms::owner_all);
  EXPECT_EQ(s.entries().size(), 1u);
  EXPECT_NE(reason_for(s, t.path("root/cat/locked")).find("cannot be listed (Permission denied)"),
            std::string::npos);
}
