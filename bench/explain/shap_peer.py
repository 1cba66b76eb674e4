#!/usr/bin/python3
"""XGBoost's side of bench/explain (Debian's python3-xgboost, run with /usr/bin/python3).

    shap_peer.py contribs MODEL X.f32 ROWS COLS REPEATS OUT.f32
        time Booster.predict(DMatrix, pred_contribs=True) on the float32 matrix in X.f32 with
        nthread 1 and 2 (best of REPEATS; the DMatrix is built outside the timing), print
        {"nthread1": seconds, "nthread2": seconds, "xgboost_version": ...}, and write the
        contributions ([rows, cols + 1]) to OUT.f32 so the benchmark can check modelport agrees.
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb


def contribs(model, data, rows, cols, repeats, out):
    x = np.fromfile(data, dtype=np.float32).reshape(int(rows), int(cols))
    booster = xgb.Booster(model_file=model)
    dm = xgb.DMatrix(x, missing=np.nan)
    result = {}
    values = None
    for nthread in (1, 2):
        booster.set_param({'nthread': nthread})
        best = float('inf')
        for _ in range(int(repeats)):
            start = time.perf_counter()
            values = booster.predict(dm, pred_contribs=True)
            best = min(best, time.perf_counter() - start)
        result['nthread%d' % nthread] = best
    np.asarray(values, dtype=np.float32).tofile(out)
    result['xgboost_version'] = xgb.__version__
    print(json.dumps(result))


if __name__ == '__main__':
    contribs(*sys.argv[2:])
