"""Hand-built plans for the printer, plan-file and golden tests.

Every secret-looking value is planted with the marker ``PLANTED`` so a test can assert that no output
contains it.
"""

from __future__ import annotations

from modeldeploy.model.findings import Finding
from modeldeploy.planning.diff import diff_resources, live_fingerprints
from modeldeploy.planning.filediff import diff_files, file_fingerprints
from modeldeploy.planning.plan import Action, Change, Plan
from modeldeploy.planning.resources import LiveResource, Observed, Resource
from modeldeploy.rendering.artifact import Artifact

PLANTED = "PLANTED"
DIGEST_3 = "sha256:" + "3" * 64
DIGEST_4 = "sha256:" + "4a" * 32


def _container(image: str, token: str, instance: str) -> dict:
    return {
        "Image": image,
        "ModelDataUrl": f"s3://bucket/iris/{instance}/model.tar.gz",
        "Environment": {
            "MLFLOW_TRACKING_TOKEN": token,
            "MODEL_NAME": "iris",
            "TOKENIZERS_PARALLELISM": "false",
        },
    }


def live_resources() -> tuple[list[Resource], Observed]:
    """A SageMaker-like deployment moving iris from version 3 to 4, plus a Kubernetes-like object."""
    desired = [
        Resource(
            address="sagemaker_endpoint.iris",
            kind="sagemaker_endpoint",
            name="iris",
            body={"EndpointConfigName": "iris-4a4a4a", "Tags": [{"Key": "modeldeploy.io/name", "Value": "iris"}]},
            depends_on=("sagemaker_endpoint_config.iris-4a4a4a",),
        ),
        Resource(
            address="sagemaker_endpoint_config.iris-4a4a4a",
            kind="sagemaker_endpoint_config",
            name="iris-4a4a4a",
            body={
                "ProductionVariants": [
                    {
                        "VariantName": "primary",
                        "ModelName": "iris-4a4a4a",
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 2,
                    }
                ]
            },
            immutable=True,
            replace_reason="SageMaker endpoint configs are immutable",
            depends_on=("sagemaker_model.iris-4a4a4a",),
        ),
        Resource(
            address="sagemaker_model.iris-4a4a4a",
            kind="sagemaker_model",
            name="iris-4a4a4a",
            body={
                "PrimaryContainer": _container("123.dkr.ecr/iris:4", f"{PLANTED}-token-new", "4"),
                "ExecutionRoleArn": "arn:aws:iam::1:role/sm",
            },
            sensitive_paths=("PrimaryContainer.Environment.MLFLOW_TRACKING_TOKEN",),
        ),
        Resource(
            address="deployment.iris",
            kind="deployment",
            name="iris",
            body={
                "spec": {
                    "selector": {"matchLabels": {"app.kubernetes.io/name": "iris"}},
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "model",
                                    "image": "ghcr.io/acme/iris:4",
                                    "env": [
                                        {"name": "DB_PASSWORD", "value": f"{PLANTED}-pw-new"},
                                        {"name": "LOG_LEVEL", "value": "info"},
                                        {
                                            "name": "API_KEY",
                                            "valueFrom": {"secretKeyRef": {"name": "iris-api", "key": "key"}},
                                        },
                                    ],
                                }
                            ]
                        }
                    },
                }
            },
            replace_on=("spec.selector",),
        ),
        Resource(
            address="azureml_online_deployment.blue",
            kind="azureml_online_deployment",
            name="blue",
            body={"instance_type": "Standard_F4s_v2", "instance_count": 2, "model": "azureml:iris:4"},
            replace_on=("instance_type",),
            replace_reason="Azure ML cannot change a deployment's instance type in place",
        ),
        Resource(
            address="scaling_policy.iris",
            kind="scaling_policy",
            name="iris",
            body={"TargetValue": 70.0},
            depends_on=("sagemaker_endpoint.iris",),
        ),
    ]
    observed = Observed(
        resources={
            "azureml_online_deployment.blue": LiveResource(
                "azureml_online_deployment.blue",
                "azureml_online_deployment",
                "blue",
                {"instance_type": "Standard_DS3_v2", "instance_count": 2, "model": "azureml:iris:3"},
                "etag-blue-9",
            ),
            "scaling_policy.iris": LiveResource(
                "scaling_policy.iris", "scaling_policy", "iris", {"TargetValue": 70.0}, "etag-7"
            ),
            "sagemaker_endpoint.iris": LiveResource(
                "sagemaker_endpoint.iris",
                "sagemaker_endpoint",
                "iris",
                {"EndpointConfigName": "iris-333333", "Tags": [{"Key": "modeldeploy.io/name", "Value": "iris"}]},
                "2026-01-01T00:00:00Z",
            ),
            "sagemaker_endpoint_config.iris-333333": LiveResource(
                "sagemaker_endpoint_config.iris-333333",
                "sagemaker_endpoint_config",
                "iris-333333",
                {
                    "ProductionVariants": [
                        {
                            "VariantName": "primary",
                            "ModelName": "iris-333333",
                            "InstanceType": "ml.m5.large",
                            "InitialInstanceCount": 1,
                        }
                    ]
                },
            ),
            "sagemaker_model.iris-333333": LiveResource(
                "sagemaker_model.iris-333333",
                "sagemaker_model",
                "iris-333333",
                {
                    "PrimaryContainer": _container("123.dkr.ecr/iris:3", f"{PLANTED}-token-old", "3"),
                    "ExecutionRoleArn": "arn:aws:iam::1:role/sm",
                },
            ),
            "deployment.iris": LiveResource(
                "deployment.iris",
                "deployment",
                "iris",
                {
                    "spec": {
                        "selector": {"matchLabels": {"app.kubernetes.io/name": "iris"}},
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "model",
                                        "image": "ghcr.io/acme/iris:3",
                                        "env": [
                                            {"name": "DB_PASSWORD", "value": f"{PLANTED}-pw-old"},
                                            {"name": "LOG_LEVEL", "value": "info"},
                                            {
                                                "name": "API_KEY",
                                                "valueFrom": {"secretKeyRef": {"name": "iris-api", "key": "key"}},
                                            },
                                        ],
                                    }
                                ]
                            }
                        },
                    }
                },
                "resourceVersion:41",
            ),
        },
    )
    return desired, observed


