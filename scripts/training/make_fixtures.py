"""Reference numbers for test/training: XGBoost 1.7 hist and scikit-learn on the same splits.

Run with /usr/bin/python3 (xgboost 1.7, scikit-learn 1.2) from the repository root:
    /usr/bin/python3 scripts/training/make_fixtures.py
Writes test/fixtures/training/{breast_cancer_train,breast_cancer_test}.csv, reference.json and
xgboost-trees.json (a digest of each tree's shape and thresholds, to compare modelport's trees with).
The loans split is the quickstart's: first 16,000 rows train, last 4,000 validate.
"""
import hashlib
import json
import struct
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

OUT = 'test/fixtures/training'
ref = {'xgboost_version': xgb.__version__}
trees = {'xgboost_version': xgb.__version__, 'digests': {}}


def tree_digests(booster):
    """Per tree: the first 16 hex digits of the sha256 of its nodes' children, features, default
    directions and (for splits) float32 threshold bits; leaf values are left out (they may differ
    in the last bit with the order of a sum)."""
    out = []
    for t in json.loads(booster.save_raw('json'))['learner']['gradient_booster']['model']['trees']:
        nodes = []
        for i, left in enumerate(t['left_children']):
            cond = 'leaf' if left == -1 else struct.pack('>f', t['split_conditions'][i]).hex()
            nodes.append(f"{left}|{t['right_children'][i]}|{t['split_indices'][i]}|{cond}|{int(t['default_left'][i])}")
        out.append(hashlib.sha256(';'.join(nodes).encode()).hexdigest()[:16])
    return out

bc = load_breast_cancer(as_frame=True)
df = bc.frame.rename(columns=lambda c: c.replace(' ', '_'))
train, test = train_test_split(df, test_size=0.3, random_state=7, stratify=df['target'])
train.to_csv(f'{OUT}/breast_cancer_train.csv', index=False, float_format='%.6g')
test.to_csv(f'{OUT}/breast_cancer_test.csv', index=False, float_format='%.6g')
train = pd.read_csv(f'{OUT}/breast_cancer_train.csv')
test = pd.read_csv(f'{OUT}/breast_cancer_test.csv')


def split_xy(frame, target):
    return frame.drop(columns=[target]).astype(np.float32), frame[target].to_numpy()


def loans():
    d = pd.read_csv('assets/demo/loans/loans.csv')
    x = d[['amount', 'term_months', 'interest_rate', 'income', 'debt_to_income', 'credit_score', 'employment_years']].copy()
    for col in ['home_ownership', 'purpose']:
        for level in sorted(d[col].dropna().unique()):
            x[f'{col}={level}'] = (d[col] == level).astype(np.float32)
    x = x.astype(np.float32)
    y = d['defaulted'].to_numpy()
    return x.iloc[:16000], y[:16000], x.iloc[16000:], y[16000:]


GBDT_SETTINGS = {
    'breast_cancer': {'max_depth': 4, 'eta': 0.1, 'n_estimators': 100, 'max_bin': 256},
    'loans': {'max_depth': 4, 'eta': 0.05, 'n_estimators': 300, 'max_bin': 256},
    'loans_lossguide': {'grow_policy': 'lossguide', 'max_leaves': 16, 'max_depth': 0, 'eta': 0.1, 'n_estimators': 100, 'max_bin': 64},
}

datasets = {
    'breast_cancer': (*split_xy(train, 'target'), *split_xy(test, 'target')),
    'loans': loans(),
}
datasets['loans_lossguide'] = datasets['loans']
ref['gbdt'] = {}
for name, settings in GBDT_SETTINGS.items():
    xtr, ytr, xte, yte = datasets[name]
    params = {k: v for k, v in settings.items() if k != 'n_estimators'}
    params.update({'objective': 'binary:logistic', 'tree_method': 'hist', 'nthread': 2, 'seed': 0})
    booster = xgb.train(params, xgb.DMatrix(xtr, ytr), settings['n_estimators'])
    trees['digests'][name] = tree_digests(booster)
    p = booster.predict(xgb.DMatrix(xte))
    ref['gbdt'][name] = {'params': settings, 'auc': roc_auc_score(yte, p), 'logloss': log_loss(yte, p)}

# The training benchmark's deeper trees: their small nodes have candidates that tie exactly.
deep = {'max_depth': 6, 'eta': 0.3, 'max_bin': 256, 'objective': 'binary:logistic', 'tree_method': 'hist', 'nthread': 2}
trees['digests']['loans_deep'] = tree_digests(xgb.train(deep, xgb.DMatrix(*datasets['loans'][:2]), 100))

