"""Refuse plain ``serving.env`` values that look like credentials.

Secrets belong in ``serving.secrets`` (references the platform resolves at run time); a plain env
value ends up in the Dockerfile, the Kubernetes manifest, the SageMaker request and every plan. Each
detector below is one small declarative entry (id, description, pattern), as cfn-lint rules are, and
is checked against every plain env value after the spec validates. A value that trips a detector
is an MD120 error at the value's position, unless ``serving.allow_plain`` names the variable with a
reason (for a test fixture or a public demo key, say).

Messages never repeat the value. Patterns are linear (no nested quantifiers), so a 1 MiB value is
scanned in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from modeldeploy.errors import Diagnostic

CODE = "MD120"


@dataclass(frozen=True)
class Detector:
    """One kind of credential: a stable id, what it is (used in the message), and its pattern."""

    id: str
    description: str
    pattern: re.Pattern[str]

    def matches(self, value: str) -> bool:
        return self.pattern.search(value) is not None


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "aws-access-key-id",
        "an AWS access key id",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])"),
    ),
    Detector(
        "private-key",
        "a PEM private key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ),
    Detector(
        "github-token",
        "a GitHub token",
        re.compile(r"(?<![A-Za-z0-9_])(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})"),
    ),
    Detector(
        "slack-token",
        "a Slack token",
        re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"),
    ),
    Detector(
        "jwt",
        "a JSON Web Token",
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{8,}"),
    ),
    Detector(
        "url-password",
        "a URL with a password in it",
        re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:[^/\s@]+@"),
    ),
    Detector(
        "password-assignment",
        "a password assignment",
        re.compile(
            r"(?i)(?<![a-z0-9])(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)"
            r"[ \t]*[=:][ \t]*[^\s'\"&;,]"
        ),
    ),
)


class _Positions(Protocol):
    def at(self, path: tuple[Any, ...], *, key: bool = False) -> tuple[int, int]: ...


class _Serving(Protocol):
    env: Any
    allow_plain: Any


def detect(value: str) -> Detector | None:
    """The first detector that matches ``value``, or None."""
    for detector in DETECTORS:
        if detector.matches(value):
            return detector
    return None


def check_env(serving: _Serving, positions: _Positions, display: str) -> list[Diagnostic]:
    """MD120 diagnostics, one per plain env value that looks like a credential and is not allowed by
    ``serving.allow_plain``; located at the value."""
    out: list[Diagnostic] = []
    for name in sorted(serving.env):
        if name in serving.allow_plain:
            continue
        found = detect(str(serving.env[name]))
        if found is None:
            continue
        line, col = positions.at(("serving", "env", name))
        message = (
            f"serving.env.{name} looks like {found.description} ({found.id}); use serving.secrets: "
            f"{{{name}: {{secret: NAME, key: KEY}}}} (or serving.allow_plain.{name}: \"<reason>\")"
        )
        out.append(Diagnostic(display, line, col, message, CODE))
    return out
