#!/usr/bin/python3
"""The peer of bench/features: Feast's point-in-time join with pandas merge_asof, on data
already in memory (reading the CSV files is not timed). Prints one JSON line."""
import json
import sys
import time

import pandas as pd

entities_csv, features_csv, ttl_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
ents = pd.read_csv(entities_csv)
feats = pd.read_csv(features_csv)
ents['event_timestamp'] = pd.to_datetime(ents['event_timestamp'], unit='s', utc=True)
feats['event_timestamp'] = pd.to_datetime(feats['event_timestamp'], unit='s', utc=True)
feats['created_timestamp'] = pd.to_datetime(feats['created_timestamp'], unit='s', utc=True)
names = [c for c in feats.columns if c.startswith('f')]

t0 = time.perf_counter()
f = feats.sort_values(['event_timestamp', 'created_timestamp']).drop_duplicates(subset=['customer_id', 'event_timestamp'], keep='last')
f = f[['customer_id', 'event_timestamp'] + names].rename(columns={'event_timestamp': '_fts'})
e = ents.reset_index().rename(columns={'index': '_row'}).sort_values('event_timestamp')
m = pd.merge_asof(e, f, left_on='event_timestamp', right_on='_fts', by='customer_id', direction='backward')
stale = m['_fts'].isna() | (m['_fts'] < m['event_timestamp'] - pd.Timedelta(seconds=ttl_seconds))
m.loc[stale, names] = float('nan')
m = m.sort_values('_row')
seconds = time.perf_counter() - t0
print(json.dumps({'seconds': seconds, 'rows': len(m), 'found': int(m[names[0]].notna().sum()), 'sum': float(m[names[0]].sum())}))
