#!/usr/bin/env bash
# Transfer between the halves of Fashion-MNIST, as Yosinski et al. (2014) split ImageNet
# (issue 18, docs/transfer.md): a ResNet-20 trained on the even classes (all images) is the base;
# the target is the odd classes with K labelled images each; the test set is every odd-class test
# image. `convkit transfer` reports frozen features + head, fine-tuning and from scratch.
#   bench/transfer_halves.sh [source_epochs=30] [head_epochs=30] [joint_epochs=30] [seeds="1 2 3"] [ks="20 5"]
# The full run is the defaults; docs/transfer.md records it. CONVKIT: the binary (build/convkit).
# CUT: the layer the features come from, pooled (layer2: chosen on the val folder, odd-class
# training images in no target, over layer1/layer2/layer3; docs/transfer.md).
# bench/transfer_halves_torch.py WORK --cut layer2 runs the same recipe in PyTorch on the same files.
set -euo pipefail
cd "$(dirname "$0")/.."
src_epochs=${1:-30}
head_epochs=${2:-30}
joint_epochs=${3:-30}
seeds=${4:-"1 2 3"}
ks=${5:-"20 5"}
work=${WORK:-$(mktemp -d)}
ck=${CONVKIT:-build/convkit}  # a copy lets the run go on while build/ is rebuilt
cut=${CUT:-layer2}
tseeds=${TRANSFER_SEEDS:-}  # transfer seeds per base (head init, shuffling); default: the base's
export OMP_WAIT_POLICY=passive
for s in $seeds; do
  [ -d "$work/s$s/val" ] || /usr/bin/python3 bench/fashion_halves.py "$work/s$s" $ks --seed=$s
  [ -f "$work/s$s/base/best.safetensors" ] ||
    "$ck" train --data "$work/s$s/source" --model resnet20 --grayscale --image-size 28 \
      --epochs "$src_epochs" --lr 0.1 --batch-size 128 --seed "$s" --progress never \
      --out "$work/s$s/base" | tail -2
  for k in $ks; do for t in ${tseeds:-$s}; do
    echo "== seed $s, $k labels per class, transfer seed $t"
    "$ck" transfer --base "$work/s$s/base/best.safetensors" --data "$work/s$s/target_$k" \
      --test-data "$work/s$s/test" --val-fraction 0 --head-epochs "$head_epochs" \
      --epochs "$joint_epochs" --unfreeze 2 --lr 0.1 --batch-size 16 --seed "$t" --cut "$cut" \
      --compare-uncached --out "$work/s$s/transfer_${k}_$t" |
      grep -E "^(head|joint|scratch|test acc|head through)"
  done; done
done
echo "(work folder: $work)"
