"""deploy.yaml v1 as pydantic v2 models.

The keys in the issue's example are a fixed contract. The built-in kinds' target sections live in
``modeldeploy/spec/targets/<kind>.py`` and are joined in ``DeploySpec`` as a discriminated union on
``target.kind``; those modules must import nothing heavy. Any other kind is a plugin's: this layer
knows no target registry, so it accepts the section as a PluginTarget and the library checks it
against the plugin's own ``config_model`` when it loads the file (see ``plugins`` in
modeldeploy.spec.loader).

A file is validated against ``spec_model(kind)``: for a built-in kind, a subclass of ``DeploySpec``
whose union holds that kind's section alone (beside PluginTarget), so a docker spec neither defines
nor builds the classes of the other targets' sections — most of a one-file ``validate``'s start-up
used to be spent there. The union keeps its tag, so every error location (``target.docker.image``)
and message is the one the full union gives. ``DeploySpec`` itself, with every kind, is built when
it is first used: the JSON Schema, a plugin's kind, a ``target`` without a usable ``kind``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from modeldeploy.spec.base import DNSLabel, EnvName, Line, Quantity, StrictModel, empty_dict, empty_list

if TYPE_CHECKING:
    from modeldeploy.spec.evaluation import EvaluationSection
    from modeldeploy.spec.targets.azureml import AzureMLTarget
    from modeldeploy.spec.targets.docker import DockerTarget
    from modeldeploy.spec.targets.kubernetes import KubernetesTarget
    from modeldeploy.spec.targets.sagemaker import SageMakerTarget

API_VERSION = "modeldeploy/v1"


class ModelRegistration(StrictModel):
    """Register the model on apply where the target has a registry (MLflow, Azure ML, SageMaker)."""

    name: Line = Field(description="Registered model name.")
    tags: dict[str, Line] = Field(default_factory=empty_dict, description="Tags added to the new version.")
    description: str | None = Field(default=None, description="Description of the registered version.")


class CustomEnvironment(StrictModel):
    """Where a custom model's scoring code runs: an image, a conda or pip requirements file, or an image
    plus one of the files (installed on top of it). Paths are relative to deploy.yaml."""

    image: Line | None = Field(
        default=None, description="Base image the code runs in (docker FROM, Azure ML environment image)."
    )
    conda_file: Line | None = Field(default=None, description="conda environment file (its pip section is installed).")
    requirements_file: Line | None = Field(default=None, description="pip requirements file.")

    @model_validator(mode="after")
    def _one_source(self) -> CustomEnvironment:
        if self.conda_file and self.requirements_file:
            raise ValueError("give conda_file or requirements_file, not both")
        if not (self.image or self.conda_file or self.requirements_file):
            raise ValueError("needs image, conda_file or requirements_file (or image plus one of the files)")
        return self


class ModelSection(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    source: Line = Field(
        description=(
            "Where the model comes from: a local MLflow model folder (relative to this file), "
            "runs:/RUN_ID/PATH, models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/latest, "
            "s3://bucket/prefix, azureml:NAME:VERSION."
        )
    )
    type: Literal["mlflow", "custom", "triton"] = Field(
        default="mlflow", description="mlflow (MLmodel folder), custom (your scoring code), triton (model repository)."
    )
    tracking_uri: Line | None = Field(
        default=None, description="MLflow tracking server for runs:/ and models:/ (default: $MLFLOW_TRACKING_URI)."
    )
    registration: ModelRegistration | None = Field(
        default=None, alias="register", description="Register the model on apply."
    )
    code: Line | None = Field(
        default=None,
        validate_default=True,
        description="model.type custom: folder with your scoring code (relative to this file).",
    )
    entry: Line | None = Field(
        default=None,
        validate_default=True,
        description=(
            "model.type custom: the module inside code with init() and run(data) (e.g. score.py), "
            "or a command that serves /ping and /invocations on port 8080 itself."
        ),
    )
    environment: CustomEnvironment | None = Field(
        default=None, validate_default=True, description="model.type custom: image and/or conda/requirements file."
    )

    @field_validator("code", "entry", "environment")
    @classmethod
    def _custom_only(cls, v: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("type")
        if kind is None:  # type itself was invalid; that error is reported
            return v
        if kind == "custom" and v is None and info.field_name in ("code", "entry"):
            what = (
                "the folder with your scoring code"
                if info.field_name == "code"
                else "the module (score.py) or command to run"
            )
            raise ValueError(f"model.type custom needs model.{info.field_name}: {what}")
        if kind != "custom" and v is not None:
            raise ValueError(f"only used with model.type custom (this model is type {kind})")
        return v


class Waiver(StrictModel):
    """Accept one finding of the signature checker, with the reason recorded in every plan."""

    rule: Line = Field(description="Rule id to waive, e.g. SIG102.")
    field: Line | None = Field(default=None, description="Only for this input/output/param name (default: any).")
    reason: str = Field(min_length=1, description="Why this change is acceptable; shown in plans.")


class SignaturePolicy(StrictModel):
    required: bool = Field(default=True, description="The model must carry a signature (validate exits 3 otherwise).")
    compatibility: Literal["none", "backward", "forward", "full"] = Field(
        default="backward",
        description=(
            "Allowed change against the deployed model: backward = every request valid for the old model is "
            "accepted by the new one; forward = the reverse; full = both; none = no check."
        ),
    )
    input_kinds: list[Literal["columns", "tensors"]] | None = Field(
        default=None, description="Allowed input signature kinds (default: any)."
    )
    waivers: list[Waiver] = Field(default_factory=empty_list, description="Findings accepted with a reason.")
    check_input_example: bool = Field(
        default=True, description="Check that the model's saved input example conforms to its signature."
    )


class SecretRef(StrictModel):
    """A reference to a secret held by the platform; the value never appears in any artifact or plan."""

    secret: Line = Field(description="Secret name (Kubernetes Secret, AWS Secrets Manager id, Key Vault secret).")
    key: Line = Field(description="Key inside the secret.")


class Serving(StrictModel):
    env: dict[EnvName, str] = Field(
        default_factory=empty_dict,
        description=(
            "Plain environment variables, no secrets: an entry whose name marks a secret (*PASSWORD*, "
            "*SECRET*, *_TOKEN, *API_KEY*, ...) or whose value looks like a credential is refused (MD120); "
            "use serving.secrets, or serving.allow_plain with a reason."
        ),
    )
    secrets: dict[EnvName, SecretRef] = Field(
        default_factory=empty_dict, description="Environment variables filled from secret references."
    )
    allow_plain: dict[EnvName, Annotated[str, Field(min_length=1)]] = Field(
        default_factory=empty_dict,
        description=(
            "env variables whose plain value may look like a credential (MD120), each with the reason "
            "it is not a secret, e.g. {DEMO_KEY: public sandbox key}."
        ),
    )
    workers: int = Field(default=1, ge=1, le=64, description="Scoring server worker processes.")
    timeout_seconds: int = Field(default=60, ge=1, le=3600, description="Request timeout.")
    max_request_body: Quantity = Field(
        default="100Mi", description="Largest request body accepted (MLflow's own image allows 5 MB)."
    )

    @model_validator(mode="after")
    def _no_overlap(self) -> Serving:
        both = sorted(set(self.env) & set(self.secrets))
        if both:
            raise ValueError(f"{', '.join(both)} set both in env and in secrets")
        return self


class Resources(StrictModel):
    cpu: Quantity = Field(default="1", description="CPU request (Kubernetes quantity).")
    memory: Quantity = Field(default="2Gi", description="Memory request (Kubernetes quantity).")
    gpu: int = Field(default=0, ge=0, le=16, description="GPUs per replica.")

    @field_validator("cpu", "memory", mode="before")
    @classmethod
    def _numbers_as_text(cls, v: Any) -> Any:
        # `cpu: 1` is natural YAML; quantities are strings everywhere downstream.
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        return v


class Scaling(StrictModel):
    min_replicas: int = Field(default=1, ge=0, le=1000)
    max_replicas: int = Field(default=1, ge=1, le=1000)
    target_cpu_percent: int = Field(default=70, ge=1, le=100, description="Kubernetes HPA CPU target.")
    target_invocations_per_replica: int = Field(
        default=100, ge=1, description="SageMaker target-tracking: invocations per instance per minute."
    )

    @model_validator(mode="after")
    def _order(self) -> Scaling:
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"max_replicas ({self.max_replicas}) is below min_replicas ({self.min_replicas})")
        return self


BUILTIN_KINDS = ("docker", "kubernetes", "sagemaker", "azureml")


class PluginTarget(StrictModel):
    """A target provided by a plugin (entry-point group ``modeldeploy.targets``). Its keys are checked
    by the plugin's own ``config_model`` after this model accepts them (see spec.loader)."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)
    kind: Line = Field(json_schema_extra={"not": {"enum": list(BUILTIN_KINDS)}}, description="A plugin target's kind.")


