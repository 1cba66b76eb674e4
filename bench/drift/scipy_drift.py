"""SciPy side of bench/drift/run.ts: the same four statistics per column on the same data.
argv: directory with ref_<i>.f64 / cur_<i>.f64 (raw little-endian float64), column count, repeats.
Prints one JSON object: per-column results and the median wall time of the computation."""
import json
import sys
import time

import numpy as np
import scipy
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance


def column_stats(ref, cur):
    ks = ks_2samp(ref, cur)
    w = wasserstein_distance(ref, cur)
    w_normed = w / max(np.std(ref), 0.001)
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    rp = np.histogram(ref, edges)[0] / len(ref)
    cp = np.histogram(cur, edges)[0] / len(cur)
    rp[rp == 0] = 0.0001
    cp[cp == 0] = 0.0001
    psi = float(np.sum((cp - rp) * np.log(cp / rp)))
    js = float(jensenshannon(rp, cp))
    return {"ks": float(ks.statistic), "p": float(ks.pvalue), "w": float(w), "wn": float(w_normed), "psi": psi, "js": js}


def main():
    folder, columns, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    data = [(np.fromfile(f"{folder}/ref_{i}.f64", dtype="<f8"), np.fromfile(f"{folder}/cur_{i}.f64", dtype="<f8")) for i in range(columns)]
    times = []
    results = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        results = [column_stats(r, c) for r, c in data]
        times.append(time.perf_counter() - t0)
    print(json.dumps({"scipy": scipy.__version__, "numpy": np.__version__, "seconds": sorted(times)[len(times) // 2], "results": results}))


main()
