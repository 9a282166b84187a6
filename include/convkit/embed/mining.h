#pragma once
// Online triplet mining inside a batch (P classes x K examples, embed/pk_sampler.h): which
// (anchor, positive, negative) rows the triplet loss (ops/metric_loss.h) is taken over.
//
// With d the batch's distance matrix and y its labels, a positive of anchor a is a row p != a with
// y_p = y_a, a negative a row n with y_n != y_a:
//   all       every (a, p, n) (Hermans et al. 2017, "batch all"; averaged over the active ones)
//   hard      per anchor, the farthest positive and the nearest negative (Hermans et al. 2017,
//             "batch hard"); anchors without a positive or a negative are left out
//   semihard  per (a, p), the nearest negative farther than the positive, d_an > d_ap (FaceNet,
//             Schroff et al. 2015, section 3.2); when no negative is farther, the farthest one
//             (the rule of TensorFlow Addons' triplet_semihard_loss)
// Ties go to the lower row index. Mining reads distances only; it records no graph.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/tensor.h"

namespace convkit::embed {

enum class Mining { all, hard, semihard };

// "all" | "hard" | "semihard" (also "batch-all", "batch-hard", "semi-hard"); throws naming the
// accepted names otherwise.
Mining parse_mining(const std::string& name);
std::string mining_name(Mining m);

struct Triplets {
  std::vector<int64_t> anchor, positive, negative;
  int64_t size() const { return int64_t(anchor.size()); }
};

// The triplets of `mining` for distances d [N, N] (float32/float64; the values are read, the graph
// is not) and labels [N]. Throws when d is not [N, N] for N labels.
Triplets mine_triplets(const Tensor& d, const std::vector<int64_t>& labels, Mining mining);

}  // namespace convkit::embed
