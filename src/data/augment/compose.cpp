#include "common.h"

namespace convkit::data {

namespace {
class Compose : public Transform {
 public:
  explicit Compose(std::vector<TransformPtr> t) : t_(std::move(t)) {
    for (size_t k = 0; k < t_.size(); ++k)
      CONVKIT_CHECK(t_[k] != nullptr, "compose: transform ", k, " is null");
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    cv::Mat out = image;
    for (const TransformPtr& t : t_) out = t->apply(out, rng);
    return out;
  }
  std::string describe() const override {
    std::string s = "compose(";
    for (size_t k = 0; k < t_.size(); ++k) s += (k ? ", " : "") + t_[k]->describe();
    return s + ")";
  }

 private:
  std::vector<TransformPtr> t_;
};

class RandomApply : public Transform {
 public:
  RandomApply(double p, TransformPtr t) : p_(p), t_(std::move(t)) {
    detail::check_probability(p_, "random_apply");
    CONVKIT_CHECK(t_ != nullptr, "random_apply: no transform");
  }
  cv::Mat apply(const cv::Mat& image, Generator& rng) const override {
    return rng.uniform() < p_ ? t_->apply(image, rng) : image;
  }
  std::string describe() const override {
    return detail::concat("random_apply(p=", p_, ", ", t_->describe(), ")");
  }

 private:
  double p_;
  TransformPtr t_;
};
}  // namespace

TransformPtr compose(std::vector<TransformPtr> transforms) {
  return std::make_shared<Compose>(std::move(transforms));
}
TransformPtr random_apply(double p, TransformPtr transform) {
  return std::make_shared<RandomApply>(p, std::move(transform));
}

}  // namespace convkit::data
