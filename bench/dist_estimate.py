#!/usr/bin/env python3
"""Model-based estimate of data-parallel scaling (docs/distributed.md).

Per step, each rank computes for `step_s` seconds (measured: one rank's time per step) and then
all-reduces `grad_mb` megabytes of gradients. A ring all-reduce over N ranks moves
2 (N - 1) / N of the bytes through every link and pays 2 (N - 1) message latencies; a fraction
`overlap` of it hides behind backward (measured on this machine with and without overlap). The
efficiency is compute / (compute + exposed communication); the speed-up is N times that.

  bench/dist_estimate.py STEP_SECONDS GRAD_MB [--overlap F] [--ranks 2,8,32,128]
"""
import argparse

NETWORKS = [  # name, bytes/s one way per link, latency per message (s)
    ("10 GbE (TCP)", 1.1e9, 30e-6),
    ("100 Gb/s InfiniBand", 11e9, 2e-6),
]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("step_s", type=float, help="compute time per step of one rank, seconds")
    ap.add_argument("grad_mb", type=float, help="gradient megabytes per step")
    ap.add_argument("--overlap", type=float, default=0.0,
                    help="fraction of the all-reduce hidden behind backward (0..1)")
    ap.add_argument("--ranks", default="2,8,32,128")
    args = ap.parse_args()
    ranks = [int(r) for r in args.ranks.split(",")]
    print("| network | " + " | ".join(f"{n} ranks" for n in ranks) + " |")
    print("|---|" + "---|" * len(ranks))
    for name, bw, lat in NETWORKS:
        cells = []
        for n in ranks:
            comm = 2 * (n - 1) / n * args.grad_mb * 1e6 / bw + 2 * (n - 1) * lat
            exposed = comm * (1 - args.overlap)
            eff = args.step_s / (args.step_s + exposed)
            cells.append(f"{n * eff:.1f}x ({eff:.0%}, all-reduce {comm * 1e3:.1f} ms)")
        print(f"| {name} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
