// The synthetic shapes set: deterministic per seed, balanced classes, boxes that hold their
// objects, files in class folders and a box list that both image sources read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "convkit/data/image_dataset.h"
#include "convkit/data/image_source.h"
#include "convkit/data/shapes.h"
#include "support/gradcheck.h"
#include "support/image_files.h"

using namespace convkit;
using namespace convkit::data;
namespace fs = std::filesystem;

namespace {
bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}
}  // namespace

TEST(Shapes, ImagesDependOnSeedAndIndexOnly) {
  ShapesOptions o;
  o.size = 32;
  o.seed = 3;
  ShapesImage a = draw_shapes_image(o, 7), b = draw_shapes_image(o, 7);
  EXPECT_TRUE(same(a.image, b.image));
  EXPECT_EQ(a.image.type(), CV_8UC3);
  EXPECT_EQ(a.image.rows, 32);
  EXPECT_FALSE(same(a.image, draw_shapes_image(o, 8).image));
  o.seed = 4;
  EXPECT_FALSE(same(a.image, draw_shapes_image(o, 7).image));
  for (int64_t i = 0; i < 8; ++i)
    EXPECT_EQ(draw_shapes_image(o, i).label, i % 4);  // classes take turns
}

TEST(Shapes, BoxesHoldTheirObjectsAndStayInTheImage) {
  ShapesOptions o;
  o.size = 48;
  o.objects_max = 3;
  o.classes = shape_names();
  int64_t several = 0;
  for (int64_t i = 0; i < 70; ++i) {
    SCOPED_TRACE(i);
    ShapesImage im = draw_shapes_image(o, i);
    ASSERT_GE(im.objects.size(), 1u);
    ASSERT_LE(im.objects.size(), 3u);
    several += im.objects.size() > 1;
    cv::Mat inside = cv::Mat::zeros(o.size, o.size, CV_8UC1);
    for (const ShapeObject& b : im.objects) {
      EXPECT_EQ(b.label, im.label);
      EXPECT_GE(b.x_min, 0);
      EXPECT_GE(b.y_min, 0);
      EXPECT_LE(b.x_max, o.size);
      EXPECT_LE(b.y_max, o.size);
      EXPECT_GT(b.x_max - b.x_min, 3);
      EXPECT_GT(b.y_max - b.y_min, 3);
      // Pixels whose square meets the box, grown by one pixel for rasterization.
      cv::Rect r(cv::Point(int(std::floor(b.x_min)) - 1, int(std::floor(b.y_min)) - 1),
                 cv::Point(int(std::ceil(b.x_max)) + 1, int(std::ceil(b.y_max)) + 1));
      r &= cv::Rect(0, 0, o.size, o.size);
      inside(r).setTo(255);
      // The drawn object fills a good part of its box.
      cv::Rect tight(cv::Point(int(std::ceil(b.x_min)), int(std::ceil(b.y_min))),
                     cv::Point(int(std::floor(b.x_max)), int(std::floor(b.y_max))));
      EXPECT_GT(cv::countNonZero(im.mask(tight & cv::Rect(0, 0, o.size, o.size))),
                tight.area() / 4);
    }
    cv::Mat outside;
    cv::bitwise_and(im.mask, ~inside, outside);
    EXPECT_EQ(cv::countNonZero(outside), 0) << "object pixels outside every box";
  }
  EXPECT_GT(several, 20);
}

TEST(Shapes, OptionsAreChecked) {
  ShapesOptions o;
  o.classes = {"circle", "blob"};
  EXPECT_THROW_WITH(check_shapes_options(o), "unknown shape 'blob'");
  o.classes = {"circle", "circle"};
  EXPECT_THROW_WITH(check_shapes_options(o), "'circle' is listed twice");
  o.classes = {"circle"};
  o.size = 8;
  EXPECT_THROW_WITH(check_shapes_options(o), "size must lie in [16, 4096], got 8");
  o.size = 32;
  o.objects_max = 0;
  EXPECT_THROW_WITH(check_shapes_options(o), "objects-max");
}

TEST(Shapes, WritesClassFoldersAndABoxList) {
  test::TempDir t;
  ShapesOptions o;
  o.count = 24;
  o.size = 24;
  o.classes = {"star", "circle", "cross"};
  o.objects_max = 2;
  const int64_t objects = write_shapes_dataset(t.path("a"), o, 1);
  EXPECT_EQ(write_shapes_dataset(t.path("b"), o, 3), objects);
  for (const char* f :
       {"star/star_00000.png", "circle/circle_00004.png", "cross/cross_00023.png"}) {
    SCOPED_TRACE(f);
    EXPECT_EQ(test::read_bytes(t.path("a/") + f),
              test::read_bytes(t.path("b/") + f));  // threads change nothing
    cv::Mat img = cv::imread(t.path("a/") + f, cv::IMREAD_COLOR);
    cv::Mat rgb;
    cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
    const int64_t index = std::stoll(std::string(f).substr(std::string(f).find('_') + 1, 5));
    EXPECT_TRUE(same(rgb, draw_shapes_image(o, index).image));  // stored as drawn, in RGB order
  }
  EXPECT_EQ(test::read_bytes(t.path("a/boxes.csv")), test::read_bytes(t.path("b/boxes.csv")));

  ImageSource folder = ImageSource::from_folder(t.path("a"));
  EXPECT_EQ(folder.class_names(), (std::vector<std::string>{"circle", "cross", "star"}));
  EXPECT_EQ(folder.entries().size(), 24u);
  for (const auto& e : folder.entries())
    EXPECT_EQ(folder.class_names()[size_t(e.label)],
              fs::path(e.path).parent_path().filename().string());

  std::ifstream csv(t.path("a/boxes.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "file,class,x_min,y_min,x_max,y_max");
  int64_t rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    std::stringstream s(line);
    std::string file, cls, v;
    std::getline(s, file, ',');
    std::getline(s, cls, ',');
    EXPECT_EQ(file.substr(0, file.find('/')), cls);
    double box[4];
    for (double& x : box) {
      std::getline(s, v, ',');
      x = std::stod(v);
    }
    EXPECT_LT(box[0], box[2]);
    EXPECT_LT(box[1], box[3]);
    EXPECT_GE(box[0], 0);
    EXPECT_LE(box[3], 24);
    EXPECT_TRUE(fs::exists(t.path("a/" + file))) << file;
  }
  EXPECT_EQ(rows, objects);
  EXPECT_GT(objects, 24);  // some images hold two objects

  // The box list doubles as a classification list (one row per object, same label per file).
  ImageSource list = ImageSource::from_csv(t.path("a/boxes.csv"));
  EXPECT_EQ(list.entries().size(), 24u);
  EXPECT_EQ(list.class_names(), folder.class_names());
  ImageDatasetOptions d;
  d.preprocessing.image_size = 24;
  ImageDataset a(folder, d), b(ImageSource::from_csv(t.path("a/boxes.csv")), d);
  std::vector<int64_t> all;
  for (int64_t i = 0; i < 24; ++i) all.push_back(i);
  Batch ba = a.get_batch(all);
  EXPECT_EQ(ba.inputs.shape(), Shape({24, 3, 24, 24}));
  EXPECT_EQ(b.get_batch(all).labels.numel(), 24);
}
