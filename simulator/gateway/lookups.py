"""Names AWS resolves before it authorizes (secret name -> ARN, KMS alias -> key), asked of the backend.

The lookup is signed with the caller's own credentials so the backend answers from the caller's
account; its result never reaches the caller, only the authorization. Results are cached until the
next write request passes the gateway.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from ..sessions import Session
from .catalog import catalog
from .upstream import Transport


class LookupCache:
    """Thread-safe memo of lookup answers, keyed by (access key's account view, region, question)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, ...], str | None] = {}

    def get(self, key: tuple[str, ...]) -> tuple[bool, str | None]:
        with self._lock:
            if key in self._answers:
                return True, self._answers[key]
        return False, None

    def put(self, key: tuple[str, ...], value: str | None) -> None:
        with self._lock:
            self._answers[key] = value

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


class UploadKeys:
    """The KMS key of each multipart upload created through the gateway whose request chose its
    encryption (None: not under a customer managed key): S3 has no API that tells it later. An upload
    not listed is under the bucket's default encryption. Bounded: the oldest are forgotten first (their
    parts are then judged by the bucket's default key)."""

    _LIMIT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, str | None] = {}

    def remember(self, upload_id: str, key_arn: str | None) -> None:
        with self._lock:
            if len(self._keys) >= self._LIMIT:
                del self._keys[next(iter(self._keys))]
            self._keys[upload_id] = key_arn

    def get(self, upload_id: str) -> tuple[bool, str | None]:
        with self._lock:
            return (True, self._keys[upload_id]) if upload_id in self._keys else (False, None)


class BackendLookups:
    """``resources.Lookups`` for one request, answered by the backend as ``session``."""

    def __init__(
        self, upstream: Transport, cache: LookupCache, session: Session, region: str, uploads: UploadKeys
    ) -> None:
        self._upstream = upstream
        self._cache = cache
        self._session = session
        self._region = region
        self._uploads = uploads

    def upload_key(self, upload_id: str) -> tuple[bool, str | None]:
        return self._uploads.get(upload_id)

    def secret_arn(self, secret_id: str) -> str | None:
        found = self._ask("secretsmanager", "DescribeSecret", {"SecretId": secret_id})
        return found.get("ARN") if found else None

    def key_arn(self, key_id: str) -> str | None:
        found = self._ask("kms", "DescribeKey", {"KeyId": key_id})
        return found.get("KeyMetadata", {}).get("Arn") if found else None

    def key_of_ciphertext(self, ciphertext_b64: str) -> str | None:
        found = self._ask("kms", "Decrypt", {"CiphertextBlob": ciphertext_b64})
        return found.get("KeyId") if found else None

    def _ask(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        key = (
            self._session.principal.account,
            self._region,
            service,
            operation,
            json.dumps(params, sort_keys=True),
        )
        known, answer = self._cache.get(key)
        if known:
            return json.loads(answer) if answer else None
        result = self._call(service, operation, params)
        self._cache.put(key, json.dumps(result) if result is not None else None)
        return result

    def _call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        model = catalog().model(service)
        request = AWSRequest(
            method="POST",
            url=f"http://{self._upstream.netloc}/",
            data=json.dumps(params).encode(),
            headers={
                "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
                "X-Amz-Target": f"{model.metadata['targetPrefix']}.{operation}",
            },
        )
        session = self._session
        credentials = ReadOnlyCredentials(
            session.access_key_id, session.secret_access_key, session.session_token
        )
        SigV4Auth(credentials, model.signing_name, self._region).add_auth(request)
        headers = [(name, value) for name, value in request.headers.items()]
        headers.append(("Host", self._upstream.netloc))
        try:
            response = self._upstream.send("POST", "/", headers, request.body)
        except OSError:
            return None
        if response.status != 200:
            return None
        try:
            parsed = json.loads(response.body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