# Multiclass and regression references on breast-cancer features: 3 classes from terciles of
# mean_area, and mean_area itself as a regression target.
xtr, _, xte, _ = datasets['breast_cancer']
edges = np.quantile(train['mean_area'], [1 / 3, 2 / 3])
ytr3, yte3 = np.digitize(train['mean_area'], edges), np.digitize(test['mean_area'], edges)
feat_tr, feat_te = xtr.drop(columns=['mean_area', 'mean_radius', 'mean_perimeter', 'worst_area', 'worst_radius', 'worst_perimeter', 'area_error', 'radius_error', 'perimeter_error']), xte.drop(columns=['mean_area', 'mean_radius', 'mean_perimeter', 'worst_area', 'worst_radius', 'worst_perimeter', 'area_error', 'radius_error', 'perimeter_error'])
b = xgb.train({'objective': 'multi:softprob', 'num_class': 3, 'tree_method': 'hist', 'max_depth': 3, 'eta': 0.1, 'nthread': 2}, xgb.DMatrix(feat_tr, ytr3), 60)
trees['digests']['breast_cancer_multiclass'] = tree_digests(b)
pm = b.predict(xgb.DMatrix(feat_te))
ref['gbdt']['breast_cancer_multiclass'] = {'dropped': list(set(xtr.columns) - set(feat_tr.columns)), 'params': {'max_depth': 3, 'eta': 0.1, 'n_estimators': 60}, 'mlogloss': log_loss(yte3, pm), 'accuracy': float((pm.argmax(1) == yte3).mean())}
b = xgb.train({'objective': 'reg:squarederror', 'tree_method': 'hist', 'max_depth': 4, 'eta': 0.1, 'nthread': 2}, xgb.DMatrix(feat_tr, train['mean_area']), 100)
trees['digests']['breast_cancer_regression'] = tree_digests(b)
pr = b.predict(xgb.DMatrix(feat_te))
ref['gbdt']['breast_cancer_regression'] = {'params': {'max_depth': 4, 'eta': 0.1, 'n_estimators': 100}, 'rmse': float(np.sqrt(np.mean((pr - test['mean_area']) ** 2)))}

# Logistic regression: standardised features (mean and population std of the training rows),
# L2 with sklearn's C = 1 / lambda.
ref['linear'] = {}
for name in ['breast_cancer', 'loans']:
    xtr, ytr, xte, yte = datasets[name]
    scaler = StandardScaler().fit(xtr.astype(np.float64))
    for c in [1.0, 0.1]:
        m = LogisticRegression(C=c, max_iter=10000, tol=1e-10).fit(scaler.transform(xtr.astype(np.float64)), ytr)
        p = m.predict_proba(scaler.transform(xte.astype(np.float64)))[:, 1]
        ref['linear'][f'{name}_l2_C{c}'] = {'C': c, 'auc': roc_auc_score(yte, p), 'logloss': log_loss(yte, p), 'intercept': float(m.intercept_[0])}
    m = LogisticRegression(C=0.1, penalty='elasticnet', l1_ratio=0.5, solver='saga', max_iter=20000, tol=1e-8).fit(scaler.transform(xtr.astype(np.float64)), ytr)
    p = m.predict_proba(scaler.transform(xte.astype(np.float64)))[:, 1]
    ref['linear'][f'{name}_elasticnet_C0.1'] = {'C': 0.1, 'l1_ratio': 0.5, 'auc': roc_auc_score(yte, p), 'logloss': log_loss(yte, p), 'zero_coefficients': int((m.coef_ == 0).sum())}
xtr, _, xte, _ = datasets['breast_cancer']
scaler = StandardScaler().fit(feat_tr.astype(np.float64))
m = LogisticRegression(C=1.0, max_iter=10000, tol=1e-10).fit(scaler.transform(feat_tr.astype(np.float64)), ytr3)
pm = m.predict_proba(scaler.transform(feat_te.astype(np.float64)))
ref['linear']['breast_cancer_multiclass_C1.0'] = {'C': 1.0, 'mlogloss': log_loss(yte3, pm), 'accuracy': float((pm.argmax(1) == yte3).mean())}

json.dump(ref, open(f'{OUT}/reference.json', 'w'), indent=1)
json.dump(trees, open(f'{OUT}/xgboost-trees.json', 'w'))
print(json.dumps(ref, indent=1))
