// Metadata inputs (data/metadata.h, models/image_metadata.h): columns of the CSV list read,
// standardized and embedded; a generated set whose label depends on the image AND the metadata is
// learned by the two-input model and not by either branch alone; bad columns and values fail
// naming the file, line and column.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <opencv2/imgcodecs.hpp>

#include "convkit/data/metadata.h"
#include "convkit/models/image_metadata.h"
#include "convkit/optim/sgd.h"
#include "convkit/random.h"
#include "convkit/train/multi_input.h"
#include "convkit/train/trainer.h"

using namespace convkit;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path d =
      fs::temp_directory_path() / ("convkit_metadata_" + std::to_string(::getpid()) + "_" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// n images 8x8, dark (s = -1) or bright (s = +1); numeric column v uniform in [-2, 2]; site in
// {a, b, c} adding -0.5, 0, +0.5. label = (s + v + site > 0): the image alone or the metadata
// alone predicts it about 3 times in 4, both together always.
std::string write_set(const fs::path& dir, const std::string& name, int n, uint64_t seed) {
  Generator gen(seed);
  Tensor u = Tensor::uniform({n, 3}, 0.0, 1.0, &gen);
  const float* r = u.data<float>();
  fs::create_directories(dir / name);
  const std::string csv = (dir / (name + ".csv")).string();
  std::ofstream out(csv);
  out << "path,label,v,site\n";
  for (int i = 0; i < n; ++i) {
    const int s = r[3 * i] < 0.5f ? -1 : 1;
    const double v = 4.0 * r[3 * i + 1] - 2.0;
    const int site = std::min(2, int(r[3 * i + 2] * 3));
    const int label = s + v + 0.5 * (site - 1) > 0;
    cv::Mat img(8, 8, CV_8UC1, cv::Scalar(s > 0 ? 190 : 60));
    const std::string file = name + "/" + std::to_string(i) + ".png";
    cv::imwrite((dir / file).string(), img);
    out << file << "," << label << "," << v << ","
        << "abc"[site] << "\n";
  }
  return csv;
}

std::shared_ptr<data::ImageDataset> open(const std::string& csv,
                                         const std::vector<std::string>& classes = {}) {
  data::ImageDatasetOptions o;
  o.preprocessing.image_size = 8;
  o.preprocessing.color = data::ColorMode::gray;
  return std::make_shared<data::ImageDataset>(data::ImageSource::open(csv, classes), o);
}

std::shared_ptr<nn::Module> image_branch() {
  auto net = std::make_shared<nn::Sequential>();
  net->add(std::make_shared<nn::Conv2d>(1, 4, 3, /*stride=*/1, /*padding=*/1));
  net->add(std::make_shared<nn::ReLU>());
  net->add(std::make_shared<nn::GlobalAvgPool2d>());
  net->add(std::make_shared<nn::Linear>(4, 8));
  return net;
}

double train_and_test(bool use_image, bool use_metadata, const data::DatasetPtr& train,
                      const data::DatasetPtr& test, const data::MetadataSchema& schema) {
  manual_seed(3);
  models::ImageMetadataNet net(image_branch(), 8,
                               {.num_classes = 2,
                                .numeric = schema.num_numeric(),
                                .vocab_sizes = schema.vocab_sizes(),
                                .use_image = use_image,
                                .use_metadata = use_metadata});
  optim::SGD sgd(optim::single_group(net, /*lr=*/0.05), {.momentum = 0.9});
  train::MultiInputClassificationTask task(2, {"numeric", "categorical"});
  data::DataLoader loader(train, {.batch_size = 16, .seed = 1});
  train::Trainer(net, sgd, task, loader, nullptr, {.epochs = 25}).run();
  data::DataLoader test_loader(test, {.batch_size = 64, .shuffle = false});
  return task.evaluate(net, test_loader).at("acc");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(MetadataInputs, ParsesColumnSpecs) {
  auto c = data::parse_metadata_columns("age,site:cat,weight:num");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_FALSE(c[0].categorical);
  EXPECT_TRUE(c[1].categorical);
  EXPECT_EQ(c[1].name, "site");
  EXPECT_FALSE(c[2].categorical);
  EXPECT_NE(error_of([] { data::parse_metadata_columns("a,,b"); }).find("empty column"),
            std::string::npos);
  EXPECT_NE(error_of([] { data::parse_metadata_columns("a:text"); }).find("kind 'text'"),
            std::string::npos);
  EXPECT_NE(error_of([] { data::parse_metadata_columns("a,a"); }).find("twice"), std::string::npos);
}

TEST(MetadataInputs, TwoInputModelBeatsImageOnlyAndMetadataOnly) {
  const fs::path dir = temp_dir();
  auto train_images = open(write_set(dir, "train", 240, 1));
  auto test_images = open(write_set(dir, "test", 120, 2), train_images->class_names());
  const auto columns = data::parse_metadata_columns("v,site:cat");
  const data::MetadataValues tv = data::read_metadata(dir / "train.csv", columns, *train_images);
  std::vector<int64_t> all(train_images->size());
  std::iota(all.begin(), all.end(), 0);
  const data::MetadataSchema schema = data::fit_metadata(tv, all);
  EXPECT_EQ(schema.vocab, (std::vector<std::vector<std::string>>{{"a", "b", "c"}}));
  EXPECT_NEAR(schema.mean[0], 0.0, 0.3);
  auto train = std::make_shared<data::WithMetadata>(train_images, tv, schema);
  auto test = std::make_shared<data::WithMetadata>(
      test_images, data::read_metadata(dir / "test.csv", columns, *test_images), schema);
  data::Batch b = train->get_batch({0, 1, 2});
  EXPECT_EQ(b.extra_inputs.at("numeric").shape(), Shape({3, 1}));
  EXPECT_EQ(b.extra_inputs.at("categorical").shape(), Shape({3, 1}));

  const double both = train_and_test(true, true, train, test, schema);
  const double image_only = train_and_test(true, false, train, test, schema);
  const double metadata_only = train_and_test(false, true, train, test, schema);
  RecordProperty("accuracy_both", std::to_string(both));
  std::printf("test accuracy: image + metadata %.3f, image only %.3f, metadata only %.3f\n", both,
              image_only, metadata_only);
  EXPECT_GE(both, 0.9);
  EXPECT_GT(both, image_only + 0.1);
  EXPECT_GT(both, metadata_only + 0.1);
  fs::remove_all(dir);
}

TEST(MetadataInputs, BadColumnsAndValuesNameTheFileLineAndColumn) {
  const fs::path dir = temp_dir();
  const std::string csv = write_set(dir, "train", 6, 1);
  auto images = open(csv);
  std::string e =
      error_of([&] { data::read_metadata(csv, data::parse_metadata_columns("v,age"), *images); });
  EXPECT_NE(e.find(csv + ":1: no column 'age'"), std::string::npos) << e;
  EXPECT_NE(e.find("path, label, v, site"), std::string::npos) << e;

  e = error_of([&] { data::read_metadata(csv, data::parse_metadata_columns("site"), *images); });
  EXPECT_NE(e.find(csv + ":2: column 'site' is numeric but has '"), std::string::npos) << e;
  EXPECT_NE(e.find("site:cat"), std::string::npos) << e;

  // A category the training rows never had, met at evaluation.
  const auto cols = data::parse_metadata_columns("site:cat");
  const data::MetadataValues v = data::read_metadata(csv, cols, *images);
  data::MetadataSchema schema = data::fit_metadata(v, {0});
  e = error_of([&] { data::WithMetadata(images, v, schema); });
  EXPECT_NE(e.find("which training never saw"), std::string::npos) << e;
  EXPECT_NE(e.find(csv + ":"), std::string::npos) << e;
  fs::remove_all(dir);
}

// `convkit train --metadata-columns` end to end, and its bad column named with the file and line.
TEST(MetadataInputs, TrainsFromTheCommandLine) {
  const fs::path dir = temp_dir();
  const std::string train = write_set(dir, "train", 60, 1), test = write_set(dir, "test", 30, 2);
  auto run = [&](const std::string& args, std::string* out) {
    const std::string log = (dir / "cli.txt").string();
    const int st = std::system(
        (std::string(CONVKIT_CLI) + " train --data " + train + " --test-data " + test +
         " --model small-cnn --image-size 8 " + "--grayscale --epochs 2 --progress never --out " +
         (dir / "run").string() + " --overwrite " + args + " > " + log + " 2>&1")
            .c_str());
    std::ifstream in(log);
    *out = std::string(std::istreambuf_iterator<char>(in), {});
    return st;
  };
  std::string out;
  ASSERT_EQ(run("--metadata-columns v,site:cat", &out), 0) << out;
  EXPECT_NE(out.find("metadata: 1 numeric, 1 categorical columns"), std::string::npos) << out;
  const size_t at = out.find("test (last weights): top-1 accuracy ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string acc = out.substr(at + 36, out.find('%', at) - at - 36);
  // eval reads the columns from the checkpoint's schema and scores it as training did.
  auto cli = [&](const std::string& args, std::string* o) {
    const std::string log = (dir / "eval.txt").string();
    const int st =
        std::system((std::string(CONVKIT_CLI) + " " + args + " > " + log + " 2>&1").c_str());
    std::ifstream in(log);
    *o = std::string(std::istreambuf_iterator<char>(in), {});
    return st;
  };
  const std::string last = (dir / "run" / "last.safetensors").string();
  std::string ev;
  ASSERT_EQ(cli("eval " + last + " --data " + test, &ev), 0) << ev;
  EXPECT_NE(ev.find("small-cnn + 2 metadata columns"), std::string::npos) << ev;
  EXPECT_NE(ev.find("30 images"), std::string::npos) << ev;
  EXPECT_NE(ev.find("top-1 " + acc + "%"), std::string::npos) << "train said " << acc << "%\n"
                                                              << ev;
  ASSERT_EQ(cli("predict " + last + " --data " + test + " --index 0 29 -k 1", &ev), 0) << ev;
  EXPECT_NE(ev.find("(true: "), std::string::npos) << ev;
  EXPECT_EQ(std::count(ev.begin(), ev.end(), '\n'), 2) << ev;
  EXPECT_NE(cli("predict " + last + " --data " + test + " --index 30", &ev), 0);
  EXPECT_NE(ev.find("--index 30 is outside"), std::string::npos) << ev;
  EXPECT_NE(cli("predict " + last + " " + (dir / "test" / "x.png").string(), &ev), 0);
  EXPECT_NE(ev.find("needs each image's columns"), std::string::npos) << ev;
  EXPECT_NE(cli("eval " + last + " --data " + dir.string(), &ev), 0);
  EXPECT_NE(ev.find("reads its columns from a .csv list"), std::string::npos) << ev;
  EXPECT_NE(run("--metadata-columns v,age", &out), 0);
  EXPECT_NE(out.find(train + ":1: no column 'age'"), std::string::npos) << out;
  fs::remove_all(dir);
}
