"""A tiny custom scoring module: a linear model whose weights are a JSON file in the model folder.

The contract (the same as an Azure ML scoring script): init() runs once when the server starts;
run(data) gets each request body as text and returns something JSON can hold.
"""

import json
import os

MODEL = {}


def init():
    path = os.path.join(os.environ.get("MODELDEPLOY_MODEL_PATH", os.environ.get("AZUREML_MODEL_DIR", ".")), "weights.json")
    with open(path) as f:
        MODEL.update(json.load(f))


def run(data):
    rows = json.loads(data)["inputs"]
    weights = MODEL["weights"]
    return {"predictions": [MODEL["bias"] + sum(w * float(row[name]) for name, w in sorted(weights.items())) for row in rows]}
