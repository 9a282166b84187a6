// k-means anchor selection with the IoU distance (contract in include/convkit/detect/anchors.h).
#include "convkit/detect/anchors.h"

#include <algorithm>
#include <cmath>

#include "convkit/error.h"

namespace convkit::detect {

float centred_iou(const AnchorSize& a, const AnchorSize& b) {
  const float inter = std::min(a.w, b.w) * std::min(a.h, b.h);
  return inter / (a.w * a.h + b.w * b.h - inter);
}

namespace {

// Index of the centroid nearest to s (largest IoU), and that IoU.
std::pair<int, float> nearest(const AnchorSize& s, const std::vector<AnchorSize>& centroids) {
  int best = 0;
  float best_iou = -1;
  for (int c = 0; c < int(centroids.size()); ++c) {
    const float v = centred_iou(s, centroids[c]);
    if (v > best_iou) best = c, best_iou = v;
  }
  return {best, best_iou};
}

// k-means++: the first centroid uniformly, each next one with probability proportional to its
// squared distance to the nearest centroid so far.
std::vector<AnchorSize> seed_centroids(const std::vector<AnchorSize>& sizes, int k,
                                       Generator& gen) {
  std::vector<AnchorSize> c{sizes[gen.next_u64() % sizes.size()]};
  std::vector<double> d2(sizes.size());
  while (int(c.size()) < k) {
    double total = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const double d = 1.0 - nearest(sizes[i], c).second;
      total += d2[i] = d * d;
    }
    if (total <= 0) {  // every box coincides with a centroid: any box will do
      c.push_back(sizes[gen.next_u64() % sizes.size()]);
      continue;
    }
    double r = gen.uniform(0.0, total);
    std::size_t i = 0;
    while (i + 1 < sizes.size() && r >= d2[i]) r -= d2[i++];
    c.push_back(sizes[i]);
  }
  return c;
}

}  // namespace

KMeansAnchors kmeans_anchors(const std::vector<AnchorSize>& sizes, int k, Generator& gen,
                             int max_iterations) {
  CONVKIT_CHECK(!sizes.empty(), "kmeans_anchors: no boxes (the data set has no labelled boxes)");
  CONVKIT_CHECK(k >= 1 && std::size_t(k) <= sizes.size(), "kmeans_anchors: k must be in [1, ",
                sizes.size(), "] (the number of boxes), got ", k);
  for (std::size_t i = 0; i < sizes.size(); ++i)
    CONVKIT_CHECK(
        std::isfinite(sizes[i].w) && std::isfinite(sizes[i].h) && sizes[i].w > 0 && sizes[i].h > 0,
        "kmeans_anchors: box ", i, " has size ", sizes[i].w, " x ", sizes[i].h,
        "; widths and heights must be finite and > 0 (drop zero-area boxes first)");
  KMeansAnchors r;
  r.anchors = seed_centroids(sizes, k, gen);
  std::vector<int> assign(sizes.size(), -1);
  for (r.iterations = 1; r.iterations <= max_iterations; ++r.iterations) {
    bool changed = false;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const int c = nearest(sizes[i], r.anchors).first;
      changed |= c != assign[i];
      assign[i] = c;
    }
    if (!changed) break;
    std::vector<double> sw(k, 0), sh(k, 0), n(k, 0);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      sw[assign[i]] += sizes[i].w;
      sh[assign[i]] += sizes[i].h;
      n[assign[i]] += 1;
    }
    for (int c = 0; c < k; ++c)
      if (n[c] > 0) r.anchors[c] = {float(sw[c] / n[c]), float(sh[c] / n[c])};
  }
  r.iterations = std::min(r.iterations, max_iterations);
  std::sort(r.anchors.begin(), r.anchors.end(),
            [](const AnchorSize& a, const AnchorSize& b) { return a.w * a.h < b.w * b.h; });
  double sum = 0;
  for (const AnchorSize& s : sizes) sum += nearest(s, r.anchors).second;
  r.mean_iou = sum / double(sizes.size());
  return r;
}

}  // namespace convkit::detect
