"""Refuse plain ``serving.env`` entries that hold a credential: by the variable's NAME or its VALUE.

Secrets belong in ``serving.secrets`` (references the platform resolves at run time); a plain env
value ends up in the Dockerfile (an image layer), the Kubernetes manifest, the SageMaker request and
every plan. Two rules, both MD120 errors at the value's position:

* **the name marks a secret** (:func:`is_sensitive_key`): ``*PASSWORD*``, ``*PASSPHRASE*``,
  ``*SECRET*``, ``*TOKEN`` (a word "token", so not ``MAX_TOKENS``/``TOKENIZERS_PARALLELISM``/
  ``TOKEN_LIMIT``), ``*API_KEY*``, ``*PRIVATE_KEY*``, ``*ACCESS_KEY*``, ``*CREDENTIAL*``,
  ``*CONNECTION_STRING*``… — unless its last word names a reference or a setting *about* the secret
  (``SECRET_NAME``, ``TOKEN_FILE``, ``SECRET_ARN``, ``TOKEN_URL``, ``PASSWORD_MIN_LENGTH``). This is
  the one rule; ``planning.redact`` uses the same function to hide values in plans. A name rule does
  not fire on an empty value, a boolean/number-like value (``USE_SECRETS_MANAGER: "true"``) or an
  absolute file path (``GOOGLE_APPLICATION_CREDENTIALS: /var/run/key.json``): none is a credential.
* **the value has a credential's shape** (:data:`DETECTORS`): provider key prefixes, AWS key shapes,
  long high-entropy hex or base64 runs, PEM private keys, JWTs, passwords in URLs and assignments.

``serving.allow_plain: {NAME: "reason"}`` is the opt-out, one variable at a time, with the reason a
reviewer reads (a public demo key, a test fixture); ``serving.env`` stays a plain map.

Messages never repeat the value. Patterns are linear (no nested quantifiers), so a 1 MiB value is
scanned in milliseconds.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from modeldeploy.errors import Diagnostic

CODE = "MD120"


@dataclass(frozen=True)
class Detector:
    """One kind of credential: a stable id, what it is (used in the message), and its pattern."""

    id: str
    description: str
    # Compiled on first use (:attr:`pattern`): most values are ruled out by ``needles`` or
    # ``requires`` first, and compiling all fifteen at import was ~4 ms of every ``validate``.
    regex: str
    # A second look at each match (its text), for shapes a pattern alone would over-match: random
    # enough, mixed character classes.
    check: Callable[[str], bool] | None = None
    # Substrings one of which every match contains: a value without any is skipped unscanned (a
    # substring test is far cheaper than a regex pass over a large value).
    needles: tuple[str, ...] = ()
    # Patterns every matching value contains somewhere (a digit, an upper-case letter…): checked
    # first, each a quick scan, so a long value without them skips the expensive pattern.
    requires: tuple[re.Pattern[str], ...] = ()

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.regex)

    def matches(self, value: str) -> bool:
        if self.needles and not any(n in value for n in self.needles):
            return False
        if any(r.search(value) is None for r in self.requires):
            return False
        if self.check is None:
            return self.pattern.search(value) is not None
        return any(self.check(m.group(0)) for m in self.pattern.finditer(value))


_DIGIT, _UPPER, _LOWER, _HEX_LETTER = (re.compile(p) for p in ("[0-9]", "[A-Z]", "[a-z]", "[A-Fa-f]"))


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values()) if n else 0.0


def _mixed(text: str) -> bool:
    return any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)


def _random_hex(text: str) -> bool:
    # 32+ hex digits with letters and digits and no long repetition (not 000…0, not deadbeef…).
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text) and entropy(text) >= 3.0


def _random_b64(text: str) -> bool:
    return _mixed(text) and entropy(text.rstrip("=")) >= 4.3


def _aws_secret(text: str) -> bool:
    return _mixed(text) and entropy(text) >= 4.5


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "openai-key",
        "an OpenAI or Anthropic API key",
        r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?[A-Za-z0-9_-]{20,}",
        needles=("sk-",),
    ),
    Detector(
        "stripe-key",
        "a Stripe secret key",
        r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
        needles=("_live_", "_test_"),
    ),
    Detector(
        "google-api-key",
        "a Google API key",
        r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])",
        needles=("AIza",),
    ),
    Detector(
        "gitlab-token",
        "a GitLab token",
        r"(?<![A-Za-z0-9])gl(?:pat|dt|rt|ptt|cbt|oas)-[A-Za-z0-9_-]{20,}",
        needles=("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "gloas-"),
    ),
    Detector(
        "huggingface-token",
        "a Hugging Face token",
        r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}(?![A-Za-z0-9])",
        needles=("hf_",),
    ),
    Detector(
        "aws-access-key-id",
        "an AWS access key id",
        r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])",
        needles=("AKIA", "ASIA", "ABIA", "ACCA"),
    ),
    Detector(
        "private-key",
        "a PEM private key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
        needles=("-----BEGIN ",),
    ),
    Detector(
        "github-token",
        "a GitHub token",
        r"(?<![A-Za-z0-9_])(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})",
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Detector(
        "slack-token",
        "a Slack token",
        r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}",
        needles=("xox",),
    ),
    Detector(
        "jwt",
        "a JSON Web Token",
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{8,}",
        needles=("eyJ",),
    ),
    Detector(
        "url-password",
        "a URL with a password in it",
        r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:[^/\s@]+@",
        needles=("://",),
    ),
    Detector(
        "password-assignment",
        "a password assignment",
        (
            r"(?i)(?<![a-z0-9:])(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token"
            r"|account[_-]?key|shared[_-]?access[_-]?key)"
            r"[ \t]*[=:][ \t]*[^\s'\"&;,]"
        ),
    ),
    Detector(
        "aws-secret-access-key",
        "an AWS secret access key",
        r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
        _aws_secret,
        requires=(_DIGIT, _UPPER, _LOWER),
    ),
    Detector(
        "hex-secret",
        "a long random hex string (32+ digits)",
        # Not a path segment or a prefixed digest (runs:/<run id>/model, sha256:<hex>): identifiers.
        r"(?<![0-9A-Fa-f/:])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f/])",
        _random_hex,
        requires=(_DIGIT, _HEX_LETTER),
    ),
    Detector(
        "base64-secret",
        "a long random base64 string (40+ characters)",
        r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+]{40,}={0,2}(?![A-Za-z0-9+/=_-])",
        _random_b64,
        requires=(_DIGIT, _UPPER, _LOWER),
    ),
)

# ---- the name rule (shared with planning.redact) --------------------------------------------------

# Words (after splitting snake_case, kebab-case and camelCase) that mark a key as holding a secret.
_SECRET_WORDS = re.compile(r"password|passwd|passphrase|secret|credential|apikey|privatekey|accesskey|connectionstring")
_SECRET_PAIRS = {
    ("api", "key"),
    ("private", "key"),
    ("access", "key"),
    ("client", "secret"),
    ("connection", "string"),
    ("conn", "str"),
    ("account", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("master", "key"),
}
# A key whose last word is one of these names a secret, or a setting about one, rather than holding
# one (secretName, secretKeyRef, TOKEN_FILE, DB_SECRET_ARN, TOKEN_URL, PASSWORD_MIN_LENGTH).
_REFERENCE_WORDS = {
    "name",
    "names",
    "ref",
    "refs",
    "arn",
    "file",
    "path",
    "dir",
    "id",
    "ids",
    "url",
    "uri",
    "endpoint",
    "host",
    "port",
    "length",
    "ttl",
    "type",
    "kind",
    "mode",
    "enabled",
    "disabled",
    "required",
    "region",
    "version",
    "header",
    "policy",
    "rotation",
}
# "token" counted, limited or sized is a model setting (MAX_TOKEN, TOKEN_LIMIT, NUM_TOKEN).
_TOKEN_COUNT_WORDS = {
    "max",
    "min",
    "limit",
    "limits",
    "count",
    "len",
    "length",
    "size",
    "budget",
    "num",
    "number",
    "window",
}
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# The last word of a name whose hex value is an identifier, not a secret (MLFLOW_RUN_ID, GIT_COMMIT).
_IDENTIFIER_WORDS = {
    "id",
    "ids",
    "sha",
    "hash",
    "digest",
    "commit",
    "revision",
    "rev",
    "checksum",
    "fingerprint",
    "etag",
}
_HARMLESS_VALUE = re.compile(r"(?i)(?:|true|false|yes|no|on|off|none|null|-?\d+(?:\.\d+)?)")


def _words(key: str) -> list[str]:
    return [w.lower() for w in _WORD_SPLIT.split(key) if w]


def is_sensitive_key(key: str) -> bool:
    """True for names like ``DB_PASSWORD``, ``apiKey``, ``HF_TOKEN``, ``client-secret``, ``credentials``.

    Not for references (``secretName``, ``secretKeyRef``, ``TOKEN_FILE``) nor for look-alikes that are
    common model settings (``MAX_TOKENS``, ``TOKENIZERS_PARALLELISM``, ``TOKEN_LIMIT``). The one rule
    for both ``validate`` (a plain env entry under such a name is refused) and the plan's redaction.
    """
    words = _words(str(key))
    if not words or words[-1] in _REFERENCE_WORDS:
        return False
    if any(_SECRET_WORDS.search(w) for w in words):
        return True
    if not _TOKEN_COUNT_WORDS.intersection(words) and any(
        w == "token" or (w.endswith("token") and len(w) > 5) for w in words
    ):
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(words, words[1:], strict=False))


def _harmless_under_secret_name(value: str) -> bool:
    """Empty, a boolean or a number, or an absolute file path: no credential whatever the name says."""
    v = value.strip()
    return bool(_HARMLESS_VALUE.fullmatch(v)) or (
        v.startswith("/") and not any(c.isspace() for c in v) and "@" not in v
    )


class _Positions(Protocol):
    def at(self, path: tuple[Any, ...], *, key: bool = False) -> tuple[int, int]: ...


class _Serving(Protocol):
    env: Any
    allow_plain: Any


NAME_RULE = Detector("secret-name", "a secret (its name says so)", r"(?!)")


def detect(value: str, name: str = "") -> Detector | None:
    """The first detector that matches ``value``, or None. With ``name``, a hex value under an
    identifier's name (``MLFLOW_RUN_ID``, ``GIT_COMMIT``) is not a secret."""
    words = _words(name) if name else []
    for detector in DETECTORS:
        if detector.id == "hex-secret" and words and words[-1] in _IDENTIFIER_WORDS:
            continue
        if detector.matches(value):
            return detector
    return None


def classify(name: str, value: str) -> Detector | None:
    """Why the plain env entry ``name: value`` is a credential (the value's shape first, then the
    name rule), or None when it is an ordinary setting."""
    found = detect(value, name)
    if found is None and is_sensitive_key(name) and not _harmless_under_secret_name(value):
        return NAME_RULE
    return found


def check_env(serving: _Serving, positions: _Positions, display: str) -> list[Diagnostic]:
    """MD120 diagnostics, one per plain env value that looks like a credential and is not allowed by
    ``serving.allow_plain``; located at the value."""
    out: list[Diagnostic] = []
    for name in sorted(serving.env):
        if name in serving.allow_plain:
            continue
        found = classify(str(name), str(serving.env[name]))
        if found is None:
            continue
        line, col = positions.at(("serving", "env", name))
        what = f"holds {found.description}" if found is NAME_RULE else f"looks like {found.description}"
        message = (
            f"serving.env.{name} {what} ({found.id}); a plain value is baked into the image and every "
            f"artifact: use serving.secrets: {{{name}: {{secret: NAME, key: KEY}}}} "
            f'(or serving.allow_plain.{name}: "<reason>")'
        )
        out.append(Diagnostic(display, line, col, message, CODE))
    return out
