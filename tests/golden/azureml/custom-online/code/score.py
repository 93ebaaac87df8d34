import json
import os

import mlflow.pyfunc

model = None


def init():
    global model
    model = mlflow.pyfunc.load_model(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model"))


def run(raw_data):
    data = json.loads(raw_data)["input_data"]
    return model.predict(data).tolist()
