"""Parsing model source URIs into typed values (no I/O).

Forms: a local folder (relative to deploy.yaml), ``file:///abs/path``, ``models:/NAME/VERSION``,
``models:/NAME@ALIAS``, ``models:/NAME/latest``, ``models:/NAME/STAGE`` (deprecated),
``runs:/RUN_ID/PATH``, ``mlflow-artifacts:/PATH``, ``s3://bucket/prefix``, ``azureml:NAME:VERSION``,
``azureml:NAME@label`` and ``azureml://registries/REG/models/NAME/versions/VERSION``.

The local forms are here; the registry and cloud forms, their values and parsers, are in
:mod:`~modeldeploy.model.sources.remoteuri`, imported only for such a URI (a local model's
``validate`` defined their seven frozen dataclasses and compiled their patterns for nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from modeldeploy.errors import SourceError


@dataclass(frozen=True)
class LocalUri:
    path: str  # as written, POSIX separators


if TYPE_CHECKING:
    from modeldeploy.model.sources.remoteuri import RemoteUri

    SourceUri = LocalUri | RemoteUri

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def parse(uri: str) -> SourceUri:
    """The typed form of ``uri``; a one-line SourceError naming the URI when it is malformed."""
    text = uri.strip()
    if not text:
        raise SourceError("model.source is empty")
    m = _SCHEME.match(text)
    scheme = m.group(1).lower() if m else ""
    if not m or len(scheme) == 1:  # no scheme, or a Windows drive letter (C:\model)
        return LocalUri(text.replace("\\", "/"))
    if scheme == "file":
        return _file(text, uri)
    from modeldeploy.model.sources.remoteuri import PARSERS

    parser = PARSERS.get(scheme)
    if parser is None:
        raise SourceError(f"unsupported model source {uri!r}: use a local folder, models:/, runs:/, s3:// or azureml:")
    return parser(text, uri)


def _file(text: str, uri: str) -> LocalUri:
    rest = text[len("file:") :]
    if rest.startswith("//"):
        rest = rest[2:]
        host, _, rest = rest.partition("/")
        if host not in ("", "localhost"):
            raise SourceError(f"file URI {uri!r} names a remote host; only local files are supported")
        rest = "/" + rest
    return LocalUri(unquote(rest))
