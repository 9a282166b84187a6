// Image sources (class folders, CSV lists), image files (formats, probing, decoding) and the
// ImageDataset (resizing, batches, cache, per-example augmentation seeding).
#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "convkit/data/image_dataset.h"
#include "convkit/data/image_file.h"
#include "convkit/data/image_source.h"
#include "support/gradcheck.h"
#include "support/image_files.h"

using namespace convkit;
using namespace convkit::data;
namespace fs = std::filesystem;
using test::TempDir;

namespace {
std::vector<int64_t> labels_of(const ImageSource& s) {
  std::vector<int64_t> out;
  for (const auto& e : s.entries()) out.push_back(e.label);
  return out;
}
std::vector<std::string> names_of(const ImageSource& s, const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : s.entries())
    out.push_back(fs::path(e.path).lexically_relative(root).string());
  return out;
}
std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
  return v;
}
}  // namespace

TEST(ImageSource, FolderSortsClassesAndFilesAndListsStrayFiles) {
  TempDir t;
  const std::string root = t.path("set");
  test::write_class_image(root + "/b_cat/x.png", 1);
  test::write_class_image(root + "/a_dog/2.PNG", 0);
  test::write_class_image(root + "/a_dog/1.jpg", 0);
  test::write_class_image(root + "/a_dog/sub/3.bmp", 0);
  test::write_class_image(root + "/a_dog/.hidden.png", 0);
  test::write_class_image(root + "/.cache/y.png", 1);
  test::write_bytes(root + "/a_dog/notes.txt", "not an image");
  test::write_class_image(root + "/loose.png", 0);  // no class folder: ignored

  ImageSource s = ImageSource::from_folder(root);
  EXPECT_EQ(s.class_names(), (std::vector<std::string>{"a_dog", "b_cat"}));
  EXPECT_EQ(names_of(s, root), (std::vector<std::string>{"a_dog/1.jpg", "a_dog/2.PNG",
                                                         "a_dog/sub/3.bmp", "b_cat/x.png"}));
  EXPECT_EQ(labels_of(s), (std::vector<int64_t>{0, 0, 0, 1}));
  ASSERT_EQ(s.non_image_files().size(), 1u);
  EXPECT_EQ(fs::path(s.non_image_files()[0]).filename(), "notes.txt");
  EXPECT_FALSE(s.fixed_classes());
  EXPECT_EQ(ImageSource::open(root).entries().size(), 4u);
}

TEST(ImageSource, FolderWithTheModelsClasses) {
  TempDir t;
  const std::string root = t.path("set");
  test::write_class_image(root + "/cat/1.png", 1);
  test::write_class_image(root + "/dog/1.png", 0);
  ImageSource s = ImageSource::from_folder(root, {"dog", "zebra", "cat"});
  EXPECT_EQ(s.num_classes(), 3);
  EXPECT_EQ(labels_of(s), (std::vector<int64_t>{0, 2}));  // dog, then cat (class order)
  EXPECT_TRUE(s.fixed_classes());
  EXPECT_THROW_WITH(ImageSource::from_folder(root, {"dog", "zebra"}), "folder 'cat'",
                    "not one of the model's 2 classes");
}

TEST(ImageSource, FolderErrorsNameTheFolder) {
  TempDir t;
  EXPECT_THROW_WITH(ImageSource::from_folder(t.path("missing")), t.path("missing"),
                    "no such folder");
  fs::create_directories(t.path("flat"));
  test::write_class_image(t.path("flat/1.png"), 0);
  EXPECT_THROW_WITH(ImageSource::from_folder(t.path("flat")), t.path("flat"), "no class folders");
  test::write_bytes(t.path("noimg/a/readme.txt"), "x");
  EXPECT_THROW_WITH(ImageSource::from_folder(t.path("noimg")), t.path("noimg"), "no images");
}

