#!/usr/bin/python3
"""Trains the quickstart's candidate models on the loans demo data (run by hand, not by tests).

Until modelport has its own trainer, the experiment the quickstart logs is made of XGBoost
boosters trained here with Debian's packages (python3-xgboost, python3-sklearn, python3-pandas,
python3-yaml). Every number written is one that training or scoring produced; see README.md.

    /usr/bin/python3 scripts/quickstart/train_candidates.py [--data DIR] [--out DIR]

--data holds loans.csv and loans_shifted.csv (default assets/demo/loans); --out receives one
folder per candidate plus index.json and expected_predictions.json (default
assets/demo/loans/candidates).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import uuid
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import xgboost as xgb
import yaml
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
NUMERIC = ['amount', 'term_months', 'interest_rate', 'income', 'debt_to_income', 'credit_score', 'employment_years']
# Level order is the one the loans README lists; it fixes the one-hot column order for good.
CATEGORICAL = {
    'home_ownership': ['RENT', 'OWN', 'MORTGAGE'],
    'purpose': ['debt_consolidation', 'credit_card', 'home_improvement', 'major_purchase', 'small_business'],
}
TARGET = 'defaulted'
FEATURES = NUMERIC + [f'{col}={level}' for col, levels in CATEGORICAL.items() for level in levels]
TRAIN_SHARE = 0.8
SEED = 42
EARLY_STOPPING_ROUNDS = 20
THRESHOLD = 0.5
EXAMPLE_ROWS = 5
EXPECTED_ROWS = 50

# Hyperparameters that differ between candidates; BASE_PARAMS holds what they share.
BASE_PARAMS = {
    'objective': 'binary:logistic',
    'tree_method': 'hist',
    # Early stopping watches the last metric listed: validation logloss.
    'eval_metric': ['auc', 'logloss'],
    'seed': SEED,
    'nthread': 1,
}
CANDIDATES = [
    ('xgb-d3-eta0.10', {'max_depth': 3, 'eta': 0.10, 'min_child_weight': 1}, 300),
    ('xgb-d4-eta0.05', {'max_depth': 4, 'eta': 0.05, 'min_child_weight': 5, 'subsample': 0.8, 'colsample_bytree': 0.8}, 300),
    ('xgb-d6-eta0.30', {'max_depth': 6, 'eta': 0.30, 'min_child_weight': 1}, 100),
    ('xgb-d4-eta0.10-l2', {'max_depth': 4, 'eta': 0.10, 'min_child_weight': 10, 'lambda': 5.0, 'subsample': 0.8}, 200),
]


def encode(frame):
    """The model's float32 feature columns for loans rows (see ENCODING)."""
    out = pd.DataFrame({name: frame[name].astype(np.float32) for name in NUMERIC})
    for col, levels in CATEGORICAL.items():
        values = frame[col]
        missing = values.isna()
        for level in levels:
            onehot = (values == level).astype(np.float32)
            onehot[missing] = np.nan
            out[f'{col}={level}'] = onehot
    return out[FEATURES]


ENCODING = {
    'target': TARGET,
    'dtype': 'float32',
    'numeric': [{'feature': name, 'column': name} for name in NUMERIC],
    'one_hot': [
        {'column': col, 'levels': [{'level': level, 'feature': f'{col}={level}'} for level in levels]}
        for col, levels in CATEGORICAL.items()
    ],
    'rules': [
        'numeric features are the loans column cast to float32; an empty cell is NaN (XGBoost missing)',
        'each one-hot feature is 1 when the column equals its level exactly and 0 otherwise',
        'a level not listed gives 0 in every one-hot feature of its column',
        'an empty categorical cell gives NaN in every one-hot feature of its column',
    ],
}


def dmatrix(features, labels=None):
    return xgb.DMatrix(features.to_numpy(np.float32), label=labels, feature_names=FEATURES,
                       feature_types=['float'] * len(FEATURES), nthread=1)


def classification_metrics(prefix, labels, probs):
    predicted = (probs >= THRESHOLD).astype(int)
    return {
        f'{prefix}_auc': float(roc_auc_score(labels, probs)),
        f'{prefix}_logloss': float(log_loss(labels, probs.astype(np.float64))),
        f'{prefix}_accuracy': float(accuracy_score(labels, predicted)),
        f'{prefix}_precision': float(precision_score(labels, predicted, zero_division=0)),
        f'{prefix}_recall': float(recall_score(labels, predicted, zero_division=0)),
        f'{prefix}_f1': float(f1_score(labels, predicted, zero_division=0)),
    }


def mlflow_signature():
    inputs = [{'type': 'float', 'name': name, 'required': True} for name in FEATURES]
    outputs = [{'type': 'tensor', 'tensor-spec': {'dtype': 'float32', 'shape': [-1]}}]
    return {'inputs': json.dumps(inputs), 'outputs': json.dumps(outputs), 'params': None}


def write_json(path, value):
    with open(path, 'w') as f:
        json.dump(value, f, indent=1)
        f.write('\n')


def dataframe_split(features):
    rows = [[None if np.isnan(v) else float(v) for v in row] for row in features.to_numpy(np.float32)]
    return {'dataframe_split': {'columns': FEATURES, 'data': rows}}


