#include "convkit/detect/class_nms.h"

#include <algorithm>

#include "convkit/detect/boxes.h"

namespace convkit::detect {

std::vector<metrics::Detection> nms_by_class(const std::vector<metrics::Detection>& candidates,
                                             double iou_threshold, int64_t max_kept) {
  std::vector<Box> boxes;
  std::vector<float> scores;
  std::vector<int64_t> labels;
  for (const metrics::Detection& d : candidates)
    boxes.push_back(d.box), scores.push_back(d.score), labels.push_back(d.label);
  const int64_t n = int64_t(candidates.size());
  const Tensor keep = batched_nms(to_tensor(boxes), Tensor::from_vector(scores, Shape({n})),
                                  Tensor::from_vector(labels, Shape({n})), iou_threshold);
  const int64_t kept = max_kept >= 0 ? std::min(keep.numel(), max_kept) : keep.numel();
  std::vector<metrics::Detection> out;
  for (int64_t k = 0; k < kept; ++k) out.push_back(candidates[size_t(keep.data<int64_t>()[k])]);
  return out;
}

}  // namespace convkit::detect