TEST(ImageSource, CsvWithHeaderInAnyOrderQuotesAndExtraColumns) {
  TempDir t;
  test::write_bytes(t.path("list/data.csv"),
                    "# a comment\n"
                    "id,label,filename,box\n"
                    "1,dog,img/a.png,\"1,2,3,4\"\n"
                    "\n"
                    "2, cat ,\"img/b, with comma.png\",x\n"
                    "3,dog,/abs/c.png,y\n"
                    "1,dog,img/a.png,again\n");
  ImageSource s = ImageSource::from_csv(t.path("list/data.csv"));
  EXPECT_EQ(s.class_names(), (std::vector<std::string>{"cat", "dog"}));  // names sorted
  ASSERT_EQ(s.entries().size(), 3u);  // the repeated row (same label) is kept once
  EXPECT_EQ(s.entries()[0].path, t.path("list/img/a.png"));  // relative to the CSV's folder
  EXPECT_EQ(s.entries()[1].path, t.path("list/img/b, with comma.png"));
  EXPECT_EQ(s.entries()[2].path, "/abs/c.png");
  EXPECT_EQ(labels_of(s), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_TRUE(s.class_dirs().empty());
}

TEST(ImageSource, CsvWithoutHeaderAndIntegerLabels) {
  TempDir t;
  test::write_bytes(t.path("l.csv"), "a.png,2\nb.png,0\nc.png,0\n");
  ImageSource s = ImageSource::open(t.path("l.csv"));
  EXPECT_EQ(s.class_names(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(labels_of(s), (std::vector<int64_t>{2, 0, 0}));
  // With the model's names, integer labels index them.
  ImageSource named = ImageSource::from_csv(t.path("l.csv"), {"x", "y", "z"});
  EXPECT_EQ(named.class_names()[2], "z");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("l.csv"), {"x", "y"}), "l.csv:1",
                    "label 2 is out of range");
}

TEST(ImageSource, CsvErrorsNameFileAndLine) {
  TempDir t;
  test::write_bytes(t.path("conflict.csv"), "path,label\na.png,cat\nb.png,dog\na.png,dog\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("conflict.csv")), "conflict.csv:4", "a.png",
                    "'dog' here and 'cat' on line 2");
  test::write_bytes(t.path("short.csv"), "a.png,cat\nb.png\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("short.csv")), "short.csv:2",
                    "expected a path and a label");
  test::write_bytes(t.path("nolabel.csv"), "path,size\na.png,3\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("nolabel.csv")), "nolabel.csv:1",
                    "no label column");
  test::write_bytes(t.path("quote.csv"), "\"a.png,cat\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("quote.csv")), "quote.csv:1", "unterminated");
  test::write_bytes(t.path("empty.csv"), "path,label\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("empty.csv")), "empty.csv", "no rows");
  test::write_bytes(t.path("unknown.csv"), "a.png,cat\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("unknown.csv"), {"dog"}), "unknown.csv:1",
                    "label 'cat' is not one of");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("none.csv")), "none.csv", "cannot open");
}

TEST(ImageFile, ProbesEveryFormatAndDecodesToRgb) {
  TempDir t;
  for (const char* ext : {"png", "jpg", "bmp", "webp", "tiff"}) {
    SCOPED_TRACE(ext);
    const std::string p = t.path(std::string("img.") + ext);
    test::write_class_image(p, 0, 0, 13, 7);
    ImageProbe probe = check_image_file(p);
    EXPECT_EQ(probe.format, format_from_extension(p));
    EXPECT_EQ(probe.width, 13);
    EXPECT_EQ(probe.height, 7);
    EXPECT_FALSE(probe.truncated);
    DecodedImage d = read_image(p, ColorMode::rgb);
    ASSERT_EQ(d.image.type(), CV_8UC3);
    EXPECT_FALSE(d.was_gray);
    cv::Vec3b corner = d.image.at<cv::Vec3b>(0, 0);  // RGB order: red is channel 0
    EXPECT_NEAR(corner[0], 220, 12);
    EXPECT_NEAR(corner[2], 20, 12);
    DecodedImage g = read_image(p, ColorMode::gray);
    EXPECT_EQ(g.image.type(), CV_8UC1);
  }
}

TEST(ImageFile, TruncatedFilesAreFoundBeforeDecoding) {
  TempDir t;
  for (const char* ext : {"png", "jpg", "bmp", "webp"}) {
    SCOPED_TRACE(ext);
    const std::string p = t.path(std::string("img.") + ext);
    test::write_class_image(p, 1, 0, 40, 30);
    std::string bytes = test::read_bytes(p);
    test::write_bytes(p, bytes.substr(0, bytes.size() * 2 / 3));
    try {
      read_image(p, ColorMode::rgb);
      ADD_FAILURE() << "no error";
    } catch (const ImageFileError& e) {
      EXPECT_EQ(e.problem(), ImageProblem::truncated) << e.what();
      EXPECT_EQ(e.path(), p);
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
  }
}

TEST(ImageFile, EachProblemHasItsName) {
  TempDir t;
  auto problem_of = [&](const std::string& p, int64_t max_pixels = kDefaultMaxPixels) {
    try {
      read_image(p, ColorMode::rgb, max_pixels);
    } catch (const ImageFileError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(p, 0), 0u)
          << "message starts with the path: " << e.what();
      return std::string(problem_name(e.problem()));
    }
    return std::string("none");
  };
  test::write_bytes(t.path("zero.png"), "");
  EXPECT_EQ(problem_of(t.path("zero.png")), "empty");
  test::write_bytes(t.path("text.jpg"), "hello, I am a text file");
  EXPECT_EQ(problem_of(t.path("text.jpg")), "not_an_image");
  EXPECT_THROW_WITH(read_image(t.path("text.jpg"), ColorMode::rgb),
                    "named as JPEG, but no JPEG signature", "(the content: looks like text)");
  EXPECT_EQ(problem_of(t.path("missing.png")), "unreadable");
  EXPECT_EQ(problem_of(t.path()), "unreadable");  // a directory
  test::write_bytes(t.path("huge.png"), test::png_claiming_size(100000, 90000));
  EXPECT_EQ(problem_of(t.path("huge.png")), "too_large");
  EXPECT_THROW_WITH(read_image(t.path("huge.png"), ColorMode::rgb), "100000 x 90000",
                    "above the limit");
  test::write_class_image(t.path("small.png"), 0, 0, 12, 10);
  EXPECT_EQ(problem_of(t.path("small.png"), 119), "too_large");
  EXPECT_EQ(problem_of(t.path("small.png"), 120), "none");
  test::write_bytes(t.path("corrupt.png"), test::corrupt_png(0));
  EXPECT_EQ(problem_of(t.path("corrupt.png")), "corrupt");
  // A PNG named .jpg is an image all the same: the bytes decide, not the name.
  test::write_bytes(t.path("png_named.jpg"), test::read_bytes(t.path("small.png")));
  EXPECT_EQ(problem_of(t.path("png_named.jpg")), "none");
}

// OpenCV's imdecode sniffs the bytes on its own: a RIFF/WEBP file its WebP check turned down
// went on to GDCM when "DICM" stood at offset 128, and GDCM allocated 3 GB from a length field
// (found by fuzz/fuzz_image_probe; the file is fuzz/corpus/image_probe/webp_dicm_at_128.webp).
// The probe's format decides the decoder: libwebp refuses it, and so does the error.
TEST(ImageFile, AWebPIsDecodedAsWebPOnly) {
  TempDir t;
  std::string bytes = test::read_bytes(std::string(CONVKIT_TESTS_DIR) +
                                       "/../fuzz/corpus/image_probe/webp_dicm_at_128.webp");
  ASSERT_EQ(bytes.substr(128, 4), "DICM");
  test::write_bytes(t.path("x.webp"), bytes);
  EXPECT_THROW_WITH(read_image(t.path("x.webp"), ColorMode::rgb), "corrupt WebP (libwebp");
  // A WebP with alpha decodes to three RGB channels, alpha dropped.
  cv::Mat bgra(5, 6, CV_8UC4, cv::Scalar(10, 20, 200, 128));
  std::vector<uint8_t> enc;
  ASSERT_TRUE(cv::imencode(".webp", bgra, enc, {cv::IMWRITE_WEBP_QUALITY, 101}));
  test::write_bytes(t.path("a.webp"), std::string(enc.begin(), enc.end()));
  DecodedImage d = read_image(t.path("a.webp"), ColorMode::rgb);
  ASSERT_EQ(d.image.type(), CV_8UC3);
  EXPECT_EQ(d.image.at<cv::Vec3b>(4, 5), cv::Vec3b(200, 20, 10));
  EXPECT_THROW_WITH(read_image(t.path("a.webp"), ColorMode::rgb, 29), "6 x 5 = 30 pixels");
}

TEST(ImageFile, GrayscaleFilesAreMarked) {
  TempDir t;
  test::write_gray_image(t.path("g.png"));
  DecodedImage rgb = read_image(t.path("g.png"), ColorMode::rgb);
  EXPECT_TRUE(rgb.was_gray);
  EXPECT_EQ(rgb.image.type(), CV_8UC3);
  EXPECT_EQ(rgb.image.at<cv::Vec3b>(2, 3), cv::Vec3b(128, 128, 128));
  EXPECT_EQ(read_image(t.path("g.png"), ColorMode::gray).image.type(), CV_8UC1);
}

TEST(ImageDataset, ResizesShorterSideAndCropsTheCentre) {
  cv::Mat wide(20, 40, CV_8UC1, cv::Scalar(0));
  wide.colRange(15, 25).setTo(200);  // a centred stripe
  cv::Mat r = resize_shorter_side(wide, 10);
  EXPECT_EQ(r.cols, 20);
  EXPECT_EQ(r.rows, 10);
  cv::Mat c = crop_center_square(r, 10);
  EXPECT_EQ(c.cols, 10);
  EXPECT_EQ(c.at<uint8_t>(5, 5), 200);
  EXPECT_EQ(c.at<uint8_t>(5, 0), 0);
  EXPECT_EQ(resize_shorter_side(wide, 20).data, wide.data);  // already right: no copy
  EXPECT_THROW_WITH(crop_center_square(r, 11), "20 x 10 image has no 11 x 11 window");
}

TEST(ImageDataset, BatchesAreRgbChwInUnitRangeWithLabels) {
  TempDir t;
  for (int c = 0; c < 3; ++c)
    for (int k = 0; k < 3; ++k)
      test::write_class_image(
          t.path("set/c" + std::to_string(c) + "/" + std::to_string(k) + ".png"), c, k, 20, 14);
  ImageDatasetOptions o;
  o.preprocessing.image_size = 8;
  ImageDataset ds(ImageSource::from_folder(t.path("set")), o);
  EXPECT_EQ(ds.size(), 9);
  EXPECT_EQ(ds.example_shape(), Shape({3, 8, 8}));
  EXPECT_EQ(ds.num_classes(), 3);
  EXPECT_EQ(ds.class_names(), (std::vector<std::string>{"c0", "c1", "c2"}));
  EXPECT_EQ(ds.labels(), (std::vector<int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2}));
  Batch b = ds.get_batch({0, 4, 8});
  EXPECT_EQ(b.inputs.shape(), Shape({3, 3, 8, 8}));
  EXPECT_EQ(b.labels.data<int64_t>()[1], 1);
  for (int64_t k = 0; k < 3; ++k) {
    // The corner pixel has the class colour, channel `label` is the bright one.
    for (int64_t ch = 0; ch < 3; ++ch) {
      float v = b.inputs.at({k, ch, 0, 0});
      EXPECT_NEAR(v, ch == k ? 220 / 255.0 : 20 / 255.0, 0.02) << k << " " << ch;
    }
  }
  EXPECT_EQ(ds.skipped_files(), 0);

  o.preprocessing.color = ColorMode::gray;
  ImageDataset gray(ImageSource::from_folder(t.path("set")), o);
  EXPECT_EQ(gray.get_batch({0}).inputs.shape(), Shape({1, 1, 8, 8}));
  EXPECT_EQ(gray.skipped_files(), 0);
  EXPECT_THROW_WITH(ds.get_batch({9}), "index 9 out of range for 9 images");
}

