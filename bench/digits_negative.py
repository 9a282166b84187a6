#!/usr/bin/python3
"""The documented negative transfer case (docs/transfer.md): scikit-learn's 8x8 digits upsampled
to 28x28 PNG folders, 10 labelled images per class (100 labels) as the target, the rest as test.

  digits_negative.py OUT [--seed=S]
"""
import os
import sys

import cv2
import numpy as np
from sklearn.datasets import load_digits


def main():
    out = sys.argv[1]
    seed = int(next((a.split("=")[1] for a in sys.argv[2:] if a.startswith("--seed=")), 1))
    d = load_digits()
    images = (d.images * (255.0 / 16.0)).astype(np.uint8)
    rng = np.random.default_rng(seed)
    train = set(np.concatenate([rng.choice(np.flatnonzero(d.target == c), 10, replace=False)
                                for c in range(10)]).tolist())
    for i, (img, y) in enumerate(zip(images, d.target)):
        folder = os.path.join(out, "target" if i in train else "test", str(y))
        os.makedirs(folder, exist_ok=True)
        big = cv2.resize(img, (28, 28), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(os.path.join(folder, "%04d.png" % i), big)


if __name__ == "__main__":
    main()
