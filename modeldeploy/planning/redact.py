"""Keep secret values out of every plan output (text, markdown, JSON, saved plan files).

Secrets are references by design (``serving.secrets``), so a correct target never puts a value into a
Resource body. This module is the defence in depth for when one does anyway:

* :func:`redact` replaces the values at declared dotted paths (``Resource.sensitive_paths``);
* :func:`redact_env_like` replaces the values of secret-looking keys in environment-like data
  (``[{"name": K, "value": V}]`` lists and plain ``{str: str}`` maps);
* :func:`redact_text` does the same line by line for text that is already a diff (YAML, JSON,
  Dockerfile ``ENV K=V``) and masks passwords in URLs (``https://user:PASS@host``);
* any string with a credential's shape (:func:`modeldeploy.spec.credentials.detect`: provider key
  prefixes, PEM blocks, JWTs, passwords in URLs) is hidden wherever it is, whatever its key.

What is hidden is decided by what a value *is*, not only by its key's name: a key name marks a string
as secret, but a boolean, a number or a null is never a credential, so a setting like
``automountServiceAccountToken: false`` (security-relevant, and reviewers must see it change) is
always shown. Secret references (``{secret, key}``, ``secretKeyRef``) are shown too: they are the point.

Paths are dotted (``spec.template.spec.containers.*.env.*.value``); ``*`` matches every list item or
map key, a number matches that list index, and ``\\.`` is a literal dot inside a key
(``metadata.annotations.example\\.com/token``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The one name rule, shared with validate (spec.credentials refuses a plain env value under such a name).
from modeldeploy.spec.credentials import detect, is_sensitive_key

SENSITIVE = "(sensitive)"
SENSITIVE_CHANGED = "(sensitive, changed)"

Segment = str | int
Path = tuple[Segment, ...]

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^/\s:@]*):(?P<password>[^/\s@]+)@")


def parse_path(path: str) -> tuple[str, ...]:
    """``"a.b\\.c.*"`` → ``("a", "b.c", "*")``."""
    segments: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in path:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
    segments.append("".join(current))
    return tuple(segments)


def format_path(path: Sequence[Segment]) -> str:
    """The dotted form of a concrete path, escaping dots inside keys."""
    return ".".join(str(s).replace("\\", "\\\\").replace(".", "\\.") if isinstance(s, str) else str(s) for s in path)


def segment_matches(pattern: str, segment: Segment) -> bool:
    return pattern == "*" or pattern == str(segment)


def plain(data: Any) -> Any:
    """A deep copy as plain JSON-like data: mappings → dict, lists/tuples → list."""
    if isinstance(data, Mapping):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    return data


def _redact_at(node: Any, segments: tuple[str, ...]) -> Any:
    if not segments:
        return node if node is None else SENSITIVE
    head, rest = segments[0], segments[1:]
    if isinstance(node, dict):
        return {k: (_redact_at(v, rest) if segment_matches(head, k) else v) for k, v in node.items()}
    if isinstance(node, list):
        return [(_redact_at(v, rest) if segment_matches(head, i) else v) for i, v in enumerate(node)]
    return node


def redact(body: Any, sensitive_paths: Iterable[str]) -> Any:
    """A copy of ``body`` with the value at every matching path replaced by ``(sensitive)``.

    Missing paths are ignored; ``None`` values stay ``None`` (nothing to hide); the input is not changed.
    """
    out = plain(body)
    for path in sensitive_paths:
        out = _redact_at(out, parse_path(path))
    return out


def _is_env_entry(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item


def _is_string_map(node: dict[str, Any]) -> bool:
    return bool(node) and all(isinstance(v, (str, int, float, bool)) or v is None for v in node.values())


def _is_secret_reference(node: dict[str, Any], key: str) -> bool:
    """``{"secret": "db", "key": "password"}`` is the spec's SecretRef shape: a reference."""
    return key == "secret" and set(node) <= {"secret", "key"}


def redact_env_like(body: Any) -> Any:
    """A copy of ``body`` with secret-looking values hidden in environment-like data, at any depth."""
    if isinstance(body, (list, tuple)):
        return [_redact_env_entry(v) if _is_env_entry(v) else redact_env_like(v) for v in body]
    if isinstance(body, Mapping):
        node = {k: redact_env_like(v) for k, v in body.items()}
        if _is_string_map(node):
            return {
                k: (
                    SENSITIVE
                    if _may_hold_secret(v) and is_sensitive_key(str(k)) and not _is_secret_reference(node, k)
                    else v
                )
                for k, v in node.items()
            }
        return node
    return body


def _redact_env_entry(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: redact_env_like(v) for k, v in item.items()}
    if is_sensitive_key(item["name"]) and _may_hold_secret(out.get("value")):
        out["value"] = SENSITIVE
    return out


def _may_hold_secret(value: Any) -> bool:
    """A key's name can only mark a string (or a structure of them) as secret: booleans, numbers and
    nulls are settings, shown as they are."""
    return value is not None and not isinstance(value, (bool, int, float))


