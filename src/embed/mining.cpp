// Triplet mining by plain loops over the distance matrix (N is a batch: tens to a few hundred).
#include "convkit/embed/mining.h"

namespace convkit::embed {

Mining parse_mining(const std::string& name) {
  if (name == "all" || name == "batch-all") return Mining::all;
  if (name == "hard" || name == "batch-hard") return Mining::hard;
  if (name == "semihard" || name == "semi-hard") return Mining::semihard;
  throw Error("unknown triplet mining '" + name + "': use all, hard or semihard");
}

std::string mining_name(Mining m) {
  switch (m) {
    case Mining::all:
      return "all";
    case Mining::hard:
      return "hard";
    case Mining::semihard:
      return "semihard";
  }
  return "?";
}

Triplets mine_triplets(const Tensor& d, const std::vector<int64_t>& labels, Mining mining) {
  const int64_t n = int64_t(labels.size());
  CONVKIT_CHECK(d.ndim() == 2 && d.size(0) == n && d.size(1) == n, "mine_triplets: distances ",
                d.shape().to_string(), " for ", n, " labels (expected [", n, ",", n, "])");
  Tensor dd = d.detach().to(DType::f64);
  const double* D = dd.data<double>();
  auto at = [&](int64_t i, int64_t j) { return D[i * n + j]; };
  Triplets t;
  auto push = [&](int64_t a, int64_t p, int64_t q) {
    t.anchor.push_back(a);
    t.positive.push_back(p);
    t.negative.push_back(q);
  };
  for (int64_t a = 0; a < n; ++a) {
    if (mining == Mining::hard) {
      int64_t p_far = -1, n_near = -1;
      for (int64_t j = 0; j < n; ++j) {
        if (j == a) continue;
        if (labels[j] == labels[a]) {
          if (p_far < 0 || at(a, j) > at(a, p_far)) p_far = j;
        } else if (n_near < 0 || at(a, j) < at(a, n_near)) {
          n_near = j;
        }
      }
      if (p_far >= 0 && n_near >= 0) push(a, p_far, n_near);
      continue;
    }
    for (int64_t p = 0; p < n; ++p) {
      if (p == a || labels[p] != labels[a]) continue;
      if (mining == Mining::all) {
        for (int64_t q = 0; q < n; ++q)
          if (labels[q] != labels[a]) push(a, p, q);
        continue;
      }
      int64_t semi = -1, far = -1;
      for (int64_t q = 0; q < n; ++q) {
        if (labels[q] == labels[a]) continue;
        if (far < 0 || at(a, q) > at(a, far)) far = q;
        if (at(a, q) > at(a, p) && (semi < 0 || at(a, q) < at(a, semi))) semi = q;
      }
      if (far >= 0) push(a, p, semi >= 0 ? semi : far);
    }
  }
  return t;
}

}  // namespace convkit::embed
