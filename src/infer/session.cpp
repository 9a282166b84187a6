#include "convkit/infer/session.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "convkit/autograd.h"
#include "convkit/infer/preprocess.h"
#include "convkit/ops/activation.h"

namespace convkit::infer {

namespace {
bool row_finite(const float* row, int64_t c) {
  for (int64_t j = 0; j < c; ++j)
    if (!std::isfinite(row[j])) return false;
  return true;
}

Tensor as_f32(const Tensor& t) { return t.dtype() == DType::f32 ? t : t.to(DType::f32); }
}  // namespace

std::vector<std::vector<Prediction>> top_k(const Tensor& probabilities, int64_t k,
                                           const std::vector<std::string>& class_names) {
  CONVKIT_CHECK(probabilities.defined() && probabilities.ndim() == 2,
                "top_k: expected probabilities [N, C], got ",
                probabilities.defined() ? probabilities.shape().to_string() : "undefined");
  CONVKIT_CHECK(k > 0, "top_k: k must be positive, got ", k);
  const Tensor p = as_f32(probabilities);
  const int64_t n = p.size(0), c = p.size(1), kk = std::min(k, c);
  std::vector<std::vector<Prediction>> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p.data<float>() + i * c;
    if (!row_finite(row, c)) continue;
    std::vector<int64_t> order(static_cast<size_t>(c));
    for (int64_t j = 0; j < c; ++j) order[size_t(j)] = j;
    std::partial_sort(order.begin(), order.begin() + kk, order.end(), [&](int64_t a, int64_t b) {
      return row[a] > row[b] || (row[a] == row[b] && a < b);
    });
    for (int64_t j = 0; j < kk; ++j) {
      const int64_t cls = order[size_t(j)];
      out[size_t(i)].push_back(
          {cls, size_t(cls) < class_names.size() ? class_names[size_t(cls)] : std::to_string(cls),
           double(row[cls])});
    }
  }
  return out;
}

int64_t count_non_finite_rows(const Tensor& scores) {
  CONVKIT_CHECK(scores.defined() && scores.ndim() == 2,
                "count_non_finite_rows: expected scores [N, C], got ",
                scores.defined() ? scores.shape().to_string() : "undefined");
  const Tensor p = as_f32(scores);
  int64_t bad = 0;
  for (int64_t i = 0; i < p.size(0); ++i)
    bad += !row_finite(p.data<float>() + i * p.size(1), p.size(1));
  return bad;
}

Session::Session(ModelBundle bundle, SessionOptions options)
    : bundle_(std::move(bundle)), options_(options) {
  CONVKIT_CHECK(bundle_.module != nullptr, "Session: the bundle ", bundle_.describe(),
                " holds no module");
  bundle_.module->eval();
  if (const char* off = std::getenv("CONVKIT_NO_PLAN"); off && std::string(off) == "1")
    options_.plan = false;
  const bool int8 = options_.int8_calibration.defined();
  // bfloat16 and int8 exist only in plans: running the module instead would quietly be float32.
  CONVKIT_CHECK(!(options_.bf16 || int8) || (options_.plan && options_.max_plans > 0),
                "Session: ", bundle_.describe(), ": ", int8 ? "int8" : "bfloat16",
                " runs on the planned path, which is off (SessionOptions::plan, "
                "max_plans or CONVKIT_NO_PLAN=1)");
  if (int8) {
    NoGradGuard no_grad;
    calibration_ = InferencePlan::calibrate(*bundle_.module, options_.int8_calibration);
  }
}

const InferencePlan* Session::plan_for(const Shape& shape) const {
  if (!options_.plan || options_.max_plans == 0) return nullptr;
  const std::string key = shape.to_string();
  auto it = plans_.find(key);
  if (it == plans_.end()) it = plans_.emplace(key, plan_shape(shape)).first;
  CONVKIT_CHECK(it->second.plan || !(options_.bf16 || calibration_),
                calibration_ ? "int8" : "bfloat16", " inference of ", key,
                " needs a plan, and it could not be built: ", it->second.refused);
  return it->second.plan.get();
}

Session::Planned Session::plan_shape(const Shape& shape) const {
  Planned p;
  try {
    PlanOptions po;
    po.bf16 = options_.bf16;
    po.int8 = calibration_;
    p.plan = InferencePlan::build(*bundle_.module, shape, po);
  } catch (const Error& e) {
    p.refused = e.what();
  }
  if (plans_.size() >= options_.max_plans) {
    plans_.erase(plan_order_.front());
    plan_order_.pop_front();
  }
  plan_order_.push_back(shape.to_string());
  return p;
}

std::vector<std::string> Session::plan_report() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> lines;
  for (const std::string& key : plan_order_) {
    const Planned& p = plans_.at(key);
    lines.push_back(key + ": " +
                    (p.plan ? p.plan->stats().to_string() : "not planned: " + p.refused));
  }
  return lines;
}

Tensor Session::run(const Tensor& inputs, bool probabilities) const {
  const ModelBundle& b = bundle_;
  CONVKIT_CHECK(inputs.defined() && inputs.ndim() == 4, b.describe(),
                ": expected inputs [N, C, H, W], got ",
                inputs.defined() ? inputs.shape().to_string() : "undefined");
  CONVKIT_CHECK(inputs.size(1) == b.in_channels, b.describe(), " takes ", b.in_channels,
                "-channel inputs, got ", inputs.shape().to_string());
  CONVKIT_CHECK(inputs.size(2) == inputs.size(3) || !b.fixed_input_size, b.describe(), " takes ",
                b.image_size, "x", b.image_size, " inputs, got ", inputs.shape().to_string());
  check_input_size(b, std::min(inputs.size(2), inputs.size(3)));
  Tensor out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    NoGradGuard no_grad;
    try {
      const InferencePlan* plan = plan_for(inputs.shape());
      out = plan ? plan->run(inputs) : (*b.module)(inputs);
    } catch (const Error& e) {
      throw Error(detail::concat(b.describe(), ": an input ", inputs.shape().to_string(),
                                 " failed (the model was made for ", b.in_channels, "x",
                                 b.image_size, "x", b.image_size, " inputs): ", e.what()));
    }
    CONVKIT_CHECK(out.ndim() == 2 && out.size(0) == inputs.size(0) &&
                      (b.num_classes <= 0 || out.size(1) == b.num_classes),
                  b.describe(), ": the model returned ", out.shape().to_string(), " for ",
                  inputs.shape().to_string(), "; expected [", inputs.size(0), ", ",
                  b.num_classes > 0 ? std::to_string(b.num_classes) : std::string("classes"), "]");
    // Under the lock too: softmax is a kernel on the same shared stream.
    if (probabilities) out = softmax(out, 1);
  }
  return out;
}

Tensor Session::logits(const Tensor& inputs) const { return run(inputs, false); }

Tensor Session::probabilities(const Tensor& inputs) const { return run(inputs, true); }

std::vector<std::vector<Prediction>> Session::classify(const Tensor& inputs, int64_t k) const {
  return top_k(probabilities(inputs), k, bundle_.class_names);
}

std::vector<std::vector<Prediction>> Session::classify_files(const std::vector<std::string>& paths,
                                                             int64_t k) const {
  std::vector<Tensor> inputs;
  for (const std::string& p : paths) inputs.push_back(preprocess_file(bundle_, p));
  return classify(stack_inputs(inputs), k);
}

}  // namespace convkit::infer
