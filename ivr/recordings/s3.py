"""Recording files in an S3-compatible object store (AWS S3, SeaweedFS, MinIO, Ceph...),
through the `minio` client, so that every node reads and writes the same files (DESIGN §13).

Every request has the settings' connect and read timeouts and is retried a few times on a
broken connection or a 5xx answer (urllib3's Retry); a store that stays down fails the
request, and so the call's store step or the job, which the worker retries later.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from ivr.recordings.files import StoredFile

MISSING = frozenset({"NoSuchKey", "NoSuchObject"})
RETRIES = urllib3.Retry(
    total=3, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504), allowed_methods=None
)


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str
    """"" or a folder ending in "/"."""
    endpoint_url: str
    """Empty means AWS S3."""
    access_key: str
    secret_key: str
    region: str
    timeouts: tuple[float, float]
    """Connect and read, in seconds."""


def parse_s3_url(url: str) -> tuple[str, str]:
    """The bucket and key prefix of `s3://bucket/prefix`."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"{url!r} is not an s3://bucket/prefix URL")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


@dataclass(frozen=True)
class S3Files:
    client: Minio
    bucket: str
    prefix: str

    @classmethod
    def connect(cls, settings: S3Settings) -> S3Files:
        """A store over a new client (no request is made until the first file)."""
        endpoint = urlsplit(settings.endpoint_url or "https://s3.amazonaws.com")
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise ValueError(f"S3 endpoint {settings.endpoint_url!r} is not an http(s) URL")
        connect, read = settings.timeouts
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect, read=read), retries=RETRIES
        )
        client = Minio(
            endpoint.netloc,
            access_key=settings.access_key or None,
            secret_key=settings.secret_key or None,
            secure=endpoint.scheme == "https",
            region=settings.region,
            http_client=http,
        )
        return cls(client, settings.bucket, settings.prefix)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            self.bucket, self.prefix + key, io.BytesIO(data), len(data), content_type="audio/wav"
        )

    def get(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(self.bucket, self.prefix + key)
        except S3Error as error:
            if error.code in MISSING:
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def delete(self, key: str) -> bool:
        """S3's DELETE answers the same whether the object was there, so ask first."""
        try:
            self.client.stat_object(self.bucket, self.prefix + key)
        except S3Error as error:
            if error.code in MISSING:
                return False
            raise
        self.client.remove_object(self.bucket, self.prefix + key)
        return True

    def files(self) -> Iterator[StoredFile]:
        for found in self.client.list_objects(self.bucket, prefix=self.prefix, recursive=True):
            name, modified = found.object_name or "", found.last_modified
            if name.endswith(".wav") and modified is not None:
                yield StoredFile(name.removeprefix(self.prefix), modified)
