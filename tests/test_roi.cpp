// ops/roi.h: roi_pool and roi_align against torchvision.ops on the same float64 inputs (outputs
// and input gradients), finite-difference gradients, a hand-computed case and bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convkit/autograd.h"
#include "convkit/backend.h"
#include "convkit/ops/elementwise.h"
#include "convkit/ops/reduce.h"
#include "convkit/ops/roi.h"
#include "convkit/random.h"
#include "support/gradcheck.h"
#include "support/python_oracle.h"

namespace convkit {
namespace {

Tensor rois_of(const std::vector<double>& v) {
  return Tensor::from_vector(v, Shape({int64_t(v.size() / 5), 5}));
}

std::vector<double> values(const Tensor& t) {
  const Tensor d = t.to(DType::f64);
  return std::vector<double>(d.data<double>(), d.data<double>() + d.numel());
}

TEST(Roi, PoolByHand) {
  // x = 0..15 on a 4x4 map; the whole map in 2x2 bins: the max of each quadrant.
  const Tensor x = Tensor::arange(16, DType::f64).reshape({1, 1, 4, 4});
  RoiParams p;
  p.out_h = p.out_w = 2;
  EXPECT_EQ(values(roi_pool(x, rois_of({0, 0, 0, 3, 3}), p)), (std::vector<double>{5, 7, 13, 15}));
  // RoI Align with one sample per bin on the box [0, 0, 4, 4]: bin centres (1, 1), (1, 3), ...
  // where bilinear interpolation of a linear map is exact: x(h, w) = 4 h + w.
  p.sampling_ratio = 1;
  EXPECT_EQ(values(roi_align(x, rois_of({0, 0, 0, 4, 4}), p)), (std::vector<double>{5, 7, 13, 15}));
}

TEST(Roi, GradientsByFiniteDifferences) {
  Generator g(3);
  const Tensor rois = rois_of({0, 1.3, 0.7, 9.1, 6.2, 1, 4.0, 3.5, 7.5, 11.0, 1, -2, -1, 3, 2});
  RoiParams p;
  p.out_h = 3;
  p.out_w = 2;
  p.spatial_scale = 0.75;
  for (bool aligned : {false, true}) {
    p.aligned = aligned;
    EXPECT_TRUE(test::gradcheck([&](const TensorList& in) { return roi_align(in[0], rois, p); },
                                {test::rand_var({2, 2, 9, 8}, 11)}))
        << "aligned " << aligned;
  }
  // Max pooling: distinct random values keep every arg-max stable under the perturbation.
  EXPECT_TRUE(test::gradcheck([&](const TensorList& in) { return roi_pool(in[0], rois, p); },
                              {test::rand_var({2, 2, 9, 8}, 12)}));
}

TEST(Roi, BadInputIsNamed) {
  const Tensor x = Tensor::zeros({2, 3, 8, 8});
  RoiParams p;
  EXPECT_THROW_WITH(roi_align(x, Tensor::zeros({3, 4}), p), "roi_align", "[K, 5]", "[3,4]");
  EXPECT_THROW_WITH(roi_pool(x, Tensor::zeros({1, 5}, DType::f64), p), "x's dtype float32");
  EXPECT_THROW_WITH(
      roi_align(x, Tensor::from_vector(std::vector<float>{2, 0, 0, 1, 1}, Shape({1, 5})), p),
      "roi 0 has batch index 2", "[0, 2)");
  EXPECT_THROW_WITH(
      roi_align(x, Tensor::from_vector(std::vector<float>{0, 0, NAN, 1, 1}, Shape({1, 5})), p),
      "roi 0 has a coordinate");
  p.out_h = 0;
  EXPECT_THROW_WITH(roi_pool(x, Tensor::zeros({1, 5}), p), "output size 0x7");
}

// A detector's batch (hundreds of boxes, many channels) takes the kernels' parallel, channels-last
// path; each box alone takes the serial one. Outputs are equal bit for bit, input gradients (sums
// over boxes, in another grouping) to rounding.
TEST(Roi, ManyBoxesInParallelEqualOneAtATime) {
  Generator g(5);
  const Tensor x0 = Tensor::randn({3, 24, 10, 9}, &g, DType::f64);
  std::vector<double> v;
  for (int k = 0; k < 60; ++k) {
    const double x1 = g.uniform(-4, 60), y1 = g.uniform(-4, 70);
    v.insert(v.end(), {double(k % 3), x1, y1, x1 + g.uniform(1, 40), y1 + g.uniform(1, 40)});
  }
  const Tensor rois = rois_of(v);
  RoiParams p;
  p.spatial_scale = 1.0 / 8;
  p.sampling_ratio = 2;
  Tensor x = x0.detach();
  x.set_requires_grad(true);
  const Tensor up = Tensor::randn({60, 24, 7, 7}, &g, DType::f64);
  const Tensor y = roi_align(x, rois, p);
  sum(mul(y, up)).backward();
  const std::vector<double> all = values(y), all_grad = values(x.grad());
  std::vector<double> grad(all_grad.size(), 0.0);
  const int64_t per = 24 * 49;
  for (int64_t k = 0; k < 60; ++k) {
    Tensor xk = x0.detach();
    xk.set_requires_grad(true);
    const Tensor yk = roi_align(xk, rois_of({v.begin() + k * 5, v.begin() + k * 5 + 5}), p);
    const std::vector<double> got = values(yk);
    for (int64_t i = 0; i < per; ++i) ASSERT_EQ(got[size_t(i)], all[size_t(k * per + i)]) << k;
    const Tensor upk = Tensor::from_vector(
        std::vector<double>(up.data<double>() + k * per, up.data<double>() + (k + 1) * per),
        Shape({1, 24, 7, 7}));
    sum(mul(yk, upk)).backward();
    const std::vector<double> gk = values(xk.grad());
    for (size_t i = 0; i < grad.size(); ++i) grad[i] += gk[i];
  }
  for (size_t i = 0; i < grad.size(); ++i) ASSERT_NEAR(all_grad[i], grad[i], 1e-12) << i;
}

TEST(RoiGolden, MatchesTorchvision) {
  // The RoI ops have reference kernels only: one pass (dnnl) pays torch's start-up.
  if (backend() == Backend::ref)
    GTEST_SKIP() << "ref kernels on both passes; runs in the dnnl pass";
#ifdef CONVKIT_SANITIZE_BUILD
  GTEST_SKIP()
      << "~6 s of torch start-up; the other Roi tests cover this code under the sanitizers";
#endif
  struct Case {
    Shape shape;
    std::vector<double> rois;
    int64_t ph, pw;
    double scale;
    int64_t sampling_ratio;
    bool aligned;
  };
  // Boxes inside, partly and wholly outside the map, smaller than a pixel, reversed corners
  // (torchvision clamps their size), on both images of the batch.
  const std::vector<double> rois{0,   2.2, 3.1, 17.5, 12.9, 1,   0,   0,   23,  15,   1,   15.5,
                                 9.5, 30,  25,  0,    5.0,  5.0, 5.4, 5.3, 1,   9,    9,   3,
                                 4,   0,   -12, -9,   -2,   -1,  1,   3.7, 1.2, 11.1, 14.8};
  const std::vector<Case> cases{
      {Shape({2, 3, 16, 24}), rois, 7, 7, 1.0, -1, false},
      {Shape({2, 3, 16, 24}), rois, 3, 5, 1.0, 2, true},
      {Shape({2, 2, 8, 12}), rois, 2, 2, 0.5, -1, true},
      {Shape({2, 2, 8, 12}), rois, 4, 3, 0.5, 3, false},
  };
  Generator g(9);
  nlohmann::json in = nlohmann::json::array();
  std::vector<Tensor> xs, ups;
  for (const Case& c : cases) {
    Tensor x = Tensor::randn(c.shape, &g, DType::f64);
    Tensor up =
        Tensor::randn({int64_t(c.rois.size() / 5), c.shape.dim(1), c.ph, c.pw}, &g, DType::f64);
    in.push_back({{"x", values(x)},
                  {"shape", {c.shape.dim(0), c.shape.dim(1), c.shape.dim(2), c.shape.dim(3)}},
                  {"rois", c.rois},
                  {"out", {c.ph, c.pw}},
                  {"scale", c.scale},
                  {"sampling_ratio", c.sampling_ratio},
                  {"aligned", c.aligned},
                  {"upstream", values(up)}});
    xs.push_back(x);
    ups.push_back(up);
  }
  const std::string base = test::onnx_work_dir() + "/roi_" + std::to_string(::getpid());
  std::ofstream(base + "_in.json") << in.dump();
  std::string out;
  const int rc = test::run_python(std::string(CONVKIT_TESTS_DIR) + "/golden/detect_roi_oracle.py " +
                                      base + "_in.json " + base + "_out.json",
                                  &out);
  std::filesystem::remove(base + "_in.json");
  if (rc != 0 && out.find("ModuleNotFoundError") != std::string::npos) GTEST_SKIP() << out;
  ASSERT_EQ(rc, 0) << out;
  const nlohmann::json ref = nlohmann::json::parse(std::ifstream(base + "_out.json"));
  std::filesystem::remove(base + "_out.json");
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    RoiParams p;
    p.out_h = c.ph;
    p.out_w = c.pw;
    p.spatial_scale = c.scale;
    p.sampling_ratio = c.sampling_ratio;
    p.aligned = c.aligned;
    for (const char* op : {"align", "pool"}) {
      SCOPED_TRACE(std::string(op) + " case " + std::to_string(k));
      Tensor x = xs[k].detach();
      x.set_requires_grad(true);
      const Tensor r = rois_of(c.rois);
      const Tensor y = std::string(op) == "align" ? roi_align(x, r, p) : roi_pool(x, r, p);
      sum(mul(y, ups[k])).backward();
      const std::vector<double> want = ref[k][op].get<std::vector<double>>();
      const std::vector<double> want_grad =
          ref[k][std::string(op) + "_grad"].get<std::vector<double>>();
      const std::vector<double> got = values(y), got_grad = values(x.grad());
      ASSERT_EQ(got.size(), want.size());
      ASSERT_EQ(got_grad.size(), want_grad.size());
      for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-12) << i;
      for (std::size_t i = 0; i < got_grad.size(); ++i)
        ASSERT_NEAR(got_grad[i], want_grad[i], 1e-12) << i;
    }
  }
}

}  // namespace
}  // namespace convkit
