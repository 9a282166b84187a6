#!/bin/sh
# The unseen-class protocol of docs/similarity.md on Fashion-MNIST: train an embedding on classes
# 0-6, then `convkit eval --task embed` (threshold from seen-class validation pairs; 6000 balanced
# test pairs and 1000 3-way one-shot episodes of classes 7-9, and the seen-class numbers).
#   scripts/embed_unseen.sh OUT_DIR [extra `convkit train` flags...]
# e.g. scripts/embed_unseen.sh runs/embed --pk 7,10 --mining all --margin 0.2 --embedding-dim 128
# One thread, niced: the numbers in docs/similarity.md come from a shared 2-core machine.
set -eu
out=$1
shift
bin=${CONVKIT:-build/convkit}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
nice -n 10 "$bin" train --task embed --model small-cnn --train-classes 0-6 \
  --threads 1 --workers 1 --seed 1 --out "$out" --overwrite "$@"
nice -n 10 "$bin" eval --task embed "$out/best.safetensors" --threads 1 --seed 1
