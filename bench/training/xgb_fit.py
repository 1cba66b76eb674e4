"""XGBoost 1.7 hist, nthread 2, on the matrices run.ts wrote: fit time (wall and CPU), peak RSS, held-out AUC as JSON."""
import json, re, sys, time
import numpy as np
import xgboost as xgb
from sklearn.metrics import roc_auc_score


def peak_kib():
    # VmHWM belongs to this process image; ru_maxrss keeps the forking parent's high-water mark across exec.
    return int(re.search(r'VmHWM:\s+(\d+)', open('/proc/self/status').read()).group(1))


d, params = sys.argv[1], json.loads(sys.argv[2])
meta = json.load(open(f'{d}/meta.json'))
f = meta['features']
x = np.fromfile(f'{d}/train_x.f32', dtype=np.float32).reshape(-1, f)
y = np.fromfile(f'{d}/train_y.f32', dtype=np.float32)
tx = np.fromfile(f'{d}/test_x.f32', dtype=np.float32).reshape(-1, f)
ty = np.fromfile(f'{d}/test_y.f32', dtype=np.float32)
rounds = params.pop('n_estimators')
params.update({'objective': 'binary:logistic', 'tree_method': 'hist', 'nthread': 2})
t0 = time.perf_counter()
c0 = time.process_time()
# Quantile binning happens inside DMatrix/the first round in XGBoost: both are timed, as modelport's fit bins too.
booster = xgb.train(params, xgb.DMatrix(x, y), rounds)
seconds = time.perf_counter() - t0
cpu_seconds = time.process_time() - c0
auc = roc_auc_score(ty, booster.predict(xgb.DMatrix(tx)))
print(json.dumps({'seconds': seconds, 'cpuSeconds': cpu_seconds, 'peakMiB': peak_kib() / 1024, 'auc': auc}))
