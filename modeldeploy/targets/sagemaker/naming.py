"""Names and tags for the SageMaker objects modeldeploy creates.

Models, endpoint configs and transform jobs are immutable, so their names are derived from content:
``<base>-<first 12 hex of the model digest>-<first 8 hex of sha256(request body without its name)>``,
at most 63 characters (``[a-zA-Z0-9](-*[a-zA-Z0-9])*``). Any change gives a new name, and the
endpoint is pointed at it with UpdateEndpoint — an object is never edited in place.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from modeldeploy.errors import RenderError

MAX_NAME = 63
TAG_VALUE_MAX = 256
TAG_KEY_MAX = 128
TAG_PREFIX = "modeldeploy:"
TAG_NAME = "modeldeploy:name"
TAG_MODEL_DIGEST = "modeldeploy:model-digest"
TAG_MODEL_URI = "modeldeploy:model-uri"
TAG_SIGNATURE_DIGEST = "modeldeploy:signature-digest"
_TAG_PUNCT = set("_.:/=+-@")


def content_hash(payload: Any, length: int = 8) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def digest_hex(digest: str) -> str:
    return digest.split(":", 1)[-1]


def object_name(base: str, model_digest: str, payload: Any) -> str:
    """``<base>-<digest12>-<hash8>``, the base shortened so the whole fits in 63 characters."""
    suffix = f"-{digest_hex(model_digest)[:12]}-{content_hash(payload)}"
    room = MAX_NAME - len(suffix)
    short = base[:room].rstrip("-") or "m"
    return short + suffix


def _tag_char_ok(ch: str) -> bool:
    return ch in _TAG_PUNCT or unicodedata.category(ch)[0] in "LZN"


def tag_value(value: str) -> str:
    """A value AWS accepts as a tag (``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``, ≤ 256): other characters
    become ``_``, and long values are cut. Used for values modeldeploy derives (URIs)."""
    return "".join(ch if _tag_char_ok(ch) else "_" for ch in value)[:TAG_VALUE_MAX]


def _check_user_tag(key: str, value: str) -> None:
    if not key or len(key) > TAG_KEY_MAX or not all(_tag_char_ok(ch) for ch in key):
        raise RenderError(
            f"label/tag key {key!r} is not a valid AWS tag key (1-128 letters, digits, spaces and _.:/=+-@)"
        )
    if key.lower().startswith("aws:"):
        raise RenderError(f"label/tag key {key!r}: the aws: prefix is reserved by AWS")
    if key.startswith(TAG_PREFIX):
        raise RenderError(f"label/tag key {key!r}: the {TAG_PREFIX} prefix is reserved for modeldeploy")
    if len(value) > TAG_VALUE_MAX or not all(_tag_char_ok(ch) for ch in value):
        raise RenderError(
            f"label/tag {key!r}: value {value!r} is not a valid AWS tag value (≤256 letters, digits, spaces and _.:/=+-@)"
        )


def build_tags(system: Mapping[str, str], user: Mapping[str, str]) -> list[dict[str, str]]:
    """modeldeploy's own tags plus the user's labels/tags, as AWS ``[{Key, Value}]`` sorted by key."""
    for key, value in user.items():
        _check_user_tag(key, value)
    merged = {**user, **{k: tag_value(v) for k, v in system.items()}}
    if len(merged) > 50:
        raise RenderError(f"{len(merged)} tags; AWS allows at most 50 per resource (modeldeploy uses {len(system)})")
    return [{"Key": k, "Value": merged[k]} for k in sorted(merged)]


def tags_dict(tags: list[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}
