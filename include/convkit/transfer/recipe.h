#pragma once
// The fine-tuning recipe in a few calls (docs/transfer.md; Yosinski et al. 2014 and the usual
// practice):
//   1. a new head on the cut base            TransferModel(base, classes)
//   2. freeze the base                       (TransferModel does it)
//   3. train the head                        train_head   (on cached features, or the frozen base
//                                                          every step when the data augments)
//   4. unfreeze the top blocks               unfreeze_top / unfreeze_blocks
//   5. train jointly at a lower base LR      train_joint  (base at 0.1x the head's by default;
//                                                          per-block decay as an option)
// and the baseline every transfer run reports beside it: the same network from a fresh
// initialization trained for the same number of epochs, train_scratch.
//
// Batch norms in frozen parts stay in eval mode throughout (nn::Module::train), so their running
// statistics keep the base's values.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "convkit/data/dataset.h"
#include "convkit/nn/layers.h"
#include "convkit/transfer/truncated.h"

namespace convkit::transfer {

// logits = head(base(x)): the cut base, then Flatten and a fresh Linear [F] -> [classes] (F: the
// number of elements of base->feature_shape()). The base starts frozen.
class TransferModel : public nn::Module {
 public:
  TransferModel(std::shared_ptr<Truncated> base, int64_t num_classes);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Truncated> base;
  std::shared_ptr<nn::Sequential> head;  // "0": Flatten, "1": Linear
};

// Unfreezes the top `n` of base->blocks() (the last ones the forward runs; n larger than the
// number of blocks unfreezes all) and returns their names, top first. Throws when n < 0.
std::vector<std::string> unfreeze_top(TransferModel& model, int64_t n);
// Unfreezes the named blocks (dotted paths inside the base: "layer3" or "layer3.2"). Throws naming
// a path that is not a module of the cut base (and the blocks that are).
void unfreeze_blocks(TransferModel& model, const std::vector<std::string>& names);

struct TransferData {
  data::DatasetPtr train;  // the labelled target examples (training transforms included)
  data::DatasetPtr val;    // may be null
  data::DatasetPtr test;   // may be null
};

struct StageOptions {
  int64_t epochs = 5;
  int64_t batch_size = 32;
  double lr = 0.01;  // the head's; SGD with momentum, cosine decay to 0 over the stage
  double momentum = 0.9;
  double weight_decay = 5e-4;  // on weights of rank >= 2
  uint64_t seed = 1;           // of the loader's shuffling
  // train_joint: base blocks train at lr * base_lr_mult; with block_lr_decay < 1 the k-th
  // unfrozen block from the top (k = 0, 1, ...) trains at lr * base_lr_mult * block_lr_decay^k
  // (discriminative learning rates, Howard & Ruder 2018 use 1/2.6).
  double base_lr_mult = 0.1;
  double block_lr_decay = 1.0;
  // train_head: a folder for feature caches (train.ckfeat, val.ckfeat, test.ckfeat; see
  // feature_cache.h); empty: the frozen base runs every step. Leave it empty when `train`
  // augments: cached features would freeze one draw of the augmentation.
  std::string cache_dir;
  // Names the data in the cache key (the data path): see dataset_fingerprint.
  std::string data_source;
};

struct StageResult {
  std::string stage;           // "head", "joint", "scratch"
  int64_t epochs = 0;          // trained
  int64_t trainable = 0;       // parameters that trained
  double seconds = 0;          // training, without feature extraction
  double extract_seconds = 0;  // train_head with a cache: running the base over the data (0 when
                               // every cache was up to date)
  double val_acc = -1, test_acc = -1;  // top-1 in [0, 1]; -1 without that set
  // One line: "head: 5 epochs, 650 trainable, 1.2 s, val 81.3%, test 80.9%".
  std::string to_string() const;
};

// Steps 2-3: the base frozen, the head trained for options.epochs.
StageResult train_head(TransferModel& model, const TransferData& data, const StageOptions& options);
// Step 5: every trainable parameter trains; the base's at the lower rates of `options`.
StageResult train_joint(TransferModel& model, const TransferData& data,
                        const StageOptions& options);
// The baseline: `fresh` (a TransferModel over a freshly initialized base of the same
// architecture) with everything unfrozen, trained for options.epochs at options.lr.
StageResult train_scratch(TransferModel& fresh, const TransferData& data,
                          const StageOptions& options);

// Top-1 accuracy of `model` on `ds` (eval mode, no grad) in [0, 1].
double accuracy(nn::Module& model, const data::DatasetPtr& ds, int64_t batch_size = 64);

}  // namespace convkit::transfer
