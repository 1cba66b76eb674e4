"""XGBoost 1.7 loads each modelport-written model in test/fixtures/training/xgboost and records
its margins (output_margin=True) on input.csv, into margins.json. See write-models.ts."""
import glob, json, os
import numpy as np
import pandas as pd
import xgboost as xgb

DIR = 'test/fixtures/training/xgboost'
x = pd.read_csv(f'{DIR}/input.csv').astype(np.float32)
out = {'xgboost_version': xgb.__version__, 'margins': {}}
for path in sorted(glob.glob(f'{DIR}/*.json')):
    name = os.path.basename(path)[:-5]
    if name == 'margins':
        continue
    b = xgb.Booster()
    b.load_model(path)
    m = b.predict(xgb.DMatrix(x, missing=np.nan), output_margin=True)
    out['margins'][name] = [float(v) for v in np.asarray(m, dtype=np.float64).ravel()]
json.dump(out, open(f'{DIR}/margins.json', 'w'))
print({k: len(v) for k, v in out['margins'].items()})
