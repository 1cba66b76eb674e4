#!/usr/bin/python3
"""The peer of bench/serving: scikit-learn's Pipeline(StandardScaler, LogisticRegression) trained
on the breast-cancer data at start-up, saved and loaded with joblib, behind a Flask app that
answers the same Open Inference Protocol V2 request modelport answers.

    flask_peer.py flask PORT              Flask's own (threaded) server
    gunicorn -w 2 -b 127.0.0.1:PORT 'flask_peer:app'
"""
import os
import sys
import tempfile

import joblib
import numpy as np
from flask import Flask, jsonify, request
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def trained_model():
    path = os.path.join(tempfile.gettempdir(), 'modelport-bench-serving', 'sklearn_logreg.joblib')
    if not os.path.exists(path):
        x, y = load_breast_cancer(return_X_y=True)
        x_train, _, y_train, _ = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
        model = Pipeline([('scaler', StandardScaler()), ('clf', LogisticRegression(max_iter=1000))]).fit(x_train, y_train)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        joblib.dump(model, path)
    return joblib.load(path)


model = trained_model()
app = Flask(__name__)


@app.post('/v2/models/cancer/infer')
def infer():
    body = request.get_json()
    tensor = body['inputs'][0]
    x = np.asarray(tensor['data'], dtype=np.float32).reshape(tensor['shape'])
    probabilities = model.predict_proba(x)
    labels = probabilities.argmax(axis=1)
    return jsonify({
        'model_name': 'cancer',
        'model_version': '1',
        'outputs': [
            {'name': 'label', 'datatype': 'INT64', 'shape': [len(labels)], 'data': labels.tolist()},
            {'name': 'probabilities', 'datatype': 'FP32', 'shape': list(probabilities.shape), 'data': probabilities.ravel().tolist()},
        ],
    })


if __name__ == '__main__':
    import logging
    logging.getLogger('werkzeug').setLevel(logging.ERROR)
    print('listening', flush=True)
    app.run(host='127.0.0.1', port=int(sys.argv[2]), threaded=True)
