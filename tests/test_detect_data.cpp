// data/detection.h: the box CSV and VOC XML readers with every kind of bad row, make-shapes'
// boxes.csv, box-aware augmentation (the boxes follow the pixels) and the dataset's targets.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "convkit/data/detection.h"
#include "convkit/data/shapes.h"
#include "support/gradcheck.h"
#include "support/image_files.h"

namespace convkit {
namespace {

using data::BadDataPolicy;
using data::DetectionList;
using data::DetectionListOptions;

void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// A 40 x 30 image file.
void write_image(const std::string& path) { test::write_class_image(path, 0, 0, 40, 30); }

TEST(DetectData, CsvRowsAndEveryBadInput) {
  test::TempDir dir;
  write_image(dir.path("a.png"));
  write_image(dir.path("sub/b.png"));
  write_image(dir.path("neg.png"));
  write_text(dir.path("boxes.csv"),
             "path,class,x1,y1,x2,y2\n"     // 1 header
             "a.png,cat,1,2,11,12\n"        // 2
             "a.png,dog,5,5,20,25\n"        // 3 second object of a.png
             "sub/b.png,cat,30,20,50,40\n"  // 4 partly outside 40x30: clipped
             "sub/b.png,cat,41,0,45,5\n"    // 5 entirely outside: dropped
             "sub/b.png,dog,3,3,3,9\n"      // 6 zero area: dropped
             "sub/b.png,dog,9,3,4,8\n"      // 7 x2 < x1: dropped
             "missing.png,cat,1,1,2,2\n"    // 8 missing image: skipped
             "missing.png,cat,1,1,3,3\n"    // 9 reported once only
             "a.png,cat,1,2\n"              // 10 four fields
             "a.png,cat,1,two,3,4\n"        // 11 not a number
             "\n"                           // 12 blank
             "# a comment\n"                // 13
             "neg.png,,,,,\n");             // 14 an image without objects
  std::vector<std::string> reported;
  DetectionListOptions opt;
  opt.on_issue = [&](const data::BoxIssue& i) { reported.push_back(i.message); };
  const DetectionList l = data::read_box_csv(dir.path("boxes.csv"), opt);
  EXPECT_EQ(l.class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(l.images.size(), 3u);
  EXPECT_EQ(l.images[0].path, dir.path("a.png"));
  EXPECT_EQ(l.images[0].width, 40);
  EXPECT_EQ(l.images[0].height, 30);
  ASSERT_EQ(l.images[0].objects.size(), 2u);
  EXPECT_EQ(l.images[0].objects[1].label, 1);
  EXPECT_EQ(l.images[0].objects[1].box, (detect::Box{5, 5, 20, 25}));
  ASSERT_EQ(l.images[1].objects.size(), 1u);
  EXPECT_EQ(l.images[1].objects[0].box, (detect::Box{30, 20, 40, 30}));
  EXPECT_TRUE(l.images[2].objects.empty());
  EXPECT_EQ(l.num_objects(), 3);
  ASSERT_EQ(l.issues.size(), 7u);
  EXPECT_EQ(reported.size(), 7u);
  const std::string csv = dir.path("boxes.csv");
  const std::vector<std::pair<int64_t, std::string>> want{
      {4, "clipped"},       {5, "box dropped"},  {6, "box dropped"}, {7, "box dropped"},
      {8, "image skipped"}, {10, "row skipped"}, {11, "row skipped"}};
  for (std::size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ(l.issues[k].line, want[k].first) << k;
    EXPECT_EQ(l.issues[k].action, want[k].second) << k;
    EXPECT_EQ(l.issues[k].message.rfind(csv + ":" + std::to_string(want[k].first) + ": ", 0), 0u)
        << l.issues[k].message;
  }
  EXPECT_NE(l.issues[0].message.find("outside the 40x30 image"), std::string::npos);
  EXPECT_NE(l.issues[2].message.find("zero area"), std::string::npos);
  EXPECT_NE(l.issues[3].message.find("x2 < x1"), std::string::npos);
  EXPECT_NE(l.issues[4].message.find("missing.png"), std::string::npos);
  EXPECT_NE(l.issues[5].message.find("expected 6 fields"), std::string::npos);

  // A given class list: unknown names are named with the known ones; the order is the given one.
  opt.class_names = {"dog", "bird"};
  const DetectionList known = data::read_box_csv(csv, opt);
  EXPECT_EQ(known.images[0].objects.size(), 1u);
  EXPECT_EQ(known.images[0].objects[0].label, 0);
  EXPECT_NE(known.issues[0].message.find("unknown class 'cat' (classes: dog, bird)"),
            std::string::npos);

  // --strict: the first problem is fatal, with file and line.
  DetectionListOptions strict;
  strict.policy = BadDataPolicy::strict;
  EXPECT_THROW_WITH(data::read_box_csv(csv, strict), csv + ":4: box [30, 20, 50, 40]", "--strict");
  EXPECT_THROW_WITH(data::read_box_csv(dir.path("nope.csv")), "nope.csv", "cannot open");
  write_text(dir.path("all_bad.csv"), "missing.png,cat,1,1,2,2\n");
  EXPECT_THROW_WITH(data::read_box_csv(dir.path("all_bad.csv")), "all_bad.csv", "no usable image");
}

TEST(DetectData, ReadsMakeShapesBoxesCsv) {
  test::TempDir dir;
  data::ShapesOptions so;
  so.count = 6;
  so.size = 32;
  so.objects_max = 3;
  so.classes = {"circle", "square"};
  const int64_t objects = data::write_shapes_dataset(dir.path(), so);
  const DetectionList l = data::read_box_csv(dir.path("boxes.csv"));
  EXPECT_TRUE(l.issues.empty());
  EXPECT_EQ(int64_t(l.images.size()), so.count);
  EXPECT_EQ(l.num_objects(), objects);
  EXPECT_EQ(l.class_names, (std::vector<std::string>{"circle", "square"}));
  data::DetectionDataset ds(l, /*image_size=*/16);
  EXPECT_EQ(ds.example_shape(), Shape({3, 16, 16}));
  const data::Batch b = ds.get_batch({0, 1, 2, 3, 4, 5});
  EXPECT_EQ(b.inputs.shape(), Shape({6, 3, 16, 16}));
  const int64_t M = ds.max_objects();
  EXPECT_LE(M, 3);
  EXPECT_EQ(b.targets.at("boxes").shape(), Shape({6, M, 4}));
  // Boxes are scaled by 16 / 32; padding rows have label -1.
  const Tensor& labels = b.targets.at("box_labels");
  int64_t real = 0;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t k = 0; k < M; ++k) {
      const int64_t lab = labels.data<int64_t>()[i * M + k];
      if (lab < 0) continue;
      ++real;
      const detect::Box& src = l.images[size_t(i)].objects[size_t(k)].box;
      EXPECT_FLOAT_EQ(b.targets.at("boxes").data<float>()[(i * M + k) * 4 + 2], src.x2 / 2);
    }
  EXPECT_EQ(real, objects);
}

TEST(DetectData, ReadsVocXml) {
  test::TempDir dir;
  write_image(dir.path("JPEGImages/000001.png"));
  write_text(dir.path("Annotations/000001.xml"),
             "<annotation><folder>VOC</folder><filename>000001.png</filename>"
             "<size><width>40</width><height>30</height><depth>3</depth></size>"
             "<object><name>dog</name><difficult>1</difficult>"
             "<bndbox><xmin>2</xmin><ymin>3</ymin><xmax>20</xmax><ymax>25</ymax></bndbox>"
             "</object>\n<object><name>cat</name><pose>Left</pose>"
             "<bndbox><xmin>11</xmin><ymin>1</ymin><xmax>30</xmax><ymax>30</ymax></bndbox>"
             "</object>\n<object><name>cat</name>"
             "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>x</xmax><ymax>5</ymax></bndbox>"
             "</object></annotation>");
  const DetectionList l = data::read_voc_xml({dir.path("Annotations")});
  ASSERT_EQ(l.images.size(), 1u);
  EXPECT_EQ(l.images[0].path, dir.path("JPEGImages/000001.png"));
  ASSERT_EQ(l.images[0].objects.size(), 2u);
  EXPECT_EQ(l.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(l.images[0].objects[0].label, 1);
  EXPECT_TRUE(l.images[0].objects[0].difficult);
  EXPECT_EQ(l.images[0].objects[0].box, (detect::Box{1, 2, 20, 25}));  // 1-based inclusive
  EXPECT_EQ(l.images[0].objects[1].box, (detect::Box{10, 0, 30, 30}));
  ASSERT_EQ(l.issues.size(), 1u);
  EXPECT_NE(l.issues[0].message.find("000001.xml: object 'cat': <xmax> is 'x', not a number"),
            std::string::npos)
      << l.issues[0].message;
  write_text(dir.path("Annotations/000002.xml"), "<annotation></annotation>");
  DetectionListOptions strict;
  strict.policy = BadDataPolicy::strict;
  EXPECT_THROW_WITH(data::read_voc_xml({dir.path("Annotations/000002.xml")}, strict),
                    "000002.xml: no <filename>");
}

// The boxes follow the pixels: a white rectangle's bounding box in the augmented image is the
// augmented box, for random flips, scales and shifts.
TEST(DetectData, AugmentationMovesBoxesWithThePixels) {
  data::BoxAugmentOptions o;
  o.hflip = 0.5;
  o.scale_min = 0.6;
  o.scale_max = 1.4;
  o.translate = 0.15;
  o.fill = 0;
  int checked = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    cv::Mat image(48, 64, CV_8UC3, cv::Scalar::all(0));
    cv::rectangle(image, cv::Rect(20, 10, 16, 20), cv::Scalar::all(255), cv::FILLED);
    std::vector<data::ObjectBox> objects{{0, {20, 10, 36, 30}, false}};
    Generator g(seed);
    data::augment_with_boxes(image, objects, o, g);
    if (objects.empty()) continue;  // less than min_visible left in the image
    ++checked;
    cv::Mat gray, mask;
    cv::cvtColor(image, gray, cv::COLOR_RGB2GRAY);
    cv::threshold(gray, mask, 127, 255, cv::THRESH_BINARY);
    const cv::Rect seen = cv::boundingRect(mask);
    const detect::Box& t = objects[0].box;
    EXPECT_NEAR(t.x1, seen.x, 1.0) << seed;
    EXPECT_NEAR(t.y1, seen.y, 1.0) << seed;
    EXPECT_NEAR(t.x2, seen.x + seen.width, 1.0) << seed;
    EXPECT_NEAR(t.y2, seen.y + seen.height, 1.0) << seed;
  }
  EXPECT_GT(checked, 30);
  // A flip alone mirrors the box exactly: x -> W - x.
  data::BoxAugmentOptions flip;
  flip.hflip = 1;
  cv::Mat image(48, 64, CV_8UC3, cv::Scalar::all(0));
  std::vector<data::ObjectBox> one{{0, {20, 10, 36, 30}, false}};
  Generator g(1);
  data::augment_with_boxes(image, one, flip, g);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].box, (detect::Box{28, 10, 44, 30}));
  // A box pushed out of the image is dropped; one cut in half is clipped.
  data::BoxAugmentOptions shift;
  shift.hflip = 0;
  shift.translate = 0.5;
  std::vector<data::ObjectBox> edge{{0, {0, 0, 4, 4}, false}, {1, {20, 0, 40, 10}, false}};
  int dropped = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    cv::Mat image(40, 40, CV_8UC3, cv::Scalar::all(0));
    std::vector<data::ObjectBox> objs = edge;
    Generator g(seed);
    data::augment_with_boxes(image, objs, shift, g);
    dropped += objs.size() < 2;
    for (const auto& ob : objs) {
      EXPECT_GE(ob.box.x1, 0);
      EXPECT_LE(ob.box.x2, 40);
      EXPECT_GT(ob.box.area(), 0);
    }
  }
  EXPECT_GT(dropped, 0);
  data::BoxAugmentOptions bad;
  bad.scale_min = 2;
  EXPECT_THROW_WITH(data::check_box_augment_options(bad), "scale_min <= scale_max");
}

