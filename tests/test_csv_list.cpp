// CSV image lists from the wild (issue 16): a byte-order mark, a label far above the rows, labels
// mixing integers and names. Each is handled or refused naming the file and line.
#include <gtest/gtest.h>

#include "convkit/data/image_source.h"
#include "support/gradcheck.h"
#include "support/image_files.h"

using namespace convkit;
using namespace convkit::data;
using test::TempDir;

TEST(CsvList, ByteOrderMarkBeforeTheHeaderIsDropped) {
  TempDir t;
  test::write_bytes(t.path("bom.csv"), "\xef\xbb\xbfpath,label\na.png,cat\nb.png,dog\n");
  ImageSource s = ImageSource::from_csv(t.path("bom.csv"));
  EXPECT_EQ(s.class_names(), (std::vector<std::string>{"cat", "dog"}));  // no "label" class
  ASSERT_EQ(s.entries().size(), 2u);
  EXPECT_EQ(s.entries()[0].path, t.path("a.png"));
  // Without a header too: the first path does not start with the mark.
  test::write_bytes(t.path("bom2.csv"),
                    "\xef\xbb\xbf"
                    "a.png,0\nb.png,1\n");
  EXPECT_EQ(ImageSource::from_csv(t.path("bom2.csv")).entries()[0].path, t.path("a.png"));
}

TEST(CsvList, IntegerLabelsAreBoundedByTheRows) {
  TempDir t;
  test::write_bytes(t.path("ok.csv"), "a.png,0\nb.png,2\nc.png,1\n");
  EXPECT_EQ(ImageSource::from_csv(t.path("ok.csv")).num_classes(), 3);
  // One typo made a billion classes (minutes, gigabytes, then bad_alloc naming nothing).
  test::write_bytes(t.path("big.csv"), "path,label\na.png,0\nb.png,1000000000\nc.png,1\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("big.csv")), "big.csv:3",
                    "label 1000000000 is not below the list's 3 rows");
  test::write_bytes(t.path("huge.csv"), "a.png,0\nb.png,123456789012345678901234567890\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("huge.csv")), "huge.csv:2",
                    "label 123456789012345678901234567890 is not below");
  // With the model's classes, they are the bound.
  EXPECT_EQ(ImageSource::from_csv(t.path("ok.csv"), {"a", "b", "c", "d"}).num_classes(), 4);
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("ok.csv"), {"a", "b"}), "ok.csv:2",
                    "label 2 is out of range for the 2 classes (a, b)");
}

TEST(CsvList, MixedIntegerAndNameLabelsAreAnError) {
  TempDir t;
  // One stray name used to turn every label into a class name, renumbering the classes.
  test::write_bytes(t.path("mixed.csv"), "a.png,0\nb.png,1\n# note\nc.png,cat\nd.png,2\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("mixed.csv")), "mixed.csv:4",
                    "label 'cat' is a class name but line 1's label '0' is an integer");
  test::write_bytes(t.path("names.csv"), "a.png,cat\nb.png,7\n");
  EXPECT_THROW_WITH(ImageSource::from_csv(t.path("names.csv")), "names.csv:2",
                    "label '7' is an integer but line 1's label 'cat' is a class name");
}
