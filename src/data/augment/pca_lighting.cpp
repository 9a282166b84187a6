// AlexNet's PCA lighting noise (Krizhevsky et al. 2012, section 4.1) and the colour PCA it needs.
#include <opencv2/core.hpp>

#include "common.h"

namespace convkit::data {

ColorPca color_pca(const std::vector<cv::Mat>& images) {
  CONVKIT_CHECK(!images.empty(), "color_pca: no images");
  const int C = images[0].channels();
  cv::Mat sum = cv::Mat::zeros(1, C, CV_64F), outer = cv::Mat::zeros(C, C, CV_64F);
  double n = 0;
  for (size_t k = 0; k < images.size(); ++k) {
    detail::check_image(images[k], "color_pca");
    CONVKIT_CHECK(images[k].channels() == C, "color_pca: image ", k, " has ", images[k].channels(),
                  " channels, image 0 has ", C);
    // [H, W] of C channels -> [H*W, C] pixel rows in [0, 1].
    const cv::Mat img = images[k].isContinuous() ? images[k] : images[k].clone();
    cv::Mat pixels;
    img.reshape(1, img.rows * img.cols).convertTo(pixels, CV_64F, 1.0 / 255);
    cv::Mat xtx, col_sum;
    cv::mulTransposed(pixels, xtx, /*aTa=*/true);
    cv::reduce(pixels, col_sum, 0, cv::REDUCE_SUM, CV_64F);
    outer += xtx;
    sum += col_sum;
    n += pixels.rows;
  }
  cv::Mat mean = sum / n;
  cv::Mat cov = outer / n - mean.t() * mean;
  cv::Mat values, vectors;
  cv::eigen(cov, values, vectors);  // descending; eigenvectors are the rows
  ColorPca pca;
  for (int i = 0; i < C; ++i) {
    pca.eigenvalues.push_back(std::max(values.at<double>(i), 0.0));
    pca.eigenvectors.emplace_back(vectors.ptr<double>(i), vectors.ptr<double>(i) + C);
  }
  return pca;
}

namespace {
class PcaLighting : public Transform {
 public:
  PcaLighting(double alpha_std, ColorPca pca) : std_(alpha_std), pca_(std::move(pca)) {
    CONVKIT_CHECK(std_ >= 0, "pca_lighting: alpha std must be non-negative, got ", std_);
    const size_t C = pca_.eigenvalues.size();
    CONVKIT_CHECK(C == 1 || C == 3, "pca_lighting: need 1 or 3 eigenvalues, got ", C);
    CONVKIT_CHECK(pca_.eigenvectors.size() == C, "pca_lighting: ", C, " eigenvalues but ",
                  pca_.eigenvectors.size(), " eigenvectors");
    for (const auto& v : pca_.eigenvectors)
      CONVKIT_CHECK(v.size() == C, "pca_lighting: eigenvectors must have ", C,
                    " components, one has ", v.size());
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    detail::check_image(image, "pca_lighting");
    const int C = int(pca_.eigenvalues.size());
    CONVKIT_CHECK(image.channels() == C, "pca_lighting: the colour PCA has ", C,
                  " channels but the image has ", image.channels());
    cv::Scalar offset;
    for (int k = 0; k < C; ++k) {
      const double a = rng.normal(0, std_) * pca_.eigenvalues[k] * 255;
      for (int c = 0; c < C; ++c) offset[c] += a * pca_.eigenvectors[k][c];
    }
    cv::Mat out;
    cv::add(image, offset, out);
    return out;
  }
  std::string describe() const override {
    std::string s = detail::concat("pca_lighting(std=", std_, ", eigenvalues=[");
    for (size_t k = 0; k < pca_.eigenvalues.size(); ++k)
      s += detail::concat(k ? ", " : "", pca_.eigenvalues[k]);
    return s + "])";
  }

 private:
  double std_;
  ColorPca pca_;
};
}  // namespace

TransformPtr pca_lighting(double alpha_std, ColorPca pca) {
  return std::make_shared<PcaLighting>(alpha_std, std::move(pca));
}

}  // namespace convkit::data
