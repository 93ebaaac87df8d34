"""The SageMaker target's lease: one small JSON object in ``artifact_bucket`` under the deployment's
prefix, ``<artifact_prefix>/<name>/.modeldeploy-lease.json``, kept with S3's conditional writes:

* create: PutObject with ``If-None-Match: *`` (412 PreconditionFailed when it exists; S3 answers 409
  ConditionalRequestConflict to the loser of two simultaneous writes);
* renew/steal: PutObject with ``If-Match: <ETag read>``; release: DeleteObject with ``If-Match``.

S3 has supported both on general-purpose buckets since 2024 and moto 5.2.5 implements them, so the
compare-and-set is real (no DynamoDB table needed). The object is not a model.tar.gz, so observe never
plans it and destroy never deletes it; release removes it. Calls go through the target's boto3
clients (botocore's ``standard`` retries); a write whose answer was lost and is retried fails its
precondition, and the lease logic recognises its own holder id when it reads the object back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeldeploy.errors import TargetError
from modeldeploy.lease import LeaseRecord

if TYPE_CHECKING:  # pragma: no cover
    pass

KEY_NAME = ".modeldeploy-lease.json"
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_GONE = {"NoSuchKey", "404", "NotFound"}


def lease_key(prefix: str, name: str) -> str:
    return f"{prefix.strip('/')}/{name}/{KEY_NAME}".lstrip("/")


class S3LeaseBackend:
    def __init__(self, s3: Any, bucket: str, key: str):
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.where = f"s3://{bucket}/{key}"

    def _error(self, what: str, exc: BaseException) -> TargetError:
        from botocore.exceptions import BotoCoreError

        from modeldeploy.targets.sagemaker.aws import error_code, error_message

        if isinstance(exc, BotoCoreError):  # EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError…
            from modeldeploy.retry import gave_up

            return TargetError(
                f"{what} {self.where}: {exc}".splitlines()[0] + gave_up(exc),
                hint="check the network path to S3 (endpoint, region, proxy) and run again",
            )
        return TargetError(f"{what} {self.where}: {error_code(exc)}: {error_message(exc)}")

    def read(self) -> tuple[LeaseRecord, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.key)
            body = obj["Body"].read()
        except ClientError as exc:
            if _code(exc) in _GONE:
                return None
            raise self._error("reading the lease", exc) from None
        except BotoCoreError as exc:
            raise self._error("reading the lease", exc) from None
        try:
            record = LeaseRecord.from_json(body)
        except (ValueError, KeyError, TypeError):
            record = LeaseRecord("(unreadable lease object)", "apply", 0.0, 0.0, 0.0)
        return record, obj["ETag"]

    def _put(self, record: LeaseRecord, **condition: str) -> Any | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            out = self.s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=record.to_json().encode(),
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if _code(exc) in _LOST_RACE or _code(exc) in _GONE:
                return None
            raise self._error("writing the lease", exc) from None
        except BotoCoreError as exc:
            raise self._error("writing the lease", exc) from None
        return out["ETag"]

    def create(self, record: LeaseRecord) -> Any | None:
        return self._put(record, IfNoneMatch="*")

    def replace(self, record: LeaseRecord, token: Any) -> Any | None:
        return self._put(record, IfMatch=str(token))

    def delete(self, token: Any) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=str(token))
        except ClientError as exc:
            if _code(exc) in _LOST_RACE or _code(exc) in _GONE:
                return False
            raise self._error("releasing the lease", exc) from None
        except BotoCoreError as exc:
            raise self._error("releasing the lease", exc) from None
        return True


def _code(exc: BaseException) -> str:
    from modeldeploy.targets.sagemaker.aws import error_code

    code = error_code(exc)
    status = str(((getattr(exc, "response", None) or {}).get("ResponseMetadata") or {}).get("HTTPStatusCode", ""))
    return code if code not in ("", "None") else status