TEST(DetectData, EpochBatchesAreReproducible) {
  test::TempDir dir;
  data::ShapesOptions so;
  so.count = 4;
  so.size = 32;
  so.objects_max = 2;
  data::write_shapes_dataset(dir.path(), so);
  data::DetectionDataset plain(data::read_box_csv(dir.path("boxes.csv")), 24);
  data::BoxAugmentOptions o;
  o.scale_min = 0.8;
  o.scale_max = 1.2;
  o.translate = 0.1;
  auto aug = plain.with_augmentation(o);
  const data::Batch a = aug->get_epoch_batch({0, 1, 2, 3}, 7);
  const data::Batch b = aug->get_epoch_batch({0, 1, 2, 3}, 7);
  const data::Batch c = aug->get_epoch_batch({0, 1, 2, 3}, 8);
  EXPECT_EQ(test::max_abs_diff(a.inputs, b.inputs), 0);
  EXPECT_EQ(test::max_abs_diff(a.targets.at("boxes"), b.targets.at("boxes")), 0);
  EXPECT_GT(test::max_abs_diff(a.inputs, c.inputs), 0);
  // Without augmentation the epoch batch is the plain one.
  EXPECT_EQ(test::max_abs_diff(plain.get_epoch_batch({1}, 7).inputs, plain.get(1).inputs), 0);
}

}  // namespace
}  // namespace convkit