namespace {
// Adds noise drawn from the generator: the output says which generator an example got.
class NoiseTransform : public Transform {
 public:
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    cv::Mat out = image.clone();
    for (auto it = out.begin<uint8_t>(); it != out.end<uint8_t>(); ++it)
      *it = cv::saturate_cast<uint8_t>(*it + int(rng.uniform(-20, 20)));
    return out;
  }
  std::string describe() const override { return "noise"; }
};

void expect_equal(const Tensor& a, const Tensor& b) { EXPECT_EQ(test::max_abs_diff(a, b), 0.0); }
}  // namespace

TEST(ImageDataset, EpochBatchesDependOnSeedAndIndexOnly) {
  TempDir t;
  for (int k = 0; k < 8; ++k)
    test::write_class_image(t.path("set/a/" + std::to_string(k) + ".png"), k % 3, k);
  ImageDatasetOptions o;
  o.preprocessing.image_size = 10;
  auto plain = std::make_shared<ImageDataset>(ImageSource::from_folder(t.path("set")), o);
  auto aug = plain->with_transform(std::make_shared<NoiseTransform>());
  o.threads = 3;
  auto threaded = ImageDataset(ImageSource::from_folder(t.path("set")), o)
                      .with_transform(std::make_shared<NoiseTransform>());

  const auto all = iota(8);
  Batch one = aug->get_epoch_batch(all, 42), again = threaded->get_epoch_batch(all, 42);
  expect_equal(one.inputs, again.inputs);
  // Example 5 alone gets the same draws as example 5 within a batch.
  expect_equal(aug->get_epoch_batch({5}, 42).inputs, one.inputs.select(5).reshape({1, 3, 10, 10}));
  EXPECT_GT(test::max_abs_diff(aug->get_epoch_batch(all, 43).inputs, one.inputs), 0.0);
  // Without augmentation (validation, statistics), the epoch seed changes nothing.
  expect_equal(aug->get_batch(all).inputs, plain->get_epoch_batch(all, 42).inputs);
  EXPECT_GT(test::max_abs_diff(aug->get_batch(all).inputs, one.inputs), 0.0);
}