def mask_url_credentials(text: str) -> str:
    """``https://user:pass@host`` → ``https://user:(sensitive)@host``."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{SENSITIVE}@", text)


def _mask_strings(body: Any) -> Any:
    if isinstance(body, str):
        found = detect(body)
        if found is not None and found.id not in ("url-password", "password-assignment"):
            return SENSITIVE  # a credential's shape, under whatever key
        return mask_url_credentials(body)
    if isinstance(body, dict):
        return {k: _mask_strings(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_mask_strings(v) for v in body]
    return body


def scrub(body: Any, sensitive_paths: Iterable[str] = ()) -> Any:
    """Every data redaction at once: declared paths, env-like secrets, URL passwords."""
    return _mask_strings(redact_env_like(redact(body, sensitive_paths)))


# ---- text (diffs) ---------------------------------------------------------------------------------

# One diff line: optional diff marker, indentation, optional YAML list dash / Dockerfile keyword, a key
# (optionally quoted), ":" or "=", the value, an optional trailing JSON comma.
_KV_LINE = re.compile(
    r"""^(?P<lead>[-+ ]?(?P<indent>\s*)(?:-\s+)?(?:(?:ENV|ARG|export)\s+)?)
        (?P<q>["']?)(?P<key>[A-Za-z_][A-Za-z0-9_.\-/]*)(?P=q)
        (?P<sep>\s*:\s*)(?P<value>.*?)(?P<tail>,?)\s*$""",
    re.VERBOSE,
)
_INLINE_ASSIGN = re.compile(r"""(?P<key>\b[A-Za-z_][A-Za-z0-9_]*)=(?P<value>"[^"]*"|'[^']*'|[^\s"']+)""")
# "key": "value" or {key: value} inside a line (JSON objects, YAML flow mappings).
_INLINE_PAIR = re.compile(
    r"""(?P<pre>(?P<q>["'])(?P<qkey>[^"'\s]+)(?P=q)\s*:\s*|(?<=[{,])\s*(?P<bkey>[A-Za-z_][A-Za-z0-9_.\-]*)\s*:\s+)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^,}\]\s]+)"""
)
_BLOCK_SCALAR = re.compile(r"^[|>][+-]?\d*$")
# An unquoted YAML/JSON boolean, null or number: a setting, never a credential (Dockerfile ENV values
# are untyped text and stay hidden under a secret name).
_TYPED_SCALAR = re.compile(r"^(?:true|false|True|False|TRUE|FALSE|null|Null|NULL|~|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$")


def _typed(value: str) -> bool:
    return _TYPED_SCALAR.match(value.strip()) is not None


def _quote_like(value: str) -> str:
    if value.strip("\"'") in (SENSITIVE, SENSITIVE_CHANGED):
        return value
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return f"{value[0]}{SENSITIVE}{value[0]}"
    return SENSITIVE


def _strip_marker(line: str) -> str:
    return line[1:] if line[:1] in "+- " else line


def redact_text(text: str) -> str:
    """Hide secret-looking values in diff text line by line (YAML, JSON, ``KEY=value``, URLs).

    Handles ``password: x``, ``"apiKey": "x",``, ``ENV HF_TOKEN=x``, YAML block scalars under a secret
    key, and env entries (``- name: DB_PASSWORD`` followed by ``value: x``).
    """
    out: list[str] = []
    block_indent: int | None = None  # inside a block scalar under a secret key: hide deeper lines
    env_secret_indent: int | None = None  # after "name: SECRET_KEY": hide the entry's "value:"
    for line in text.split("\n"):
        body = _strip_marker(line)
        indent = len(body) - len(body.lstrip(" "))
        if block_indent is not None:
            if body.strip() and indent > block_indent:
                out.append(line[: len(line) - len(body)] + " " * indent + SENSITIVE)
                continue
            block_indent = None
        m = _KV_LINE.match(line)
        if m:
            key, value = m["key"], m["value"]
            key_col = len(m["lead"]) - (1 if line[:1] in "+- " else 0)
            if key == "name":
                env_secret_indent = key_col if is_sensitive_key(value.strip("\"'")) else None
            elif (
                key == "value"
                and env_secret_indent is not None
                and key_col == env_secret_indent
                and value
                and not _typed(value)
            ):
                line = f"{m['lead']}{m['q']}{key}{m['q']}{m['sep']}{_quote_like(value)}{m['tail']}"
            elif is_sensitive_key(key.rsplit("/", 1)[-1]) and value and value[:1] not in "{[" and not _typed(value):
                if _BLOCK_SCALAR.match(value):
                    block_indent = indent
                else:
                    line = f"{m['lead']}{m['q']}{key}{m['q']}{m['sep']}{_quote_like(value)}{m['tail']}"
            if env_secret_indent is not None and key_col < env_secret_indent:
                env_secret_indent = None
        line = _INLINE_PAIR.sub(
            lambda a: (
                a["pre"] + _quote_like(a["value"])
                if is_sensitive_key(a["qkey"] or a["bkey"]) and a["value"][:1] not in "{[" and not _typed(a["value"])
                else a.group(0)
            ),
            line,
        )
        line = _INLINE_ASSIGN.sub(
            lambda a: f"{a['key']}={_quote_like(a['value'])}" if is_sensitive_key(a["key"]) else a.group(0), line
        )
        out.append(_mask_shapes(mask_url_credentials(line)))
    return "\n".join(out)


_TOKENS = re.compile(r"""[^\s"'=:,{}\[\]]{16,}""")


def _mask_shapes(line: str) -> str:
    """Hide runs of a line that have a credential's shape (a key id, a token, a JWT), whatever key
    they sit under; a PEM header hides the whole line."""
    found = detect(line)
    if found is None or found.id in ("url-password", "password-assignment"):  # handled by key and URL rules
        return line
    if found.id == "private-key":
        return (line[:1] if line[:1] in "+- " else "") + SENSITIVE
    return _TOKENS.sub(lambda m: SENSITIVE if detect(m.group(0)) is not None else m.group(0), line)
