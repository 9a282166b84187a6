#!/usr/bin/python3
"""Writes the Yosinski-style halves of Fashion-MNIST as PNG class folders (docs/transfer.md).

  fashion_halves.py OUT [labels_per_class ...] [--seed S]

OUT/source:        every training image of the even classes (0, 2, 4, 6, 8)
OUT/target_K:      K training images of each odd class (1, 3, 5, 7, 9), drawn with the seed
OUT/test:          every test image of the odd classes
OUT/val:           200 further training images of each odd class, in no target: for choices
                   such as the cut, so that the test set is looked at once
Class folders are named by the Fashion-MNIST class name.
"""
import gzip
import os
import sys

import cv2
import numpy as np

NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
         "boot"]
SRC = "/usr/share/datasets/fashion-mnist"


def idx(name, offset):
    with gzip.open(os.path.join(SRC, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def write(folder, images, labels, keep):
    for i in keep:
        d = os.path.join(folder, NAMES[labels[i]])
        os.makedirs(d, exist_ok=True)
        cv2.imwrite(os.path.join(d, "%05d.png" % i), images[i])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--seed")]
    seed = int(next((a.split("=")[1] for a in sys.argv[1:] if a.startswith("--seed=")), 1))
    out, ks = args[0], [int(k) for k in args[1:]] or [20, 5]
    tr_x = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    tr_y = idx("train-labels-idx1-ubyte.gz", 8)
    te_x = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    te_y = idx("t10k-labels-idx1-ubyte.gz", 8)
    write(os.path.join(out, "source"), tr_x, tr_y, np.flatnonzero(tr_y % 2 == 0))
    write(os.path.join(out, "test"), te_x, te_y, np.flatnonzero(te_y % 2 == 1))
    rng = np.random.default_rng(seed)
    used = set()
    for k in ks:
        keep = np.concatenate([rng.choice(np.flatnonzero(tr_y == c), k, replace=False)
                               for c in range(1, 10, 2)])
        write(os.path.join(out, "target_%d" % k), tr_x, tr_y, keep)
        used.update(keep.tolist())
    val = np.concatenate([rng.choice([i for i in np.flatnonzero(tr_y == c) if i not in used], 200,
                                     replace=False) for c in range(1, 10, 2)])
    write(os.path.join(out, "val"), tr_x, tr_y, val)


if __name__ == "__main__":
    main()