TEST(ImageDataset, CacheKeepsDecodedImagesUpToItsBudget) {
  TempDir t;
  for (int k = 0; k < 6; ++k)
    test::write_class_image(t.path("set/a/" + std::to_string(k) + ".png"), 0, k, 12, 12);
  ImageDatasetOptions o;
  o.preprocessing.image_size = 12;
  ImageDataset uncached(ImageSource::from_folder(t.path("set")), o);
  Tensor want = uncached.get_batch(iota(6)).inputs;

  o.cache_bytes = 4 * 12 * 12 * 3;  // room for four images
  ImageDataset ds(ImageSource::from_folder(t.path("set")), o);
  expect_equal(ds.get_batch(iota(6)).inputs, want);
  EXPECT_EQ(ds.cached_images(), 4);
  // Cached images no longer need their files.
  for (int k = 0; k < 6; ++k) fs::remove(t.path("set/a/" + std::to_string(k) + ".png"));
  expect_equal(ds.get_batch({0, 1, 2, 3}).inputs, want.slice(0, 4));
  EXPECT_EQ(ds.skipped_files(), 0);
}

TEST(ImageDataset, OptionsAreChecked) {
  TempDir t;
  test::write_class_image(t.path("set/a/1.png"), 0);
  ImageDatasetOptions o;
  o.preprocessing.image_size = 0;
  EXPECT_THROW_WITH(ImageDataset(ImageSource::from_folder(t.path("set")), o),
                    "image_size must be positive");
  o.preprocessing.image_size = 32;
  o.preprocessing.load_size = 16;
  EXPECT_THROW_WITH(ImageDataset(ImageSource::from_folder(t.path("set")), o),
                    "load_size 16 is smaller than image_size 32");
}

