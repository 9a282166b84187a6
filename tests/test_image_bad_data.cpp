// The bad-data policy: every kind of unusable file planted in a class-folder set, under `skip`
// (reported with its path, counted, left out or replaced by a same-class image) and `strict`
// (an error naming the path).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "convkit/data/image_dataset.h"
#include "convkit/data/image_source.h"
#include "support/gradcheck.h"
#include "support/image_files.h"

using namespace convkit;
using namespace convkit::data;
namespace fs = std::filesystem;

namespace {
// Three classes (red, green, blue) of four good images each.
void write_good_set(const test::TempDir& t) {
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 4; ++k)
      test::write_class_image(
          t.path("set/" + std::to_string(c) + "_class/good" + std::to_string(k) + ".png"), c, k);
}

struct Plant {
  std::string rel;      // path under set/
  std::string problem;  // problem_name() expected
  bool found_by_scan;   // false: found when decoded
};

// Plants one bad file of each kind; returns what each should be reported as.
std::vector<Plant> plant_all(const test::TempDir& t) {
  auto at = [&](const std::string& rel) { return t.path("set/" + rel); };
  test::write_bytes(at("0_class/zero.png"), "");
  std::string png = test::read_bytes(at("0_class/good0.png"));
  test::write_bytes(at("0_class/truncated.png"), png.substr(0, png.size() / 2));
  test::write_class_image(at("1_class/full.jpg"), 1, 0, 40, 40);
  std::string jpg = test::read_bytes(at("1_class/full.jpg"));
  fs::remove(at("1_class/full.jpg"));
  test::write_bytes(at("1_class/truncated.jpg"), jpg.substr(0, jpg.size() / 2));
  test::write_bytes(at("1_class/text.jpg"), "this is a text file, not a JPEG\n");
  test::write_bytes(at("2_class/notes.txt"), "a stray file\n");
  test::write_bytes(at("2_class/huge.png"), test::png_claiming_size(50000, 50000));
  test::write_bytes(at("2_class/corrupt.png"), test::corrupt_png(2));
  test::write_gray_image(at("1_class/gray.png"));
  fs::create_directories(at("3_empty"));
  fs::create_symlink(at("0_class/gone.png"), at("0_class/dangling.png"));
  return {
      {"0_class/zero.png", "empty", true},          {"0_class/truncated.png", "truncated", true},
      {"0_class/dangling.png", "unreadable", true}, {"1_class/truncated.jpg", "truncated", true},
      {"1_class/text.jpg", "not_an_image", true},   {"2_class/notes.txt", "not_an_image", true},
      {"2_class/huge.png", "too_large", true},      {"2_class/corrupt.png", "corrupt", false},
      {"1_class/gray.png", "gray_in_rgb", false},   {"3_empty", "empty_class", true}};
}

ImageDatasetOptions options(BadDataPolicy policy, std::vector<DataIssue>* log = nullptr) {
  ImageDatasetOptions o;
  o.preprocessing.image_size = 8;
  o.policy = policy;
  o.threads = 2;
  if (log) o.on_issue = [log](const DataIssue& i) { log->push_back(i); };
  return o;
}

std::vector<int64_t> all_indices(const Dataset& ds) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < ds.size(); ++i) v.push_back(i);
  return v;
}
}  // namespace

TEST(ImageBadData, SkipReportsEachFileByPathAndNeverMislabels) {
  test::TempDir t;
  write_good_set(t);
  const std::vector<Plant> plants = plant_all(t);
  std::vector<DataIssue> log;
  ImageDataset ds(ImageSource::from_folder(t.path("set")), options(BadDataPolicy::skip, &log));

  // Left out by the scan: 12 good + corrupt.png + gray.png remain.
  EXPECT_EQ(ds.size(), 14);
  EXPECT_EQ(ds.num_classes(), 4);  // the empty class keeps its label
  Batch b = ds.get_batch(all_indices(ds));
  // Every example shows its own class's colour: the corrupt file was replaced by a blue image.
  for (int64_t k = 0; k < ds.size(); ++k) {
    const ImageEntry& e = ds.entry(k);
    const int64_t label = b.labels.data<int64_t>()[k];
    EXPECT_EQ(label, e.label);
    if (fs::path(e.path).filename() == "gray.png") {
      EXPECT_NEAR(b.inputs.at({k, 0, 0, 0}), b.inputs.at({k, 1, 0, 0}), 1e-6);  // R = G = B
      continue;
    }
    for (int64_t ch = 0; ch < 3; ++ch)
      EXPECT_EQ(b.inputs.at({k, ch, 0, 0}) > 0.5f, ch == label) << e.path << " channel " << ch;
  }

  std::map<std::string, std::string> reported;
  for (const DataIssue& i : ds.issues()) {
    EXPECT_EQ(i.message.rfind(i.path, 0), 0u) << "the message starts with the path: " << i.message;
    reported[fs::path(i.path).lexically_relative(t.path("set")).string()] = problem_name(i.problem);
  }
  for (const Plant& p : plants) EXPECT_EQ(reported[p.rel], p.problem) << p.rel;
  EXPECT_EQ(reported.size(), plants.size());
  EXPECT_EQ(log.size(), plants.size());  // the callback heard each once
  // Skipped: every plant but the converted gray image and the empty class.
  EXPECT_EQ(ds.skipped_files(), int64_t(plants.size()) - 2);
  EXPECT_EQ(ds.converted_files(), 1);

  // A second pass reports nothing new and gives the same batch.
  EXPECT_EQ(test::max_abs_diff(ds.get_batch(all_indices(ds)).inputs, b.inputs), 0.0);
  EXPECT_EQ(log.size(), plants.size());
  for (const DataIssue& i : ds.issues()) {
    if (i.problem == ImageProblem::corrupt) {
      EXPECT_NE(i.action.find("next usable image of class '2_class'"), std::string::npos)
          << i.action;
    }
  }
}

