#!/usr/bin/env python3
"""Writes scikit-image's sample photos as PNGs for style transfer (docs/style.md):
  python3 scripts/style_samples.py OUT_DIR
chelsea, astronaut, coffee (content) and immunohistochemistry, hubble_deep_field (style).
Needs python3-skimage and python3-opencv (scripts/install_deps.sh).
"""
import os
import sys

import cv2
import skimage.data

NAMES = ["chelsea", "astronaut", "coffee", "immunohistochemistry", "hubble_deep_field"]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    for name in NAMES:
        rgb = getattr(skimage.data, name)()
        path = os.path.join(sys.argv[1], name + ".png")
        cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        print("wrote", path, rgb.shape)


if __name__ == "__main__":
    main()
