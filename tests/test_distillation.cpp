// Distillation: the loss against an independent double-precision evaluation of Hinton et al.'s
// formula, its gradient by finite differences, and a teacher loaded from a checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "convkit/models/registry.h"
#include "convkit/ops.h"
#include "convkit/train/checkpoint.h"
#include "convkit/train/distillation.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

// alpha T^2 KL(p_t || p_s) (batch mean) + (1 - alpha) CE(s, y), written out in plain loops.
double reference_loss(const Tensor& s, const Tensor& t, const std::vector<int64_t>& y, double T,
                      double alpha) {
  const int64_t n = s.size(0), c = s.size(1);
  double kl = 0, ce = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto log_softmax_row = [&](const Tensor& z, double temp) {
      std::vector<double> v(c);
      double m = -1e300, sum = 0;
      for (int64_t k = 0; k < c; ++k) m = std::max(m, z.at({i, k}) / temp);
      for (int64_t k = 0; k < c; ++k) sum += std::exp(z.at({i, k}) / temp - m);
      for (int64_t k = 0; k < c; ++k) v[k] = z.at({i, k}) / temp - m - std::log(sum);
      return v;
    };
    auto ls = log_softmax_row(s, T), lt = log_softmax_row(t, T), l1 = log_softmax_row(s, 1.0);
    for (int64_t k = 0; k < c; ++k) kl += std::exp(lt[k]) * (lt[k] - ls[k]);
    ce -= l1[y[i]];
  }
  return alpha * T * T * kl / double(n) + (1 - alpha) * ce / double(n);
}

TEST(Distillation, LossMatchesTheFormula) {
  Generator gen(3);
  Tensor s = Tensor::randn({5, 7}, &gen), t = mul(Tensor::randn({5, 7}, &gen), 3.0);
  std::vector<int64_t> y = {0, 6, 3, 3, 1};
  Tensor target = Tensor::from_vector<int64_t>(y, {5});
  for (double T : {1.0, 4.0})
    for (double alpha : {0.0, 0.5, 0.9, 1.0}) {
      const double got = distillation_loss(s, t, target, T, alpha).item();
      const double want = reference_loss(s, t, y, T, alpha);
      // float32 arithmetic against a double reference: relative tolerance.
      EXPECT_NEAR(got, want, 1e-5 * (1 + std::abs(want))) << "T=" << T << " alpha=" << alpha;
    }
  // The soft term vanishes when the student equals the teacher.
  EXPECT_NEAR(distillation_loss(t, t, target, 4.0, 1.0).item(), 0.0, 1e-5);
}

TEST(Distillation, GradientMatchesFiniteDifferences) {
  Tensor t = test::rand_var({4, 6}, 11).detach();
  Tensor target = Tensor::from_vector<int64_t>({1, 0, 5, 2}, {4});
  EXPECT_TRUE(test::gradcheck(
      [&](const TensorList& in) { return distillation_loss(in[0], t, target, 3.0, 0.7, 0.1); },
      {test::rand_var({4, 6}, 12)}));
}

TEST(Distillation, BadArgumentsAreNamed) {
  Tensor s = Tensor::zeros({2, 3}), t = Tensor::zeros({2, 4});
  Tensor y = Tensor::from_vector<int64_t>({0, 1}, {2});
  EXPECT_THROW_WITH(distillation_loss(s, t, y, 2.0, 0.5), "distillation_loss", "[2,3]", "[2,4]");
  EXPECT_THROW_WITH(distillation_loss(s, s, y, 0.0, 0.5), "temperature");
  EXPECT_THROW_WITH(distillation_loss(s, s, y, 2.0, 1.5), "alpha");
}

TEST(Distillation, TeacherMapsStudentStandardizationToItsOwn) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "convkit_distill_test";
  fs::create_directories(dir);
  const std::string path = (dir / "teacher.safetensors").string();
  manual_seed(5);
  auto model = models::create_model("small-cnn", {1, 10, 28});
  model->eval();
  // The teacher was trained on inputs standardized with mean 0.25, std 0.5.
  train::Metadata meta = {{"model", "small-cnn"},
                          {"config", R"({"in_channels":1,"num_classes":10,"image_size":28,)"
                                     R"("normalization":{"mean":[0.25],"std":[0.5]}})"}};
  train::save_weights(path, *model, meta);
  // The student standardizes with mean 0.1, std 2: x_student = (raw - 0.1) / 2.
  train::Teacher teacher(path, {0.1}, {2.0});
  Tensor raw = Tensor::uniform({3, 1, 28, 28}, 0, 1);
  Tensor x_student = mul(add(raw, -0.1), 0.5);
  Tensor expected;
  {
    NoGradGuard ng;
    expected = (*model)(mul(add(raw, -0.25), 2.0));
  }
  EXPECT_LT(test::max_abs_diff(teacher.logits(x_student), expected), 1e-4);
  EXPECT_THROW_WITH(train::Teacher(path, {0.1, 0.2}, {1.0, 1.0}), path, "student", "2 means");
  fs::remove_all(dir);
}

// Logits cached by dataset index are reused only for an identical row: a changed row under a
// cached index (an augmented epoch) and a new index are computed; answers equal the uncached ones.
TEST(Distillation, TeacherCacheReusesOnlyIdenticalRows) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "convkit_distill_cache_test";
  fs::create_directories(dir);
  const std::string path = (dir / "teacher.safetensors").string();
  manual_seed(9);
  auto model = models::create_model("small-cnn", {1, 10, 28});
  train::save_weights(path, *model,
                      {{"model", "small-cnn"},
                       {"config", R"({"in_channels":1,"num_classes":10,"image_size":28})"}});
  train::Teacher teacher(path, {}, {});
  Tensor a = Tensor::uniform({4, 1, 28, 28}, 0, 1);
  Tensor first = teacher.logits(a, {10, 11, 12, 13});
  EXPECT_EQ(teacher.cache_misses(), 4);
  EXPECT_LT(test::max_abs_diff(first, teacher.logits(a)), 1e-5);

  // Rows 0 and 2 again in a new order, row 1 changed (index 11), one new index.
  Tensor b = Tensor::empty({4, 1, 28, 28});
  b.select(0).copy_(a.select(2));
  b.select(1).copy_(a.select(0));
  b.select(2).copy_(Tensor::uniform({1, 28, 28}, 0, 1));
  b.select(3).copy_(a.select(3));
  Tensor second = teacher.logits(b, {12, 10, 11, 99});
  EXPECT_EQ(teacher.cache_hits(), 2);
  EXPECT_EQ(teacher.cache_misses(), 6);
  EXPECT_LT(test::max_abs_diff(second, teacher.logits(b)), 1e-5);
  EXPECT_THROW_WITH(teacher.logits(a, {1, 2}), "2 indices", "[4,1,28,28]");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace convkit
