// convkit demo spiral: CS231n's case study, from scratch. A softmax linear classifier and a
// network with one hidden ReLU layer, trained on the 3-arm spiral by full-batch gradient descent
// (the update written out: W -= lr * (dL/dW + reg * W), biases without the penalty), each drawn
// with its decision regions.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "convkit/autograd.h"
#include "convkit/data/spiral.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/linear.h"
#include "convkit/ops/loss.h"
#include "convkit/random.h"
#include "demo.h"
#include "output_files.h"

namespace convkit::cli {

namespace {

// Dense layers [in -> hidden...] -> classes; ReLU between them.
struct Net {
  std::vector<Tensor> w, b;  // w[l]: [out, in], as linear() takes it

  Net(std::vector<int64_t> sizes, Generator& gen) {
    for (size_t l = 0; l + 1 < sizes.size(); ++l) {
      Tensor wl = Tensor::empty({sizes[l + 1], sizes[l]});
      for (int64_t i = 0; i < wl.numel(); ++i) wl.data<float>()[i] = float(0.01 * gen.normal());
      w.push_back(wl.set_requires_grad());
      b.push_back(Tensor::zeros({sizes[l + 1]}).set_requires_grad());
    }
  }
  Tensor scores(const Tensor& x) const {
    Tensor h = x;
    for (size_t l = 0; l < w.size(); ++l) {
      h = linear(h, w[l], b[l]);
      if (l + 1 < w.size()) h = relu(h);
    }
    return h;
  }
  // sum of the squared weights (the L2 penalty is 0.5 reg this)
  double squared_weights() const {
    double s = 0;
    for (const Tensor& t : w)
      for (int64_t i = 0; i < t.numel(); ++i) s += double(t.data<float>()[i]) * t.data<float>()[i];
    return s;
  }
};

double accuracy(const Net& net, const data::SpiralData& d) {
  NoGradGuard no_grad;
  const Tensor s = net.scores(d.points);
  const int64_t n = s.size(0), c = s.size(1);
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = s.data<float>() + i * c;
    right += std::max_element(row, row + c) - row == d.labels.data<int64_t>()[i];
  }
  return double(right) / double(n);
}

// Full-batch gradient descent; returns the final loss (data + 0.5 reg sum W^2).
double train(Net& net, const data::SpiralData& d, double lr, double reg, int64_t steps,
             const char* what) {
  double loss = 0;
  const int64_t every = std::max<int64_t>(1, steps / 5);
  for (int64_t step = 0; step <= steps; ++step) {
    for (size_t l = 0; l < net.w.size(); ++l) net.w[l].zero_grad(), net.b[l].zero_grad();
    Tensor data_loss = cross_entropy(net.scores(d.points), d.labels);
    loss = data_loss.item() + 0.5 * reg * net.squared_weights();
    CONVKIT_CHECK(std::isfinite(loss), "demo spiral: the ", what, "'s loss is ", loss, " at step ",
                  step, "; lower --lr");
    if (step % every == 0)
      std::printf("  %s  step %5lld  loss %.4f\n", what, (long long)step, loss);
    if (step == steps) break;
    data_loss.backward();
    for (size_t l = 0; l < net.w.size(); ++l) {
      float* w = net.w[l].data<float>();
      const float* gw = net.w[l].grad().data<float>();
      for (int64_t i = 0; i < net.w[l].numel(); ++i) w[i] -= float(lr * (gw[i] + reg * w[i]));
      float* b = net.b[l].data<float>();
      const float* gb = net.b[l].grad().data<float>();
      for (int64_t i = 0; i < net.b[l].numel(); ++i) b[i] -= float(lr * gb[i]);
    }
  }
  return loss;
}

// Decision regions over [-1.1, 1.1]^2 (y up), the points on top, the accuracy in the corner.
cv::Mat draw(const Net& net, const data::SpiralData& d, const std::string& title) {
  constexpr int S = 480;
  constexpr double lo = -1.1, hi = 1.1;
  static const cv::Vec3b kPoint[] = {{214, 39, 40},  {31, 119, 180},  {44, 160, 44},
                                     {255, 127, 14}, {148, 103, 189}, {140, 86, 75}};
  auto to_px = [](double v) { return (v - lo) / (hi - lo) * (S - 1); };
  Tensor grid = Tensor::empty({S * S, 2});
  for (int r = 0; r < S; ++r)
    for (int c = 0; c < S; ++c) {
      grid.data<float>()[2 * (r * S + c)] = float(lo + (hi - lo) * c / (S - 1));
      grid.data<float>()[2 * (r * S + c) + 1] = float(hi - (hi - lo) * r / (S - 1));
    }
  Tensor s;
  {
    NoGradGuard no_grad;
    s = net.scores(grid);
  }
  const int64_t k = s.size(1);
  cv::Mat img(S, S, CV_8UC3);
  for (int i = 0; i < S * S; ++i) {
    const float* row = s.data<float>() + int64_t(i) * k;
    const cv::Vec3b c = kPoint[(std::max_element(row, row + k) - row) % 6];
    img.at<cv::Vec3b>(i / S, i % S) = {uchar(255 - (255 - c[0]) / 3), uchar(255 - (255 - c[1]) / 3),
                                       uchar(255 - (255 - c[2]) / 3)};
  }
  for (int64_t i = 0; i < d.points.size(0); ++i) {
    const cv::Point p(int(std::lround(to_px(d.points.data<float>()[2 * i]))),
                      int(std::lround(S - 1 - to_px(d.points.data<float>()[2 * i + 1]))));
    const cv::Vec3b c = kPoint[d.labels.data<int64_t>()[i] % 6];
    cv::circle(img, p, 4, cv::Scalar(c[0], c[1], c[2]), cv::FILLED, cv::LINE_AA);
    cv::circle(img, p, 4, cv::Scalar(40, 40, 40), 1, cv::LINE_AA);
  }
  cv::putText(img, title, {10, 24}, cv::FONT_HERSHEY_SIMPLEX, 0.6, cv::Scalar(20, 20, 20), 1,
              cv::LINE_AA);
  return img;
}

}  // namespace

