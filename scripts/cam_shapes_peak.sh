#!/usr/bin/env bash
# Localization check of Grad-CAM (issue 19, docs/visualization.md): on held-out shapes images, the
# fraction whose heatmap peak (for the predicted class) lies inside the object's bounding box from
# make-shapes' boxes.csv. Trains a small classifier first unless MODEL is given.
# Usage: scripts/cam_shapes_peak.sh [WORK_DIR] [MODEL_FILE] [extra convkit cam flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/convkit_cam_shapes}
model=${2:-}
shift 2 || shift $# || true
convkit=${CONVKIT:-build/convkit}
mkdir -p "$work"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=passive
if [[ -z "$model" ]]; then
  rm -rf "$work/train" "$work/run"
  "$convkit" make-shapes --out "$work/train" --count 3000 --size 32 --seed 7 > /dev/null
  nice -n 10 "$convkit" train --data "$work/train" --model resnet20 --epochs 8 --batch-size 32 \
    --optimizer adam --lr 0.002 --weight-decay 0 --val-split 0.1 --seed 1 --progress never \
    --out "$work/run"
  model="$work/run/best.safetensors"
fi
rm -rf "$work/test" "$work/cam"
"$convkit" make-shapes --out "$work/test" --count 400 --size 32 --seed 99 > /dev/null
mapfile -t files < <(cd "$work/test" && ls */*.png | sed "s|^|$work/test/|")
nice -n 10 "$convkit" cam "$model" "${files[@]}" --out "$work/cam" "$@" > /dev/null
/usr/bin/python3 - "$work/test/boxes.csv" "$work/cam/cam.json" <<'PY'
import csv, json, os, sys
boxes = {}
for row in csv.DictReader(open(sys.argv[1])):
    boxes.setdefault(row["file"], []).append([float(row[k]) for k in ("x_min", "y_min", "x_max", "y_max")])
report = json.load(open(sys.argv[2]))
root = os.path.dirname(sys.argv[1])
inside = correct = total = 0
for im in report["images"]:
    rel = os.path.relpath(im["file"], root)
    c = im["classes"][0]
    total += 1
    correct += c["name"] == rel.split("/")[0]
    if not c["finite"]:
        continue
    x, y = (v + 0.5 for v in c["peak"]["image"])  # pixel centre in continuous coordinates
    inside += any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in boxes[rel])
print(f"images {total}  top-1 {correct / total:.2%}  peak inside the box {inside / total:.2%}"
      f"  (method {report['method']}, layer {report['images'][0]['layer']})")
PY
