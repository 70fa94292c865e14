"""Shared helpers for the specklepy data suites (projects/models/versions, send/receive, subscriptions).

- `client_for`, `make_user`: authenticated specklepy clients, extra users made with the atrium CLI;
- `error_codes`: the `extensions.code` of a raised GraphQLException;
- `build_model`: a generated model (nested Collections of Meshes with real vertex/face arrays, plus Base
  objects with properties) whose detached-object count, chunks included, is known in advance;
- `content_digest`: a canonical digest of an object tree that does not depend on ids, so the sending
  process (whose objects carry no ids) and a receiving process can compare what they hold.

This file is also imported by helpers_speckle_receive.py, which runs in a fresh Python process.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from typing import Any, Iterable

from specklepy.objects.base import Base

ADMIN_EMAIL = "admin@example.com"  # conftest.py's admin_user

# The scopes a regular user's token gets in these suites (what a desktop connector would hold).
USER_SCOPES = [
    "streams:read",
    "streams:write",
    "profile:read",
    "profile:email",
    "users:read",
    "users:invite",
]

MESH_VERTEX_CHUNK = 31250  # specklepy Mesh.chunkable["vertices"]
MESH_FACE_CHUNK = 62500  # specklepy Mesh.chunkable["faces"]


def client_for(server, token: str | None = None):
    """A fresh specklepy SpeckleClient on the test server (authenticated when a token is given)."""
    from specklepy.api.client import SpeckleClient

    client = SpeckleClient(host=server.host, use_ssl=False)
    if token is not None:
        client.authenticate_with_token(token)
    return client


@dataclass
class User:
    id: str
    email: str
    name: str
    token: str


def make_user(server, *, name: str | None = None, scopes: list[str] | None = None) -> User:
    """A new (non-admin) server user created with `atrium users create`, and a token of theirs made
    with `atrium tokens create`."""
    tag = secrets.token_hex(4)
    email = f"user-{tag}@example.com"
    name = name or f"User {tag}"
    server.cli("users", "create", "--email", email, "--name", name, "--password", "pw-" + secrets.token_hex(8))
    token = server.create_token(scopes or USER_SCOPES, user=email, name=f"data-{tag}")
    me = client_for(server, token).active_user.get()
    assert me is not None and me.name == name, me
    return User(id=me.id, email=email, name=name, token=token)


def error_codes(exc: BaseException) -> list[str | None]:
    """`extensions.code` of every GraphQL error a specklepy GraphQLException carries."""
    errors = getattr(exc, "errors", None) or []
    return [(e.get("extensions") or {}).get("code") for e in errors]


def error_messages(exc: BaseException) -> list[str]:
    errors = getattr(exc, "errors", None) or []
    return [e.get("message", "") for e in errors]


# --- generated models ------------------------------------------------------------------------


@dataclass
class ModelPlan:
    """How many detached objects a generated model holds (= len(root.__closure))."""

    collections: int  # nested Collections, the root excluded
    small_meshes: int
    big_meshes: int
    props: int  # plain Base objects with properties, detached as collection elements
    chunks: int  # DataChunks of vertex/face arrays

    @property
    def detached(self) -> int:
        return self.collections + self.small_meshes + self.big_meshes + self.props + self.chunks


def _box_mesh(ix: int, x0: float, y0: float, z0: float, size: float) -> Any:
    """A closed box (8 vertices, 6 quads, vertex colours) at (x0, y0, z0). Its vertices and colours
    differ per mesh; content-addressed chunks that were equal would be stored (and counted) once."""
    from specklepy.objects.geometry import Mesh

    s = size
    vertices = [
        x0, y0, z0,  x0 + s, y0, z0,  x0 + s, y0 + s, z0,  x0, y0 + s, z0,
        x0, y0, z0 + s,  x0 + s, y0, z0 + s,  x0 + s, y0 + s, z0 + s,  x0, y0 + s, z0 + s,
    ]
    # every box has the same topology, so all boxes share ONE faces chunk (content addressing)
    faces = [4, 0, 3, 2, 1,  4, 4, 5, 6, 7,  4, 0, 1, 5, 4,  4, 1, 2, 6, 5,  4, 2, 3, 7, 6,  4, 3, 0, 4, 7]
    # per-vertex ARGB colours unique to this mesh
    colors = [(0xFF << 24) | ((ix * 8 + k) & 0xFFFFFF) for k in range(8)]
    mesh = Mesh(vertices=vertices, faces=faces, colors=colors, units="m")
    mesh.applicationId = f"box-{ix}"
    return mesh


def _grid_mesh(ix: int, n: int) -> Any:
    """An n×n vertex terrain grid (triangulated): 3·n² vertex coordinates, so that big n splits the
    vertices (and faces) into several DataChunks."""
    from specklepy.objects.geometry import Mesh

    vertices: list[float] = []
    for j in range(n):
        for i in range(n):
            vertices += (i * 0.5, j * 0.5, round(math.sin(i * 0.05 + ix) * math.cos(j * 0.05) * 3.0, 6))
    faces: list[int] = []
    for j in range(n - 1):
        for i in range(n - 1):
            a = j * n + i
            faces += (3, a, a + 1, a + n + 1, 3, a, a + n + 1, a + n)
    mesh = Mesh(vertices=vertices, faces=faces, units="m")
    mesh.applicationId = f"grid-{ix}"
    return mesh


def _chunks(length: int, size: int) -> int:
    return max(1, math.ceil(length / size)) if length else 0


def build_model(
    *,
    levels: int = 10,
    groups: int = 10,
    meshes_per_group: int = 300,
    props_per_group: int = 100,
    big_meshes: int = 3,
    big_mesh_side: int = 120,
    name: str = "generated model",
) -> tuple[Base, ModelPlan]:
    """A root Collection → `levels` Collections → `groups` Collections each → `meshes_per_group` box
    Meshes and `props_per_group` Base objects with properties; plus `big_meshes` terrain grids whose
    vertex arrays span several chunks, in a collection of their own. Returns the root and the exact
    number of detached objects the serializer will produce (chunks included)."""
    from specklepy.objects.models.collections.collection import Collection

    mesh_ix = 0
    prop_ix = 0
    chunks = 0
    level_collections = []
    for lv in range(levels):
        group_collections = []
        for g in range(groups):
            elements: list[Base] = []
            for m in range(meshes_per_group):
                elements.append(_box_mesh(mesh_ix, lv * 1000.0 + m * 2.0, g * 10.0, mesh_ix * 0.001, 1.0 + (m % 7) * 0.25))
                mesh_ix += 1
                chunks += 2  # its own vertices chunk and colours chunk
            for p in range(props_per_group):
                b = Base()
                b.applicationId = f"prop-{prop_ix}"
                b["name"] = f"element {prop_ix}"
                b["level"] = lv
                b["group"] = g
                b["area"] = round(prop_ix * 0.37, 4)
                b["tags"] = [f"t{prop_ix % 5}", f"l{lv}"]
                b["isExternal"] = prop_ix % 3 == 0
                b["nested"] = {"material": f"mat-{prop_ix % 11}", "fireRating": prop_ix % 4}
                elements.append(b)
                prop_ix += 1
            group_collections.append(Collection(name=f"group {lv}.{g}", elements=elements))
        level_collections.append(Collection(name=f"level {lv}", elements=group_collections))

    if mesh_ix:
        chunks += 1  # the faces chunk all boxes share
    terrain = []
    for b in range(big_meshes):
        mesh = _grid_mesh(b, big_mesh_side + b)
        chunks += _chunks(len(mesh.vertices), MESH_VERTEX_CHUNK) + _chunks(len(mesh.faces), MESH_FACE_CHUNK)
        terrain.append(mesh)
    if mesh_ix or terrain:
        # empty chunkable lists (textureCoordinates, vertexNormals; colours of the grids) still
        # serialise as one empty DataChunk, the same object for every mesh
        chunks += 1
    extra = 0
    if terrain:
        level_collections.append(Collection(name="terrain", elements=terrain))
        extra = 1

    root = Collection(name=name, elements=level_collections)
    root.applicationId = "root-" + name
    root["@metadata"] = Base(applicationId="metadata")  # a detached dynamic member
    root["@metadata"]["generator"] = "atrium conformance"
    root["@metadata"]["levels"] = levels
    plan = ModelPlan(
        collections=levels + levels * groups + extra,
        small_meshes=mesh_ix,
        big_meshes=big_meshes,
        props=prop_ix + 1,  # + the metadata object
        chunks=chunks,
    )
    return root, plan


# --- canonical digest ------------------------------------------------------------------------

_SKIP = {"id", "totalChildrenCount"}


def _canon_scalar(v: Any) -> Any:
    # Numbers compare by value: the server stores JSON.stringify(JSON.parse(text)) (speckle.md §8.3),
    # so a float 2.0 sent by specklepy comes back as the integer 2, and -0.0 as 0.
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return round(float(v), 6) + 0.0
    return v


def content_digest(root: Base) -> dict[str, Any]:
    """A digest of the whole tree that ignores ids: every Base's speckle_type and serialisable members
    in name order, recursively (lists, dicts, nested Bases), numbers as floats rounded to 6 places;
    plus counts, vertex sums and a digest of the ids the Bases carry. Equal digests on both sides
    mean the receiver holds the same content."""
    h = hashlib.sha256()
    ids: list[str] = []
    counts: dict[str, int] = {}
    sums = {"vertices": 0, "vertex_sum": 0.0, "faces": 0, "face_sum": 0}

    def feed(s: str) -> None:
        h.update(s.encode())

    def walk(v: Any) -> None:
        if isinstance(v, Base):
            t = v.speckle_type
            counts[t] = counts.get(t, 0) + 1
            if getattr(v, "id", None):
                ids.append(v.id)
            feed("{" + t)
            if t.endswith("Mesh"):
                sums["vertices"] += len(v.vertices)
                sums["vertex_sum"] += sum(v.vertices)
                sums["faces"] += len(v.faces)
                sums["face_sum"] += sum(v.faces)
            for name in v.get_serializable_attributes():
                if name in _SKIP:
                    continue
                feed("|" + name + "=")
                walk(getattr(v, name, None))
            feed("}")
        elif isinstance(v, (list, tuple)):
            feed("[")
            if v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
                feed(",".join(repr(_canon_scalar(x)) for x in v))
            else:
                for x in v:
                    walk(x)
                    feed(",")
            feed("]")
        elif isinstance(v, dict):
            feed("<")
            for k in sorted(v):
                feed(repr(k) + ":")
                walk(v[k])
                feed(",")
            feed(">")
        elif hasattr(v, "value") and not isinstance(v, (str, int, float, bool)):  # enums
            feed(repr(v.value))
        else:
            feed(repr(_canon_scalar(v)))

    walk(root)
    sums["vertex_sum"] = round(sums["vertex_sum"], 3)
    return {
        "digest": h.hexdigest(),
        "counts": dict(sorted(counts.items())),
        "sums": sums,
        # ids the objects carry (received objects have them; freshly built ones do not)
        "ids": ids_digest(ids),
    }


def ids_digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(ids))).encode()).hexdigest()


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def iter_bases(root: Base) -> Iterable[Base]:
    stack: list[Any] = [root]
    while stack:
        v = stack.pop()
        if isinstance(v, Base):
            yield v
            for name in v.get_member_names():
                stack.append(getattr(v, name, None))
        elif isinstance(v, (list, tuple)):
            stack.extend(x for x in v if isinstance(x, (Base, list, tuple, dict)))
        elif isinstance(v, dict):
            stack.extend(x for x in v.values() if isinstance(x, (Base, list, tuple, dict)))