TEST(ImageBadData, WithoutTheScanProblemsSurfaceAtDecodeAndAreReplaced) {
  test::TempDir t;
  write_good_set(t);
  std::string png = test::read_bytes(t.path("set/0_class/good0.png"));
  test::write_bytes(t.path("set/0_class/good0.png"),
                    png.substr(0, png.size() - 20));  // first of its class
  test::write_bytes(t.path("set/0_class/good1.png"), "");
  ImageDatasetOptions o = options(BadDataPolicy::skip);
  o.scan = false;
  auto ds = std::make_shared<ImageDataset>(ImageSource::from_folder(t.path("set")), o);
  EXPECT_EQ(ds->size(), 12);
  Batch b = ds->get_batch({0, 1, 2});
  // Both bad red files are replaced by good2.png, the next usable red image.
  Batch good = ds->get_batch({2});
  for (int64_t k = 0; k < 3; ++k) {
    EXPECT_EQ(b.labels.data<int64_t>()[k], 0);
    EXPECT_EQ(test::max_abs_diff(b.inputs.select(k), good.inputs.select(0)), 0.0);
  }
  EXPECT_EQ(ds->skipped_files(), 2);
  // Wrappers (splits, standardization) pass the count on to the trainer.
  auto [train, val] = train_val_split(ds, 0.25, 1);
  EXPECT_EQ(train->skipped_files(), 2);
  EXPECT_EQ(std::make_shared<Normalized>(val, ChannelStats{{0, 0, 0}, {1, 1, 1}})->skipped_files(),
            2);
}

TEST(ImageBadData, StrictStopsAtEachKindNamingThePath) {
  const char* kinds[] = {"0_class/zero.png",     "0_class/truncated.png",
                         "0_class/dangling.png", "1_class/truncated.jpg",
                         "1_class/text.jpg",     "2_class/notes.txt",
                         "2_class/huge.png",     "2_class/corrupt.png",
                         "1_class/gray.png",     "3_empty"};
  for (const char* kind : kinds) {
    SCOPED_TRACE(kind);
    test::TempDir t;
    write_good_set(t);
    const std::vector<Plant> plants = plant_all(t);
    // Remove every plant but this one.
    std::string expected;
    for (const Plant& p : plants) {
      if (p.rel == kind) {
        expected = p.problem;
        continue;
      }
      fs::remove(t.path("set/" + p.rel));
    }
    const std::string path = t.path("set/" + std::string(kind));
    try {
      ImageDataset ds(ImageSource::from_folder(t.path("set")), options(BadDataPolicy::strict));
      ds.get_batch(all_indices(ds));
      ADD_FAILURE() << "no error";
    } catch (const ImageFileError& e) {
      EXPECT_EQ(problem_name(e.problem()), expected);
      EXPECT_EQ(e.path(), path);
      EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
    }
  }
}

TEST(ImageBadData, NothingUsableIsAnError) {
  test::TempDir t;
  test::write_bytes(t.path("set/a/1.png"), "");
  test::write_bytes(t.path("set/b/2.png"), "xx");
  EXPECT_THROW_WITH(
      ImageDataset(ImageSource::from_folder(t.path("set")), options(BadDataPolicy::skip)),
      t.path("set"), "no usable images", "all 2 listed files were skipped");
  // A class whose only image fails at decode time: its examples cannot be replaced.
  test::TempDir u;
  test::write_class_image(u.path("set/a/1.png"), 0);
  test::write_bytes(u.path("set/b/2.png"), test::corrupt_png(1));
  ImageDataset ds(ImageSource::from_folder(u.path("set")), options(BadDataPolicy::skip));
  EXPECT_THROW_WITH(ds.get_batch({1}), "none of the 1 images of class 'b' can be used");
}

TEST(ImageBadData, CsvListsReportMissingFilesAndEmptyClasses) {
  test::TempDir t;
  test::write_class_image(t.path("img/r.png"), 0);
  test::write_bytes(t.path("list.csv"),
                    "path,label\nimg/r.png,red\nimg/missing.png,red\nimg/nothing.png,blue\n");
  test::write_bytes(t.path("img/nothing.png"), "");
  ImageDataset ds(ImageSource::from_csv(t.path("list.csv")), options(BadDataPolicy::skip));
  EXPECT_EQ(ds.size(), 1);
  std::vector<DataIssue> issues = ds.issues();
  ASSERT_EQ(issues.size(), 3u);
  // Sorted by path: img/missing.png, img/nothing.png, list.csv (class 'blue').
  EXPECT_EQ(problem_name(issues[0].problem), std::string("unreadable"));
  EXPECT_EQ(problem_name(issues[1].problem), std::string("empty"));
  EXPECT_NE(issues[2].message.find("class 'blue' has no usable images"), std::string::npos)
      << issues[2].message;
}
