#pragma once
// The losses of an embedding batch (P classes x K examples): L2 normalisation of the embeddings,
// the triplet loss with online mining and the contrastive loss over every pair of the batch.
#include <cstdint>
#include <string>
#include <vector>

#include "convkit/embed/mining.h"
#include "convkit/tensor.h"

namespace convkit::embed {

// Rows of x [N, D] scaled to unit length: x_i / sqrt(|x_i|^2 + 1e-12). Differentiable.
// Throws when x is not 2-D.
Tensor l2_normalize(const Tensor& x);

enum class LossKind { triplet, contrastive };
// "triplet" | "contrastive"; throws otherwise.
LossKind parse_loss(const std::string& name);

struct EmbeddingLossOptions {
  LossKind loss = LossKind::triplet;
  Mining mining = Mining::semihard;  // triplet only
  // Triplet: d_an must exceed d_ap by this; contrastive: negatives are pushed to this distance.
  // For unit-length embeddings distances lie in [0, 2].
  double margin = 0.2;
  bool squared = false;  // triplet on squared distances (FaceNet's), else Euclidean
};

struct EmbeddingLoss {
  Tensor loss;                   // scalar with its graph
  int64_t terms = 0;             // triplets mined, or pairs for the contrastive loss
  int64_t active = 0;            // terms with a non-zero loss
  double positive_distance = 0;  // mean Euclidean distance of same-label pairs (0 if none)
  double negative_distance = 0;  // and of different-label pairs
};

// The loss of embeddings [N, D] (already normalised if wanted) with labels [N]:
//   triplet:     triplet_margin_loss(pairwise_distances(emb, squared), mine_triplets(...), margin,
//                average_over_active = mining == all)
//   contrastive: contrastive_loss over every pair i < j of the batch (Euclidean distances).
// Throws when emb is not [N, D] for N labels.
EmbeddingLoss embedding_loss(const Tensor& embeddings, const std::vector<int64_t>& labels,
                             const EmbeddingLossOptions& options);

}  // namespace convkit::embed
