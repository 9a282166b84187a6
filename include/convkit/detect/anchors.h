#pragma once
// Anchor shapes chosen from a data set's boxes by k-means, as YOLO v2 (Redmon & Farhadi 2017,
// section "Dimension Clusters"): each box is reduced to its (width, height), boxes and centroids
// are compared as if they shared a centre, and the distance is d = 1 - IoU(box, centroid), so that
// large boxes do not dominate as they would under the Euclidean distance.
#include <cstdint>
#include <vector>

#include "convkit/random.h"

namespace convkit::detect {

struct AnchorSize {
  float w = 0, h = 0;
};

// IoU of two boxes of the given sizes placed on a common centre.
float centred_iou(const AnchorSize& a, const AnchorSize& b);

struct KMeansAnchors {
  std::vector<AnchorSize> anchors;  // k centroids, by increasing area
  double mean_iou = 0;              // mean over boxes of the IoU with their nearest centroid
  int iterations = 0;               // assignment rounds run until no box changed cluster
};

// k-means with the 1 - IoU distance. Centroids start from k-means++ seeding (Arthur & Vassilvitskii
// 2007) drawn from `gen`; each round assigns every box to its nearest centroid and moves each
// centroid to the mean (w, h) of its boxes (a centroid left with no box keeps its place). Stops
// when no assignment changes or after max_iterations. Deterministic for a given generator state.
// Throws when sizes is empty, k < 1, k > sizes.size(), or a size is not finite and > 0.
KMeansAnchors kmeans_anchors(const std::vector<AnchorSize>& sizes, int k, Generator& gen,
                             int max_iterations = 300);

}  // namespace convkit::detect
