#!/usr/bin/env bash
# Knowledge distillation on Fashion-MNIST: a student trained alone vs the same student distilled
# from a teacher, same epochs, same seeds. Prints each run's test top-1 (last weights) and the means.
#   bench/distill_compare.sh TEACHER_WEIGHTS [student=lenet5] [epochs=3] [seeds="1 2 3"] [T=4] [alpha=0.9]
# The teacher is any `convkit train` output, e.g. runs/r56/best.safetensors from
#   build/convkit train --model resnet56 --epochs 8 --out runs/r56
set -euo pipefail
cd "$(dirname "$0")/.."
teacher=${1:?teacher weights file}
student=${2:-lenet5}
epochs=${3:-3}
seeds=${4:-"1 2 3"}
temp=${5:-4}
alpha=${6:-0.9}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
top1() { sed -n 's/^test (last weights).*top-1 accuracy \([0-9.]*\)%.*/\1/p'; }
printf "%-6s %12s %12s\n" seed alone distilled
sum_a=0; sum_d=0; n=0
for s in $seeds; do
  a=$(build/convkit train --model "$student" --epochs "$epochs" --seed "$s" --progress never \
        --out "$out/alone$s" | top1)
  d=$(build/convkit train --model "$student" --epochs "$epochs" --seed "$s" --progress never \
        --teacher "$teacher" --distill-temperature "$temp" --distill-alpha "$alpha" \
        --out "$out/distilled$s" | top1)
  printf "%-6s %11s%% %11s%%\n" "$s" "$a" "$d"
  sum_a=$(awk "BEGIN{print $sum_a + $a}"); sum_d=$(awk "BEGIN{print $sum_d + $d}"); n=$((n + 1))
done
printf "%-6s %11.2f%% %11.2f%%\n" mean "$(awk "BEGIN{print $sum_a / $n}")" "$(awk "BEGIN{print $sum_d / $n}")"
echo "(student $student, $epochs epochs, teacher $teacher, T=$temp, alpha=$alpha)"
