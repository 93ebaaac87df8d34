"""The serving contract every modeldeploy image reads, in one place for every target.

The docker target bakes these variables into the image; Kubernetes, SageMaker and Azure ML set them
again at deploy time so the deploy.yaml in force wins over whatever the image was built with.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from modeldeploy.errors import RenderError

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.spec.models import Serving

MODEL_PATH = "/opt/ml/model"
PORT = 8080
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity_bytes(q: str) -> int:
    """A whole-number Kubernetes-style quantity ('20Mi', '5M', '1024') in bytes."""
    m = re.fullmatch(r"([0-9]+)(k|M|G|T|Ki|Mi|Gi|Ti)?", q)
    if not m:
        raise RenderError(f"serving.max_request_body {q!r}: use a whole number with k, M, G, T, Ki, Mi, Gi or Ti")
    return int(m.group(1)) * _UNITS[m.group(2) or ""]


def serving_env(serving: Serving) -> dict[str, str]:
    """MODELDEPLOY_* settings the image's entrypoint reads (not serving.env, not secrets).

    MODELDEPLOY_WORKERS only when deploy.yaml sets ``serving.workers``: otherwise the entrypoint sizes
    the workers from the CPUs the container may use (its cgroup CPU limit, else its CPU affinity)."""
    out: dict[str, str] = {}
    if "workers" in serving.model_fields_set:
        out["MODELDEPLOY_WORKERS"] = str(serving.workers)
    out["MODELDEPLOY_TIMEOUT_SECONDS"] = str(serving.timeout_seconds)
    out["MODELDEPLOY_MAX_BODY_BYTES"] = str(quantity_bytes(serving.max_request_body))
    return out
