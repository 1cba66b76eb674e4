#!/usr/bin/python3
"""XGBoost's side of bench/runtimes (Debian's python3-xgboost, run with /usr/bin/python3).

    xgb_peer.py train OUT.json                         train the synthetic 500-tree depth-8 model
    xgb_peer.py predict MODEL X.f32 ROWS COLS REPEATS OUT.f32
        time Booster.inplace_predict(output_margin=True) on the float32 matrix in X.f32 with
        nthread 1 and 2 (best of REPEATS), print {"nthread1": seconds, "nthread2": seconds},
        and write the margins to OUT.f32 so the benchmark can check modelport agrees.
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb


def train(out):
    rng = np.random.default_rng(11)
    n, f = 50000, 30
    x = rng.normal(size=(n, f)).astype(np.float32)
    x[rng.random(size=x.shape) < 0.05] = np.nan
    z = np.nan_to_num(x, nan=0.0)
    logit = np.sin(z[:, 0] * 2) + z[:, 1] * z[:, 2] - np.abs(z[:, 3]) + 0.5 * z[:, 4:10].sum(axis=1) * z[:, 10]
    logit += np.where(np.isnan(x[:, 11]), 1.0, -0.3 * z[:, 11])
    y = (logit + rng.normal(scale=0.7, size=n) > 0).astype(np.float32)
    params = {'objective': 'binary:logistic', 'max_depth': 8, 'eta': 0.05, 'tree_method': 'hist',
              'min_child_weight': 0.1, 'seed': 0, 'nthread': 2}
    booster = xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=500)
    booster.save_model(out)


def predict(model, data, rows, cols, repeats, out):
    x = np.fromfile(data, dtype=np.float32).reshape(int(rows), int(cols))
    booster = xgb.Booster(model_file=model)
    result = {}
    margins = None
    for nthread in (1, 2):
        booster.set_param({'nthread': nthread})
        booster.inplace_predict(x[:1000], predict_type='margin')
        best = float('inf')
        for _ in range(int(repeats)):
            start = time.perf_counter()
            margins = booster.inplace_predict(x, predict_type='margin', missing=np.nan)
            best = min(best, time.perf_counter() - start)
        result['nthread%d' % nthread] = best
    np.asarray(margins, dtype=np.float32).tofile(out)
    result['xgboost_version'] = xgb.__version__
    print(json.dumps(result))


if __name__ == '__main__':
    if sys.argv[1] == 'train':
        train(sys.argv[2])
    else:
        predict(*sys.argv[2:])
