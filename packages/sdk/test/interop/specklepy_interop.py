"""
The other end of packages/sdk/test/specklepy-interop.atrium.test.ts: real specklepy (the pinned
version) sending to and receiving from the same Atrium as the TypeScript SDK.

    python specklepy_interop.py send    <host:port> <token> <projectId>         → {"id": …}
    python specklepy_interop.py receive <host:port> <token> <projectId> <id>    → a JSON summary

Prints one JSON line on stdout.
"""

import json
import sys

from specklepy.api import operations
from specklepy.api.client import SpeckleClient
from specklepy.objects.base import Base
from specklepy.objects.data_objects import DataObject
from specklepy.objects.geometry import Mesh, Point
from specklepy.objects.models.collections.collection import Collection
from specklepy.transports.memory import MemoryTransport
from specklepy.transports.server import ServerTransport


def connect(host, token):
    client = SpeckleClient(host=host, use_ssl=False)
    client.authenticate_with_token(token)
    return client


def build():
    mesh = Mesh(
        vertices=[float(i % 97) * 0.25 for i in range(3 * 40_000)],
        faces=[v for i in range(20_000) for v in (3, i, i + 1, i + 2)],
        units="mm",
        applicationId="py-mesh",
    )
    wall = DataObject(name="Wall from Python — é/ü", properties={"fire": {"rating": "EI60"}, "height": 3.5}, displayValue=[mesh])
    extra = Base(applicationId="py-extra")
    extra["@(3)levels"] = ["L0", "L1", "L2", "L3"]
    extra["@point"] = Point(x=1.5, y=2.5, z=3.5, units="m")
    extra["count"] = 7
    return Collection(name="python root", elements=[wall, extra], applicationId="py-root")


def summarise(obj):
    """What the TypeScript side checks: types, names and sizes, by walking the received graph."""
    out = {"speckle_type": obj.speckle_type, "applicationId": obj.applicationId, "id": obj.id}
    if isinstance(obj, Collection):
        out["name"] = obj.name
        out["elements"] = [summarise(e) for e in obj.elements]
    for name in obj.get_dynamic_member_names():
        if name in ("id", "totalChildrenCount", "speckle_type"):
            continue
        value = obj[name]
        if isinstance(value, Base):
            out[name] = summarise(value)
        elif isinstance(value, list) and value and isinstance(value[0], Base):
            out[name] = [summarise(v) for v in value]
        else:
            out[name] = value
    if isinstance(obj, Mesh):
        out["vertices"] = len(obj.vertices)
        out["faces"] = len(obj.faces)
        out["vertex_5"] = obj.vertices[5]
    if isinstance(obj, Point):
        out.update(x=obj.x, y=obj.y, z=obj.z, units=obj.units)
    if isinstance(obj, DataObject):
        out["name"] = obj.name
        out["properties"] = obj.properties
        out["displayValue"] = [summarise(v) for v in obj.displayValue]
    return out


def main():
    command, host, token, project_id = sys.argv[1:5]
    client = connect(host, token)
    transport = ServerTransport(stream_id=project_id, client=client)
    if command == "send":
        object_id = operations.send(build(), [transport], use_default_cache=False)
        print(json.dumps({"id": object_id}))
    elif command == "receive":
        received = operations.receive(sys.argv[5], transport, local_transport=MemoryTransport())
        print(json.dumps(summarise(received), default=str))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
