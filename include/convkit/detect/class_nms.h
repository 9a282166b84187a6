#pragma once
// NMS within each class over candidate detections, as both detectors' decoding ends
// (batched_nms on their boxes, scores and labels).
#include <cstdint>
#include <vector>

#include "convkit/metrics/detection.h"

namespace convkit::detect {

// The candidates batched_nms keeps at iou_threshold (boxes of different labels never suppress each
// other), by decreasing score; at most max_kept of them when max_kept >= 0.
std::vector<metrics::Detection> nms_by_class(const std::vector<metrics::Detection>& candidates,
                                             double iou_threshold, int64_t max_kept = -1);

}  // namespace convkit::detect