def live_plan() -> Plan:
    desired, observed = live_resources()
    return Plan(
        name="iris",
        target="sagemaker",
        env="prod",
        against="live",
        changes=tuple(diff_resources(desired, observed)),
        policy=(
            Finding(
                "SIG201",
                "warning",
                "outputs",
                "tensor float64 [-1]",
                "tensor float64 [-1, 1]",
                "output shape gained a dimension",
            ),
            Finding(
                "SIG102",
                "breaking",
                "inputs.petal_width",
                "double",
                "long",
                "long values are rejected where double was accepted",
            ),
            Finding(
                "SIG110",
                "breaking",
                "inputs.sepal | length",
                "optional",
                "required",
                "a new required column",
                waived="clients always send it (JIRA-12)",
            ),
        ),
        policy_mode="backward",
        model={
            "uri": "models:/iris@champion",
            "pinned": "models:/iris/4",
            "digest": DIGEST_4,
            "alias": "champion",
            "previous": {"pinned": "models:/iris/3", "digest": DIGEST_3, "version": "3"},
        },
        fingerprints=live_fingerprints(observed),
        notes=("tracking server https://alice:" + PLANTED + "-urlpw@mlflow.example.com was used",),
        source="deploy/iris/deploy.yaml",
    )


def files_inputs() -> tuple[list[Artifact], dict[str, bytes]]:
    desired = [
        Artifact(
            "Dockerfile",
            "text/plain",
            b"FROM python:3.11-slim\nENV MODEL_DIR=/opt/ml/model\nCOPY model /opt/ml/model\nEXPOSE 8080\n",
        ),
        Artifact("model/MLmodel", "application/yaml", b"flavors: {}\n", source="model/MLmodel"),
        Artifact("model/model.pkl", "application/octet-stream", b"\x80\x04new-pickle", source="model/model.pkl"),
        Artifact("secrets.env", "text/plain", f"HF_TOKEN={PLANTED}-hf\n".encode(), sensitive=True),
        Artifact("compose.yaml", "application/yaml", b"services:\n  iris:\n    ports:\n    - 8080:8080\n"),
    ]
    current = {
        "Dockerfile": b"FROM python:3.10-slim\nENV MODEL_DIR=/opt/ml/model\nCOPY model /opt/ml/model\nEXPOSE 5000\n",
        "model/MLmodel": b"flavors: {}\n",
        "model/model.pkl": b"\x80\x04old-pickle",
        "README.txt": b"old readme\n",
        "compose.yaml": b"services:\n  iris:\n    ports:\n    - 8080:8080\n",
    }
    return desired, current


def files_plan() -> Plan:
    desired, current = files_inputs()
    return Plan(
        name="iris-local",
        target="docker",
        env=None,
        against="dir:out/iris",
        changes=tuple(diff_files(desired, current, "out/iris")),
        policy_mode="none",
        model={"uri": "./model", "pinned": "./model", "digest": DIGEST_4},
        fingerprints=file_fingerprints(current, "out/iris"),
    )


def unchanged_plan() -> Plan:
    return Plan(
        name="iris-staging",
        target="kubernetes",
        env="staging",
        against="live",
        changes=(Change("deployment.iris", "deployment", "iris", Action.NOOP, {"replicas": 1}, {"replicas": 1}),),
        model={
            "uri": "models:/iris/4",
            "pinned": "models:/iris/4",
            "digest": DIGEST_4,
            "previous": {"pinned": "models:/iris/4", "digest": DIGEST_4, "version": "4"},
        },
    )


def untrusted_plan() -> Plan:
    """A plan whose Change values were built without redaction (as a careless target might)."""
    raw_before = {
        "Environment": {"AWS_SECRET_ACCESS_KEY": f"{PLANTED}-aws"},
        "conn": f"postgres://u:{PLANTED}-url@db/x",
        "pw": f"{PLANTED}-path",
    }
    raw_after = {
        "Environment": {"AWS_SECRET_ACCESS_KEY": f"{PLANTED}-aws2"},
        "conn": "postgres://db/x",
        "pw": f"{PLANTED}-path2",
    }
    diff = "\n".join(
        [
            "--- live/thing.x",
            "+++ planned/thing.x",
            "@@ -1,4 +1,4 @@",
            " Environment:",
            f"-  AWS_SECRET_ACCESS_KEY: {PLANTED}-aws",
            f"+  AWS_SECRET_ACCESS_KEY: {PLANTED}-aws2",
            f"-conn: postgres://u:{PLANTED}-url@db/x",
            "+conn: postgres://db/x",
            "   env:",
            "   - name: GITHUB_TOKEN",
            f"-    value: {PLANTED}-gh",
            f'+    value: "{PLANTED}-gh2"',
            f'+  {{"password": "{PLANTED}-json",',
        ]
    )
    change = Change("thing.x", "thing", "x", Action.UPDATE, raw_before, raw_after, "", diff, sensitive_paths=("pw",))
    return Plan(name="careless", target="custom", env=None, against="live", changes=(change,))
