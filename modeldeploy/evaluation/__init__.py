"""The Responsible AI evaluation gate (deploy.yaml ``evaluation:``).

Pieces, each usable alone:

- ``thresholds``  MLflow ``MetricThreshold`` semantics (pure Python; no numpy)
- ``data``        reading the held-out rows (CSV / Parquet) with pandas
- ``scoring``     running the model *outside* this process: an explicit interpreter with mlflow, or the
                  deployment's image on a Docker engine (``IMAGE predict IN OUT``)
- ``analysis``    metrics, the error tree, the heatmap, fairness by group, permutation importance
- ``gate``        findings, waivers and the verdict; ``report`` writes evaluation.json / evaluation.html
- ``run``         the whole thing for one loaded deploy.yaml

numpy, pandas and scikit-learn come with the ``eval`` extra and are imported inside the functions that
need them, so importing this package (or the CLI) stays cheap.
"""