TEST(ImageDataset, PreprocessingRoundTripsThroughJson) {
  ImagePreprocessing p;
  p.image_size = 24;
  p.load_size = 28;
  p.color = ColorMode::gray;
  ImagePreprocessing q = ImagePreprocessing::from_json(p.to_json());
  EXPECT_EQ(q.image_size, 24);
  EXPECT_EQ(q.effective_load_size(), 28);
  EXPECT_EQ(q.channels(), 1);
  EXPECT_THROW_WITH(ImagePreprocessing::from_json("{\"image_size\": 3, \"color\": \"cmyk\"}"),
                    "color must be rgb or gray");
  EXPECT_THROW_WITH(ImagePreprocessing::from_json("{"), "malformed");
}

TEST(ImageDataset, LoadInputImagePreparesAFileAsTrainingDid) {
  TempDir t;
  test::write_class_image(t.path("set/a/1.png"), 2, 0, 30, 20);
  ImageDatasetOptions o;
  o.preprocessing.image_size = 16;
  o.preprocessing.load_size = 18;
  ImageDataset ds(ImageSource::from_folder(t.path("set")), o);
  Tensor x = load_input_image(t.path("set/a/1.png"), o.preprocessing);
  EXPECT_EQ(x.shape(), Shape({3, 16, 16}));
  expect_equal(x.reshape({1, 3, 16, 16}), ds.get_batch({0}).inputs);
}
