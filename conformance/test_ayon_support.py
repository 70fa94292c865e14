"""Shared fixtures and helpers of the AYON conformance suites (imported by test_ayon_*.py).

The suites drive the unmodified ayon-python-api (`ayon_api.ServerAPI`) against the AYON face of a
fresh Atrium server, mounted at `<server>/ayon`. The admin is the one `atrium users create` made
(conftest's `admin_user`): it logs in here with its email, as AYON logins accept the email too.
"""

from __future__ import annotations

import struct
import uuid
import zlib

import pytest
import requests
from ayon_api import ServerAPI

__all__ = ["ayon_url", "ayon", "project", "project_name", "png_bytes", "jpeg_bytes", "uid", "new_project", "raw"]


def uid() -> str:
    return uuid.uuid4().hex


def png_bytes() -> bytes:
    """A valid 1x1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    """The smallest JPEG header/trailer pair the server's type check accepts."""
    return bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


@pytest.fixture(scope="session")
def ayon_url(server) -> str:
    return server.url + "/ayon"


@pytest.fixture(scope="session")
def ayon(ayon_url, admin_user) -> ServerAPI:
    """ServerAPI logged in as the admin (by email)."""
    api = ServerAPI(ayon_url)
    api.login(admin_user["email"], admin_user["password"])
    return api


def new_project(api: ServerAPI, prefix: str = "conf") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    api.create_project(name, name[:10])
    return name


@pytest.fixture(scope="module")
def project(ayon) -> str:
    """A project made from the default anatomy for the test module, deleted afterwards."""
    name = new_project(ayon)
    yield name
    try:
        ayon.delete_project(name)
    except Exception:
        pass


@pytest.fixture(scope="module")
def project_name(project) -> str:
    return project


def raw(api: ServerAPI, method: str, path: str, **kwargs) -> requests.Response:
    """A request with the connection's headers, for what the client does not expose."""
    headers = api.get_headers()
    headers.update(kwargs.pop("headers", {}))
    return requests.request(method, f"{api.get_base_url()}{path}", headers=headers, timeout=30, **kwargs)
