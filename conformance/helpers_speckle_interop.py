"""The model the SDK ↔ specklepy interop tests exchange, built here with specklepy's classes and, member
for member, in conformance/node/interop_model.ts with @atrium/sdk's — so both sides know what the
other sent, and a serializer that reproduces specklepy's ids gives both the same root id.

`interop_summary` is the digest both sides compute of a received tree (the TypeScript twin is
`summary` in interop_model.ts): counts per speckle_type, digests of ids / applicationIds / names,
mesh array lengths and sums, and the properties of the plain Base objects. Values are chosen so that
every sum is exact in binary floating point (multiples of 1/8), so the two languages agree bit for bit.
"""

from __future__ import annotations

import hashlib
from typing import Any

from specklepy.objects.base import Base

BOX_FACES = [4, 0, 3, 2, 1, 4, 4, 5, 6, 7, 4, 0, 1, 5, 4, 4, 1, 2, 6, 5, 4, 2, 3, 7, 6, 4, 3, 0, 4, 7]


def build_interop_model(
    *, levels: int = 4, groups: int = 2, meshes: int = 100, props: int = 50, terrain_side: int = 200, tag: str = "interop"
) -> Base:
    """Collection root → `levels` Collections → `groups` Collections → box Meshes (own vertices and
    colours, shared faces) and Base objects with properties; plus a terrain Mesh whose vertices and
    faces span several chunks. Must stay identical to buildModel() in conformance/node/interop_model.ts."""
    from specklepy.objects.geometry import Mesh
    from specklepy.objects.models.collections.collection import Collection

    level_cols = []
    n = 0
    p = 0
    for lv in range(levels):
        group_cols = []
        for g in range(groups):
            elements: list[Base] = []
            for _ in range(meshes):
                x0 = n * 2.5 + 0.25
                y0 = lv * 10.5
                z0 = (n % 8) * 0.125
                s = 1.0 + (n % 3) * 0.5
                vertices = [
                    x0, y0, z0, x0 + s, y0, z0, x0 + s, y0 + s, z0, x0, y0 + s, z0,
                    x0, y0, z0 + s, x0 + s, y0, z0 + s, x0 + s, y0 + s, z0 + s, x0, y0 + s, z0 + s,
                ]
                colors = [(255 << 24) | ((n * 8 + k) & 0xFFFFFF) for k in range(8)]
                elements.append(
                    Mesh(vertices=vertices, faces=list(BOX_FACES), colors=colors, units="m", applicationId=f"{tag}-mesh-{n}")
                )
                n += 1
            for _ in range(props):
                b = Base(applicationId=f"{tag}-prop-{p}")
                b["name"] = f"element {p} é/ü"
                b["level"] = lv
                b["area"] = p * 0.5 + 0.25
                b["tags"] = [f"t{p % 5}", f"l{lv}"]
                b["isExternal"] = p % 3 == 0
                b["nested"] = {"material": f"mat-{p % 7}", "rating": p % 4}
                elements.append(b)
                p += 1
            group_cols.append(Collection(name=f"group {lv}.{g}", elements=elements))
        level_cols.append(Collection(name=f"level {lv}", elements=group_cols))

    side = terrain_side
    tv: list[float] = []
    for j in range(side):
        for i in range(side):
            tv += (i * 0.5, j * 0.5, ((i * 7 + j * 3) % 11) * 0.125)
    tf: list[int] = []
    for j in range(side - 1):
        for i in range(side - 1):
            a = j * side + i
            tf += (3, a, a + 1, a + side + 1, 3, a, a + side + 1, a + side)
    terrain = Mesh(vertices=tv, faces=tf, units="m", applicationId=f"{tag}-terrain")
    level_cols.append(Collection(name="terrain", elements=[terrain]))
    return Collection(name=f"{tag} root", elements=level_cols, applicationId=f"{tag}-root")


def _h(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def interop_summary(root: Base) -> dict[str, Any]:
    """See the module doc; keep in step with summary() in conformance/node/interop_model.ts."""
    counts: dict[str, int] = {}
    ids: list[str] = []
    app_ids: list[str] = []
    names: list[str] = []
    nested: list[str] = []
    mesh = {"vertices": 0, "vertex_sum": 0.0, "faces": 0, "face_sum": 0, "colors": 0, "color_sum": 0}
    props = {"area_sum": 0.0, "level_sum": 0, "external": 0, "tags": 0}
    seen: set[int] = set()

    def walk(v: Any) -> None:
        if isinstance(v, Base):
            if id(v) in seen:
                return
            seen.add(id(v))
            t = v.speckle_type
            counts[t] = counts.get(t, 0) + 1
            if getattr(v, "id", None):
                ids.append(v.id)
            if getattr(v, "applicationId", None):
                app_ids.append(v.applicationId)
            members = v.get_member_names()
            if "name" in members and isinstance(getattr(v, "name", None), str):
                names.append(v.name)
            if t == "Objects.Geometry.Mesh":
                mesh["vertices"] += len(v.vertices)
                mesh["vertex_sum"] += float(sum(v.vertices))
                mesh["faces"] += len(v.faces)
                mesh["face_sum"] += int(sum(v.faces))
                mesh["colors"] += len(v.colors)
                mesh["color_sum"] += int(sum(v.colors))
                return
            if t == "Base":
                if "area" in members:
                    props["area_sum"] += float(v["area"])
                if "level" in members:
                    props["level_sum"] += int(v["level"])
                if "isExternal" in members and v["isExternal"] is True:
                    props["external"] += 1
                if "tags" in members:
                    props["tags"] += len(v["tags"])
                if "nested" in members and isinstance(v["nested"], dict):
                    nested.append(f"{v['nested'].get('material')}:{v['nested'].get('rating')}")
            for name in sorted(members):
                walk(getattr(v, name, None))
        elif isinstance(v, (list, tuple)):
            for x in v:
                if isinstance(x, (Base, list, tuple)):
                    walk(x)

    walk(root)
    mesh["vertex_sum"] = round(mesh["vertex_sum"], 3)
    props["area_sum"] = round(props["area_sum"], 3)
    return {
        "counts": dict(sorted(counts.items())),
        "ids": _h(ids),
        "app_ids": _h(app_ids),
        "names": _h(names),
        "nested": _h(nested),
        "mesh": mesh,
        "props": props,
    }