def _target_tag(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    if not isinstance(kind, str):
        return None
    return kind if kind in BUILTIN_KINDS else "plugin"


def section_model(kind: str) -> type[StrictModel]:
    """The section model of a built-in ``target.kind``, its module imported on first use."""
    if kind == "docker":
        from modeldeploy.spec.targets.docker import DockerTarget

        return DockerTarget
    if kind == "kubernetes":
        from modeldeploy.spec.targets.kubernetes import KubernetesTarget

        return KubernetesTarget
    if kind == "sagemaker":
        from modeldeploy.spec.targets.sagemaker import SageMakerTarget

        return SageMakerTarget
    if kind == "azureml":
        from modeldeploy.spec.targets.azureml import AzureMLTarget

        return AzureMLTarget
    raise KeyError(kind)


def _target_union(kinds: tuple[str, ...]) -> Any:
    """``target``'s discriminated union over the sections of ``kinds`` (in BUILTIN_KINDS order) and
    PluginTarget: the full union when ``kinds`` is every built-in kind."""
    choices = tuple(Annotated[section_model(k), Tag(k)] for k in kinds)
    union: Any = Union[choices + (Annotated[PluginTarget, Tag("plugin")],)]  # noqa: UP007
    return Annotated[union, Discriminator(_target_tag)]


if TYPE_CHECKING:
    Target = Annotated[
        Annotated[DockerTarget, Tag("docker")]
        | Annotated[KubernetesTarget, Tag("kubernetes")]
        | Annotated[SageMakerTarget, Tag("sagemaker")]
        | Annotated[AzureMLTarget, Tag("azureml")]
        | Annotated[PluginTarget, Tag("plugin")],
        Discriminator(_target_tag),
    ]


_EVALUATION = "Responsible AI gate: metrics, error cohorts, fairness and baseline on held-out rows."


class DeploySpec(StrictModel):
    """A deploy.yaml after environment overlays are applied."""

    # ``Target`` (the union of every kind) and ``EvaluationSection`` are put in this module's
    # namespace only when this class is built; until then the annotations are forward references
    # (see spec_model).

    apiVersion: Literal["modeldeploy/v1"] = Field(description="Always modeldeploy/v1.")
    name: DNSLabel = Field(description="DNS-1123 label; the base of every resource name.")
    model: ModelSection
    signature: SignaturePolicy = Field(default_factory=SignaturePolicy)
    serving: Serving = Field(default_factory=Serving)
    resources: Resources = Field(default_factory=Resources)
    scaling: Scaling = Field(default_factory=Scaling)
    labels: dict[Line, Line] = Field(
        default_factory=empty_dict, description="Labels/tags added to every resource modeldeploy creates."
    )
    target: Target
    evaluation: EvaluationSection | None = Field(default=None, description=_EVALUATION)
    environments: dict[DNSLabel, dict[str, Any]] = Field(
        default_factory=empty_dict,
        description="Overlays deep-merged over the base (maps merge, lists and scalars replace); pick one with --env.",
    )

    @classmethod
    def model_rebuild(cls, *args: Any, **kwargs: Any) -> bool | None:
        if cls is DeploySpec and "Target" not in globals():
            with _SPEC_LOCK:
                globals().setdefault("EvaluationSection", _evaluation_section())
                globals().setdefault("Target", _target_union(BUILTIN_KINDS))
        kwargs["_parent_namespace_depth"] = kwargs.get("_parent_namespace_depth", 2) + 1  # this frame
        return super().model_rebuild(*args, **kwargs)


def _evaluation_section() -> type[StrictModel]:
    from modeldeploy.spec.evaluation import EvaluationSection

    return EvaluationSection


_SPEC_LOCK = threading.RLock()
_SPEC_PREFIX = "DeploySpec_"
_WITH_EVALUATION = "_evaluation"
_SPECS: dict[tuple[str, bool], type[DeploySpec]] = {}


def spec_model(kind: object, evaluation: bool = True) -> type[DeploySpec]:
    """The model a deploy.yaml whose ``target.kind`` is ``kind`` is validated against: for a built-in
    kind, DeploySpec with that kind's section alone in the ``target`` union, and with the
    ``evaluation`` section's model only when the data has the key (``evaluation`` False: it has not,
    so the field keeps its default, None, and is never validated); defined on first use and kept.
    For anything else (a plugin's kind, a missing or malformed kind) DeploySpec itself, whose errors
    name every kind."""
    if not isinstance(kind, str) or kind not in BUILTIN_KINDS:
        return DeploySpec
    cls = _SPECS.get((kind, evaluation))
    if cls is None:
        with _SPEC_LOCK:
            cls = _SPECS.get((kind, evaluation))
            if cls is None:
                # type(None), not None: create_model before pydantic 2.11 drops a falsy annotation and
                # then refuses the Field as a "non-annotated" override (DeploySpec declares the field).
                section: Any = (_evaluation_section() | None) if evaluation else type(None)
                cls = create_model(
                    _SPEC_PREFIX + kind + (_WITH_EVALUATION if evaluation else ""),
                    __base__=DeploySpec,
                    __module__=__name__,
                    __doc__=DeploySpec.__doc__,
                    target=(_target_union((kind,)), ...),
                    evaluation=(section, Field(default=None, description=_EVALUATION)),
                )
                _SPECS[(kind, evaluation)] = cls
    return cls


def __getattr__(name: str) -> Any:
    # A spec travels between processes (render/plan --jobs) by its class's name: DeploySpec_docker,
    # DeploySpec_docker_evaluation.
    if name.startswith(_SPEC_PREFIX):
        kind = name[len(_SPEC_PREFIX) :].removesuffix(_WITH_EVALUATION)
        if kind in BUILTIN_KINDS:
            return spec_model(kind, name.endswith(_WITH_EVALUATION))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
