"""@atrium/sdk ↔ specklepy 3.2.8 through Atrium, driven from pytest.

The model (helpers_speckle_interop.build_interop_model, twin of conformance/node/interop_model.ts):
nested Collections of box Meshes with their own vertex/colour chunks and a shared faces chunk, Base
objects with properties, and a terrain Mesh whose vertices and faces span several chunks (~2,800
objects).

- SDK → specklepy: `node --import tsx conformance/node/sdk_send.ts` sends the TypeScript model with
  operations.send; specklepy creates a version of it and receives it. The SDK's root id equals the id
  specklepy computes for the Python twin (the SDK reproduces specklepy's ids), and the received tree's
  summary equals the twin's.
- specklepy → SDK: specklepy sends the Python model and creates a version;
  `conformance/node/sdk_receive.ts` receives the version's object with operations.receive and prints
  the same summary, computed in TypeScript.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest
from specklepy.api import operations
from specklepy.core.api.enums import ProjectVisibility
from specklepy.core.api.inputs import CreateVersionInput, ProjectCreateInput
from specklepy.transports.memory import MemoryTransport
from specklepy.transports.server import ServerTransport

from helpers_speckle_data import client_for, make_user
from helpers_speckle_interop import _h, build_interop_model, interop_summary

REPO = Path(__file__).resolve().parents[1]
NODE = os.environ.get("NODE", "node")
NODE_DIR = REPO / "conformance" / "node"
SDK_OPERATIONS = REPO / "packages" / "sdk" / "src" / "speckle" / "operations.ts"

pytestmark = pytest.mark.skipif(
    not SDK_OPERATIONS.exists(), reason="@atrium/sdk has no operations.send/receive yet (packages/sdk/src/speckle/operations.ts)"
)


def node(script: str, *args: str, timeout: float = 300) -> dict:
    """Runs a conformance/node script with tsx; returns its last stdout line as JSON."""
    done = subprocess.run(
        [NODE, "--import", "tsx", str(NODE_DIR / script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def expected(tag: str) -> tuple[str, dict]:
    """The Python twin's root id and summary, with the ids of every non-chunk object it detaches."""
    twin = build_interop_model(tag=tag)
    mt = MemoryTransport()
    root_id = operations.send(twin, [mt], use_default_cache=False)
    summary = interop_summary(twin)
    summary["ids"] = _h([k for k, v in mt.objects.items() if '"speckle_type":"Speckle.Core.Models.DataChunk"' not in v[:120]])
    return root_id, summary


@pytest.fixture(scope="module")
def user(server, admin_user):
    return make_user(server, name=f"Interop {secrets.token_hex(3)}")


@pytest.fixture
def uc(server, user):
    return client_for(server, user.token)


@pytest.fixture
def project(uc):
    return uc.project.create(
        ProjectCreateInput(name=f"interop {secrets.token_hex(3)}", description=None, visibility=ProjectVisibility.PRIVATE)
    )


def test_specklepy_receives_a_model_the_sdk_sent(server, user, uc, project):
    tag = "from-sdk"
    sent = node("sdk_send.ts", server.url, user.token, project.id, tag)
    twin_id, twin_summary = expected(tag)
    assert sent["id"] == twin_id, "the SDK computes specklepy's id for the same model"

    main = uc.project.get_with_models(project.id).models.items[0]
    version = uc.version.create(
        CreateVersionInput(object_id=sent["id"], model_id=main.id, project_id=project.id, message="sent by @atrium/sdk")
    )
    assert version.referenced_object == sent["id"]

    received = operations.receive(
        version.referenced_object, ServerTransport(project.id, uc), local_transport=MemoryTransport()
    )
    assert received.id == sent["id"]
    assert received.speckle_type == "Speckle.Core.Models.Collections.Collection"
    assert received.name == f"{tag} root"
    assert interop_summary(received) == twin_summary


def test_sdk_receives_a_model_specklepy_sent(server, user, uc, project):
    tag = "from-specklepy"
    twin = build_interop_model(tag=tag)
    oid = operations.send(twin, [ServerTransport(project.id, uc)], use_default_cache=False)
    twin_id, twin_summary = expected(tag)
    assert oid == twin_id

    main = uc.project.get_with_models(project.id).models.items[0]
    version = uc.version.create(
        CreateVersionInput(object_id=oid, model_id=main.id, project_id=project.id, message="sent by specklepy")
    )

    got = node("sdk_receive.ts", server.url, user.token, project.id, version.referenced_object)
    assert got["id"] == oid
    assert got["speckle_type"] == "Speckle.Core.Models.Collections.Collection"
    assert got["warnings"] == []
    assert got["summary"] == twin_summary


def test_sdk_cannot_receive_another_users_private_model(server, uc, project):
    oid = operations.send(build_interop_model(tag="private", levels=1, meshes=2, props=2, terrain_side=4),
                          [ServerTransport(project.id, uc)], use_default_cache=False)
    stranger = make_user(server)
    done = subprocess.run(
        [NODE, "--import", "tsx", str(NODE_DIR / "sdk_receive.ts"), server.url, stranger.token, project.id, oid],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0, f"a stranger received a private object: {done.stdout[-500:]}"
