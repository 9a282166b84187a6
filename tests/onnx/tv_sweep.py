"""Every torchvision classification builder, exported at opsets 13 and 17 with random weights,
imported by convkit and compared with PyTorch (max abs diff <= 1e-4); writes the table into
docs/onnx.md between the `tv-sweep` markers.

Usage (from the repository root, after building convkit_tests):
  /usr/bin/python3 tests/onnx/tv_sweep.py --build build [--work DIR] [--only NAME ...]

One model at a time: gen_tv_eval.py exports both opsets into the work folder, convkit_tests
(OnnxTorchvisionSweep.WritesResults, CONVKIT_ONNX_SWEEP_DIR) imports and compares them, the files
are deleted. Input 64 x 64 unless a model needs more (INPUT_SIZE). Models in SKIP are not run
(the reason goes in the table).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OPSETS = (13, 17)
# Fixed-size models (ViT's position embeddings, MaxViT's and Swin's windows), and those whose
# adaptive pools export only when the feature map divides evenly (AlexNet, VGG: 7 x 7 at 224).
INPUT_SIZE = {"inception_v3": 128}
for n in torchvision.models.list_models(module=torchvision.models):
    if n.startswith(("vit_", "swin_", "maxvit", "alexnet", "vgg")):
        INPUT_SIZE[n] = 224
# Run last: the largest exports (minutes each on a small machine).
HEAVY = ("vit_", "swin_", "maxvit", "regnet_y_32", "regnet_y_16", "regnet_x_32", "regnet_x_16",
         "efficientnet_b5", "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_", "convnext_b",
         "convnext_l", "resnext101", "wide_resnet101", "vgg", "alexnet")
SKIP = {
    "vit_h_14": "over 2 GB: beyond protobuf's limit for one ONNX file",
    "regnet_y_128gf": "over 2 GB: beyond protobuf's limit for one ONNX file",
}


def cell(status, diff, scale, ours64, torch64, msg):
    if status == "pass":
        return "pass (%.1e)" % float(diff)
    if status == "f32-noise":
        return ("float32 noise (diff %.1e; from float64: convkit %.1e, PyTorch %.1e)"
                % (float(diff), float(ours64), float(torch64)))
    if status == "fail":
        return "**fail** (diff %.1e, output scale %.1e)" % (float(diff), float(scale))
    msg = re.sub(r"onnx: \S+: ", "", msg).replace("|", "/")
    return "**%s**: %s" % (status, msg[:140])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--work", default="/tmp/convkit_tv_sweep")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "onnx.md"))
    args = ap.parse_args()
    names = args.only or sorted(torchvision.models.list_models(module=torchvision.models),
                                key=lambda n: (n.startswith(HEAVY), n))
    tests = os.path.join(args.build, "tests", "convkit_tests")
    rows = []
    for name in names:
        if name in SKIP:
            rows.append((name, "-", "skipped: " + SKIP[name], "-", ""))
            write_table(args.doc, rows, names[names.index(name) + 1:])
            continue
        size = INPUT_SIZE.get(name, 64)
        shutil.rmtree(args.work, ignore_errors=True)
        os.makedirs(args.work)
        cases = ["%s@%d@%d" % (name, o, size) for o in OPSETS]
        t0 = time.time()
        gen = subprocess.run([sys.executable, os.path.join(HERE, "gen_tv_eval.py"), "--out",
                              args.work, "--keep-going"] + cases, capture_output=True, text=True)
        export = {}
        for line in gen.stdout.splitlines():
            parts = line.split(" ", 2)
            if len(parts) >= 2 and parts[0] in cases:
                export[parts[0]] = parts[1:]
        env = dict(os.environ, CONVKIT_ONNX_SWEEP_DIR=args.work, OMP_WAIT_POLICY="passive")
        subprocess.run([tests, "--gtest_filter=OnnxTorchvisionSweep.*"], env=env,
                       capture_output=True)
        results = {}
        path = os.path.join(args.work, "results.tsv")
        if os.path.exists(path):
            for line in open(path):
                f = line.rstrip("\n").split("\t")
                results[f[0]] = f[1:]
        cells = []
        for c in cases:
            if c in results:
                status, diff, scale, ours64, torch64, _, msg = results[c]
                cells.append(cell(status, diff, scale, ours64, torch64, msg))
            elif c in export and export[c][0] == "export-failed":
                cells.append("export failed in PyTorch: " + export[c][1][:100].replace("|", "/"))
            else:
                cells.append("**no result** (%s)" % (gen.stderr.strip().splitlines() or ["?"])[-1][:100])
        rows.append((name, str(size), cells[0], cells[1], "%.0f" % (time.time() - t0)))
        print(name, *cells, flush=True)
        write_table(args.doc, rows, names[names.index(name) + 1:])
    shutil.rmtree(args.work, ignore_errors=True)


def write_table(path, rows, pending):
    """The table so far; models not reached yet are listed as such (the sweep writes after each
    model, so a sweep stopped early still leaves an honest table)."""
    passed = sum(r[i].startswith("pass") for r in rows for i in (2, 3))
    noise = sum(r[i].startswith("float32 noise") for r in rows for i in (2, 3))
    table = ["<!-- tv-sweep: written by tests/onnx/tv_sweep.py; do not edit by hand -->",
             "torchvision %s, torch %s; command: `/usr/bin/python3 tests/onnx/tv_sweep.py "
             "--build build`; of %d model-opset pairs run, %d pass (max abs diff <= 1e-4) and %d "
             "differ by float32 noise only (convkit's float32 output is at most twice as far from "
             "PyTorch's float64 output as PyTorch's own float32 output is)." % (
                 torchvision.__version__, __import__("torch").__version__, 2 * len(rows), passed,
                 noise),
             "",
             "| model | input | opset 13 | opset 17 | seconds |",
             "|---|---|---|---|---|"]
    table += ["| %s | %s | %s | %s | %s |" % r for r in rows]
    if pending:
        table += ["", "Not run in this sweep (stopped for time): " + ", ".join(pending) + "."]
    table.append("<!-- /tv-sweep -->")
    doc = open(path).read()
    block = "\n".join(table)
    if "<!-- tv-sweep" in doc:
        doc = re.sub(r"<!-- tv-sweep.*?<!-- /tv-sweep -->", lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    open(path, "w").write(doc)


if __name__ == "__main__":
    main()