void run_demo_spiral(const SpiralArgs& a) {
  make_output_dir(a.out, "demo spiral");
  const data::SpiralData d = data::make_spiral(a.points, a.classes, a.noise, a.seed);
  std::printf("spiral: %lld classes x %lld points, noise %.2f (seed %llu)\n", (long long)a.classes,
              (long long)a.points, a.noise, (unsigned long long)a.seed);
  Generator gen(a.seed + 1);

  Net linear_model({2, a.classes}, gen);
  train(linear_model, d, a.lr, a.reg, a.linear_steps, "softmax");
  const double acc_linear = accuracy(linear_model, d);

  Net network({2, a.hidden, a.classes}, gen);
  train(network, d, a.lr, a.reg, a.network_steps, "network");
  const double acc_net = accuracy(network, d);

  char title[128];
  std::snprintf(title, sizeof title, "softmax (linear): %.1f%% training accuracy",
                100 * acc_linear);
  write_png(a.out + "/softmax.png", draw(linear_model, d, title));
  std::snprintf(title, sizeof title, "%lld ReLU units: %.1f%% training accuracy",
                (long long)a.hidden, 100 * acc_net);
  write_png(a.out + "/network.png", draw(network, d, title));
  std::printf(
      "softmax linear classifier: training accuracy %.2f%% (straight boundaries cannot follow the "
      "arms)\n"
      "one hidden layer of %lld ReLU units: training accuracy %.2f%%\n"
      "decision regions: %s/softmax.png, %s/network.png\n",
      100 * acc_linear, (long long)a.hidden, 100 * acc_net, a.out.c_str(), a.out.c_str());
}

}  // namespace convkit::cli
