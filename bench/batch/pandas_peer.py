#!/usr/bin/python3
"""The peer of bench/batch: pandas reads the CSV in chunks, XGBoost scores each with inplace_predict.

    pandas_peer.py MODEL.json INPUT.csv OUTPUT.csv CHUNK_ROWS
        prints {"seconds": wall time, "max_rss_kib": peak resident set}
"""
import json
import sys
import time

import pandas as pd
import xgboost as xgb


def peak_rss_kib():
    # VmHWM belongs to this process image; ru_maxrss keeps the high-water mark of the process
    # that forked us across exec, so it reports the parent's size when that was larger.
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise RuntimeError('no VmHWM in /proc/self/status')


def main(model, data, out, chunk):
    started = time.perf_counter()
    booster = xgb.Booster(model_file=model)
    booster.set_param({'nthread': 2})
    features = booster.feature_names
    first = True
    with open(out, 'w') as f:
        for frame in pd.read_csv(data, chunksize=int(chunk)):
            x = frame[features].to_numpy(dtype='float32')
            frame_out = pd.DataFrame({'id': frame['id'], 'prediction': booster.inplace_predict(x)})
            frame_out.to_csv(f, header=first, index=False)
            first = False
    print(json.dumps({'seconds': time.perf_counter() - started, 'max_rss_kib': peak_rss_kib()}))


if __name__ == '__main__':
    main(*sys.argv[1:])
