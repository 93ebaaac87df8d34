import json


def init():
    pass


def run(data):
    return {"echo": json.loads(data)}
