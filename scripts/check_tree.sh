#!/usr/bin/env bash
# Checks the tracked tree (run by scripts/test.sh; exits non-zero on the first kind of failure):
#  1. no tracked file over 1 MiB outside the test-data folders listed below;
#  2. no Markdown/text file that repeats one long line over and over (a pasted-over doc);
#  3. every C++ file matches .clang-format (clang-format 14, Debian 12's).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dirs='^(tests/golden/data|fuzz/corpus)/'
limit=$((1024 * 1024))
status=0

while IFS= read -r -d '' f; do
  [[ -f $f ]] || continue
  size=$(stat -c %s "$f")
  if ((size > limit)) && ! [[ $f =~ $data_dirs ]]; then
    echo "check_tree: $f is $size bytes (over 1 MiB outside the test-data folders)" >&2
    status=1
  fi
done < <(git ls-files -z)

while IFS= read -r -d '' f; do
  [[ -f $f ]] || continue
  top=$(awk 'length($0) > 40 {c[$0]++} END {m = 0; for (l in c) if (c[l] > m) m = c[l]; print m}' "$f")
  if ((top > 20)); then
    echo "check_tree: $f repeats one line $top times (a block pasted over and over?)" >&2
    status=1
  fi
done < <(git ls-files -z '*.md' '*.txt')

format=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z $format ]]; then
  echo "check_tree: clang-format not found (scripts/install_deps.sh installs clang-format-14)" >&2
  exit 1
fi
mapfile -d '' sources < <(git ls-files -z '*.cpp' '*.h' '*.hpp' '*.cc')
if ! "$format" --dry-run --Werror "${sources[@]}" 2>/tmp/check_tree_format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/check_tree_format.$$ | cut -d: -f1 | sort -u |
    sed 's/^/check_tree: not clang-formatted: /' >&2
  echo "check_tree: run: clang-format -i FILE... (clang-format 14, .clang-format)" >&2
  status=1
fi
rm -f /tmp/check_tree_format.$$
((status == 0)) && echo "check_tree: sizes, repeated lines and formatting OK"
exit $status
