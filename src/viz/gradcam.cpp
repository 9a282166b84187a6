// Grad-CAM, Grad-CAM++ and CAM (include/convkit/viz/gradcam.h has the formulas).
#include "convkit/viz/gradcam.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "convkit/autograd.h"
#include "convkit/error.h"
#include "convkit/infer/preprocess.h"
#include "convkit/ops/activation.h"
#include "convkit/ops/indexing.h"
#include "convkit/viz/layer.h"
#include "convkit/viz/overlay.h"
#include "viz/frozen.h"

namespace convkit::viz {

CamMethod parse_cam_method(const std::string& name) {
  if (name == "gradcam") return CamMethod::grad_cam;
  if (name == "gradcam++") return CamMethod::grad_cam_pp;
  if (name == "cam") return CamMethod::cam;
  throw Error("viz: unknown CAM method '" + name + "'; use gradcam, gradcam++ or cam");
}

const char* cam_method_name(CamMethod m) {
  switch (m) {
    case CamMethod::grad_cam:
      return "gradcam";
    case CamMethod::grad_cam_pp:
      return "gradcam++";
    case CamMethod::cam:
      return "cam";
  }
  return "?";
}

namespace {

bool all_finite(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

// Channel weights [K] of image n from its activations a and gradients g, both [K, hw].
std::vector<double> channel_weights(CamMethod method, const float* a, const float* g, int64_t K,
                                    int64_t hw) {
  std::vector<double> alpha(K, 0.0);
  for (int64_t k = 0; k < K; ++k) {
    const float* ak = a + k * hw;
    const float* gk = g + k * hw;
    if (method == CamMethod::grad_cam) {
      double s = 0;
      for (int64_t i = 0; i < hw; ++i) s += gk[i];
      alpha[k] = s / static_cast<double>(hw);
    } else {
      double sum_a = 0;
      for (int64_t i = 0; i < hw; ++i) sum_a += ak[i];
      double s = 0;
      for (int64_t i = 0; i < hw; ++i) {
        const double g1 = gk[i], g2 = g1 * g1, g3 = g2 * g1;
        const double denom = 2 * g2 + sum_a * g3;
        if (g1 != 0 && denom != 0) s += g2 / denom * std::max(g1, 0.0);
      }
      alpha[k] = s;
    }
  }
  return alpha;
}

// ReLU(sum_k w[k] a_k) (or without the ReLU) as a [h, w] tensor.
Tensor weighted_sum(const std::vector<double>& w, const float* a, int64_t h, int64_t wd,
                    bool relu_after) {
  const int64_t hw = h * wd;
  std::vector<double> acc(hw, 0.0);
  for (size_t k = 0; k < w.size(); ++k)
    for (int64_t i = 0; i < hw; ++i) acc[i] += w[k] * a[k * hw + i];
  Tensor map = Tensor::empty({h, wd});
  float* m = map.data<float>();
  for (int64_t i = 0; i < hw; ++i)
    m[i] = static_cast<float>(relu_after ? std::max(acc[i], 0.0) : acc[i]);
  return map;
}

// The last Linear module's path in registration order.
std::string last_linear(nn::Module& model, const std::string& model_name) {
  std::string found;
  for (const auto& [p, m] : model.named_modules())
    if (m->type_name() == "Linear" || m->type_name() == "Gemm") found = p;
  CONVKIT_CHECK(!found.empty(), "cam: ", model_name,
                " has no Linear layer; CAM needs global average pooling then a linear classifier ",
                "(use gradcam for other models)");
  return found;
}

// Classes explained for image n: options.classes, or its top_k by logit.
std::vector<std::vector<int64_t>> chosen_classes(const Tensor& logits, const CamOptions& o,
                                                 const std::string& model_name) {
  const int64_t N = logits.size(0), C = logits.size(1);
  std::vector<std::vector<int64_t>> out(N);
  if (!o.classes.empty()) {
    for (int64_t c : o.classes)
      CONVKIT_CHECK(c >= 0 && c < C, "viz: class index ", c, " is out of range: ", model_name,
                    " has ", C, " classes (0..", C - 1, ")");
    for (auto& v : out) v = o.classes;
    return out;
  }
  CONVKIT_CHECK(o.top_k >= 1, "viz: top_k must be at least 1, got ", o.top_k);
  const TopK top = topk(logits.detach(), {std::min(o.top_k, C)});
  const Tensor idx = top.indices.to(DType::i64);
  const int64_t k = idx.size(1);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t r = 0; r < k; ++r) out[n].push_back(static_cast<int64_t>(idx.at({n, r})));
  return out;
}

// Grad mode on for a scope (the caller may be inside a NoGradGuard).
struct GradModeOn {
  bool prev = autograd::grad_enabled();
  GradModeOn() { autograd::set_grad_enabled(true); }
  ~GradModeOn() { autograd::set_grad_enabled(prev); }
};

}  // namespace

CamResult class_activation_maps(nn::Module& model, const Tensor& inputs, const CamOptions& options,
                                const std::string& model_name) {
  CONVKIT_CHECK(inputs.ndim() == 4, "viz: inputs must be [N, C, H, W], got ",
                inputs.shape().to_string());
  CamResult result;
  result.layer = options.layer.empty() ? default_cam_layer(model, inputs.slice(0, 1), model_name)
                                       : options.layer;
  nn::Module& layer = find_layer(model, result.layer, model_name);
  const bool gradient_based = options.method != CamMethod::cam;

  // The layer's output; for gradients a fresh leaf, so that backward stops there.
  Tensor activations;
  int calls = 0;
  nn::HookHandle hook =
      layer.register_forward_hook([&](nn::Module&, const nn::TensorList&, nn::TensorList& out) {
        if (++calls > 1 || out.empty()) return;
        activations = out[0].detach();
        if (gradient_based) {
          activations.set_requires_grad(true);
          out[0] = activations;
        }
      });
  detail::FrozenParameters frozen(model);
  GradModeOn grad_on;
  std::optional<NoGradGuard> no_grad;
  if (!gradient_based) no_grad.emplace();
  result.logits = model(inputs);
  hook.remove();
  CONVKIT_CHECK(calls == 1, "viz: layer '", result.layer, "' of ", model_name, " ran ", calls,
                " times in one forward pass; choose a layer that runs exactly once");
  check_spatial_map(result.layer, activations.shape(), "viz");
  CONVKIT_CHECK(result.logits.ndim() == 2 && result.logits.size(0) == inputs.size(0),
                "viz: ", model_name, " output is ", result.logits.shape().to_string(),
                ", not class scores [N, num_classes]");
  const int64_t N = activations.size(0), K = activations.size(1), h = activations.size(2),
                w = activations.size(3), hw = h * w, C = result.logits.size(1);
  const auto classes = chosen_classes(result.logits, options, model_name);

  const Tensor a = activations.detach().to(DType::f32);
  const float* ap = a.data<float>();
  const Tensor logits = result.logits.detach().to(DType::f32);
  if (gradient_based)
    CONVKIT_CHECK(result.logits.requires_grad(), "viz: the output of ", model_name,
                  " does not depend on layer '", result.layer, "'");

  // Image-major output: gather per rank, then reorder.
  std::vector<std::vector<CamMap>> per_image(N);
  Tensor cls_weight;
  if (!gradient_based) {
    const std::string cls_path =
        options.classifier.empty() ? last_linear(model, model_name) : options.classifier;
    nn::Module& cls = find_layer(model, cls_path, model_name);
    // An imported graph's classifier is a Gemm node holding the Linear's weight [C, K] (the
    // layout torch.onnx and convkit export, transB=1); the shape check below rejects others.
    CONVKIT_CHECK(cls.type_name() == "Linear" || cls.type_name() == "Gemm", "cam: classifier '",
                  cls_path, "' is a ", cls.type_name(), ", not Linear");
    for (const auto& [name, t] : cls.named_parameters())
      if (name == "weight") cls_weight = t.detach().to(DType::f32);
    CONVKIT_CHECK(cls_weight.defined() && cls_weight.ndim() == 2 && cls_weight.size(1) == K &&
                      cls_weight.size(0) == C,
                  "cam: the classifier '", cls_path, "' has weight ",
                  cls_weight.defined() ? cls_weight.shape().to_string() : "(none)", " but layer '",
                  result.layer, "' has ", K, " channels and the model ", C,
                  " classes; CAM needs the layer right before global average pooling and the ",
                  "linear classifier (use gradcam otherwise)");
  }
  const size_t ranks = classes.empty() ? 0 : classes[0].size();
  for (size_t r = 0; r < ranks; ++r) {
    Tensor grads;
    if (gradient_based) {
      Tensor oh32 = Tensor::zeros({N, C});
      float* o = oh32.data<float>();
      for (int64_t n = 0; n < N; ++n) o[n * C + classes[n][r]] = 1.0f;
      grads =
          autograd::grad({result.logits}, {activations}, {oh32.to(result.logits.dtype())})[0].to(
              DType::f32);
    }
    for (int64_t n = 0; n < N; ++n) {
      CamMap m;
      m.image = n;
      m.class_index = classes[n][r];
      m.score = logits.at({n, m.class_index});
      const float* an = ap + n * K * hw;
      std::vector<double> weights(K);
      if (gradient_based) {
        const float* gn = grads.data<float>() + n * K * hw;
        m.finite = all_finite(an, K * hw) && all_finite(gn, K * hw);
        if (m.finite) weights = channel_weights(options.method, an, gn, K, hw);
      } else {
        m.finite = all_finite(an, K * hw);
        const float* wc = cls_weight.data<float>() + m.class_index * K;
        for (int64_t k = 0; k < K; ++k) weights[k] = wc[k];
      }
      m.map = m.finite ? weighted_sum(weights, an, h, w, /*relu_after=*/gradient_based)
                       : Tensor::zeros({h, w});
      if (m.finite && !all_finite(m.map.data<float>(), hw)) {
        m.finite = false;
        m.map = Tensor::zeros({h, w});
      }
      per_image[n].push_back(std::move(m));
    }
  }
  for (auto& v : per_image)
    for (auto& m : v) result.maps.push_back(std::move(m));
  return result;
}

std::vector<Explanation> explain(const infer::ModelBundle& bundle, const cv::Mat& image,
                                 const CamOptions& options) {
  nn::Module& model = *bundle.module;
  model.eval();
  const Tensor input = infer::preprocess_image(bundle, image);
  const CamResult r =
      class_activation_maps(model, infer::stack_inputs({input}), options, bundle.describe());
  const Tensor probs = softmax(r.logits.detach(), 1).to(DType::f32);
  const cv::Mat seen = infer::to_image(bundle, input);
  std::vector<Explanation> out;
  for (const CamMap& m : r.maps) {
    Explanation e;
    e.layer = r.layer;
    e.class_index = m.class_index;
    e.class_name = bundle.class_name(m.class_index);
    e.score = m.score;
    e.probability = probs.at({0, m.class_index});
    e.map = m.map;
    e.finite = m.finite;
    if (m.finite) {
      e.heatmap = normalize_map(m.map, input.size(1), input.size(2));
      e.overlay = overlay(seen, e.heatmap);
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace convkit::viz