def train_candidate(name, overrides, rounds, train, val, shifted, out_dir):
    params = {**BASE_PARAMS, **overrides}
    evals_result = {}
    full = xgb.train(params, train['dm'], num_boost_round=rounds, evals=[(train['dm'], 'train'), (val['dm'], 'validation')],
                     early_stopping_rounds=EARLY_STOPPING_ROUNDS, evals_result=evals_result, verbose_eval=False)
    best = full.best_iteration
    # Keep only the rounds up to the best one, so every runtime (XGBoost's Booster.predict uses
    # all trees, its sklearn API stops at best_iteration) predicts the same from this file.
    booster = full[: best + 1]
    folder = os.path.join(out_dir, name)
    os.makedirs(folder)
    model_file = os.path.join(folder, 'model.json')
    booster.save_model(model_file)

    metrics = {}
    for prefix, part in (('train', train), ('val', val), ('shifted', shifted)):
        metrics.update(classification_metrics(prefix, part['y'], booster.predict(part['dm'])))
    metrics.update({
        'best_iteration': best,
        'rounds_trained': full.num_boosted_rounds(),
        'trees': booster.num_boosted_rounds(),
        'train_rows': len(train['y']),
        'val_rows': len(val['y']),
        'shifted_rows': len(shifted['y']),
    })
    with open(model_file, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    mlmodel = {
        'artifact_path': 'model',
        'flavors': {
            'python_function': {'data': 'model.json', 'loader_module': 'mlflow.xgboost',
                                'python_version': '.'.join(map(str, sys.version_info[:3]))},
            'xgboost': {'code': None, 'data': 'model.json', 'model_class': 'xgboost.core.Booster',
                        'model_format': 'json', 'xgb_version': xgb.__version__},
        },
        # Derived from the model bytes so that re-training identically keeps the same id.
        'model_uuid': uuid.uuid5(uuid.NAMESPACE_URL, f'sha256:{digest}').hex,
        'saved_input_example_info': {'artifact_path': 'input_example.json', 'type': 'dataframe', 'pandas_orient': 'split'},
        'signature': mlflow_signature(),
        'utc_time_created': datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f'),
    }
    with open(os.path.join(folder, 'MLmodel'), 'w') as f:
        yaml.safe_dump(mlmodel, f, sort_keys=False, default_flow_style=False)
    write_json(os.path.join(folder, 'params.json'), {
        **params, 'num_boost_round': rounds, 'early_stopping_rounds': EARLY_STOPPING_ROUNDS})
    write_json(os.path.join(folder, 'metrics.json'), metrics)
    write_json(os.path.join(folder, 'curve.json'), {
        'rounds': full.num_boosted_rounds(),
        'best_iteration': best,
        'train': evals_result['train'],
        'validation': evals_result['validation'],
    })
    write_json(os.path.join(folder, 'input_example.json'), dataframe_split(val['x'].head(EXAMPLE_ROWS)))
    return booster, metrics, digest


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', default=os.path.join(ROOT, 'assets', 'demo', 'loans'))
    parser.add_argument('--out', default=os.path.join(ROOT, 'assets', 'demo', 'loans', 'candidates'))
    args = parser.parse_args()

    loans = pd.read_csv(os.path.join(args.data, 'loans.csv'))
    shifted_rows = pd.read_csv(os.path.join(args.data, 'loans_shifted.csv'))
    n_train = int(len(loans) * TRAIN_SHARE)

    def part(frame):
        x = encode(frame)
        y = frame[TARGET].to_numpy()
        return {'x': x, 'y': y, 'dm': dmatrix(x, y)}

    train, val, shifted = part(loans.iloc[:n_train]), part(loans.iloc[n_train:]), part(shifted_rows)

    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    results = []
    for name, overrides, rounds in CANDIDATES:
        booster, metrics, digest = train_candidate(name, overrides, rounds, train, val, shifted, args.out)
        results.append({'name': name, 'booster': booster, 'metrics': metrics, 'sha256': digest})
        print(f"{name}: val_auc {metrics['val_auc']:.4f} val_logloss {metrics['val_logloss']:.4f} "
              f"best_iteration {metrics['best_iteration']} shifted_auc {metrics['shifted_auc']:.4f}")

    best = max(results, key=lambda r: r['metrics']['val_auc'])
    write_json(os.path.join(args.out, 'index.json'), {
        'data': {
            'source': 'loans.csv',
            'split': f'by time: train = first {n_train} rows, validation = last {len(loans) - n_train} rows',
            'shifted': 'loans_shifted.csv (scored, not trained on)',
        },
        'selection': 'highest val_auc',
        'best': best['name'],
        'feature_names': FEATURES,
        'encoding': ENCODING,
        'candidates': [
            {'name': r['name'], 'path': f"{r['name']}/", 'model_sha256': r['sha256'], 'metrics': r['metrics']}
            for r in results
        ],
    })

    # The rows themselves travel with the predictions, so a test needs neither Python nor the
    # full CSV; copied line by line, they are exactly what a reader of loans_shifted.csv sees.
    with open(os.path.join(args.data, 'loans_shifted.csv')) as src, \
            open(os.path.join(args.out, 'expected_input.csv'), 'w') as dst:
        for _ in range(EXPECTED_ROWS + 1):
            dst.write(src.readline())
    head = shifted_rows.head(EXPECTED_ROWS)
    dm = dmatrix(encode(head))
    write_json(os.path.join(args.out, 'expected_predictions.json'), {
        'model': best['name'],
        'source': f'loans_shifted.csv, first {EXPECTED_ROWS} rows (copied to expected_input.csv)',
        'loan_ids': head['loan_id'].tolist(),
        'inputs': dataframe_split(encode(head)),
        'predictions': [float(v) for v in best['booster'].predict(dm)],
        'margins': [float(v) for v in best['booster'].predict(dm, output_margin=True)],
    })
    print(f"best: {best['name']}")


if __name__ == '__main__':
    main()
