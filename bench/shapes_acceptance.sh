#!/usr/bin/env bash
# Acceptance run of issue 5 (docs/data.md): a generated 32x32 shapes set with one planted bad file
# of each kind, trained with `convkit train --data DIR` on resnet20; the bad files must be reported by
# path and the run must reach >= 98% validation accuracy.
# Usage: bench/shapes_acceptance.sh [WORK_DIR] [extra convkit train flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/convkit_shapes_acceptance}
shift || true
convkit=${CONVKIT:-build/convkit}
rm -rf "$work"
mkdir -p "$work"
d="$work/shapes32"
"$convkit" make-shapes --out "$d" --count 4000 --size 32 --seed 7

# One bad file of each kind (python3 with cv2 and numpy writes the image-shaped ones).
: > "$d/circle/zero_bytes.png"
head -c 400 "$d/square/square_00001.png" > "$d/square/truncated.png"
echo "not an image" > "$d/star/text_named.jpg"
echo "readme" > "$d/triangle/README.txt"
mkdir -p "$d/zz_empty_class"
/usr/bin/python3 - "$d" <<'PY'
import struct, sys
import cv2, numpy as np
d = sys.argv[1]
noise = np.random.RandomState(0).randint(0, 255, (32, 32, 3), np.uint8)
png = bytearray(cv2.imencode('.png', noise)[1].tobytes())
i = png.find(b'IDAT')
for k in range(i + 8, i + 60):  # damage the pixel data, keep signature, IHDR and IEND
    png[k] ^= 0xff
open(d + '/triangle/corrupt.png', 'wb').write(png)
gray = np.full((32, 32), 40, np.uint8)
cv2.circle(gray, (16, 16), 10, 220, -1)
cv2.imwrite(d + '/circle/gray_circle.png', gray)
huge = bytearray(cv2.imencode('.png', np.zeros((1, 1, 3), np.uint8))[1].tobytes())
huge[16:24] = struct.pack('>II', 60000, 60000)  # IHDR claims 60000 x 60000
open(d + '/star/huge_header.png', 'wb').write(huge)
jpg = cv2.imencode('.jpg', noise)[1].tobytes()
open(d + '/square/truncated.jpg', 'wb').write(jpg[:len(jpg) // 2])
PY

start=$(date +%s.%N)
nice -n 15 "$convkit" train --data "$d" --model resnet20 --epochs 15 --batch-size 64 --lr 0.1 \
  --warmup 1 --val-split 0.2 --seed 1 --progress never --out "$work/run" "$@"
echo "wall time: $(echo "$(date +%s.%N) - $start" | bc) s"
