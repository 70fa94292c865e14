"""
Test vectors for @atrium/sdk's serializer, produced by the real specklepy (the version pinned in
conformance/requirements.txt) and ujson.

    /work/main/.venv/bin/python packages/sdk/test/vectors/make_vectors.py

writes packages/sdk/test/vectors/specklepy-objects.json:

- "floats": [bits, text]: ujson's text for the double whose IEEE-754 bit pattern is `bits` (hex);
- "strings": [codepoints, text]: ujson's text for the string made of these code points;
- "cases": one entry per object graph built in build_cases() below (the vitest test builds the same
  graphs in TypeScript, case by case):
    "detached": what operations.send() stores — root id and every record written to the transport, in
                order, repeats included (records longer than 20 000 characters as sha256 + length);
    "inline":   operations.serialize(base) without transports (nothing detached or chunked).

Each graph is built afresh for every serialisation (specklepy rewrites dicts in place while serialising).
"""

import hashlib
import json
import math
import os
import platform
import random
import struct
import sys
from importlib.metadata import version

import ujson
from specklepy.objects.base import Base
from specklepy.objects.data_objects import DataObject
from specklepy.objects.geometry import Line, Mesh, Point, Polyline, Vector
from specklepy.objects.models.collections.collection import Collection
from specklepy.serialization.base_object_serializer import BaseObjectSerializer
from specklepy.transports.memory import MemoryTransport

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specklepy-objects.json")
MAX_INLINE_RECORD = 20_000


class RecordingTransport(MemoryTransport):
    """A memory transport that remembers every write, in order, repeats included."""

    def __init__(self) -> None:
        super().__init__(name="Recording")
        self.writes = []

    def save_object(self, id: str, serialized_object: str) -> None:
        self.writes.append((id, serialized_object))
        super().save_object(id, serialized_object)


# --- custom classes (the TypeScript test declares the same ones) -------------------------------------


class Block(
    Base,
    speckle_type="Tests.Block",
    detachable={"parts"},
    chunkable={"values": 4},
    serialize_ignore={"secret"},
):
    scale: float = 1.0


class SubBlock(Block, speckle_type="Tests.SubBlock"):
    pass


# --- graphs ----------------------------------------------------------------------------------------


def b(**members):
    """A Base with dynamic members (names that are not identifiers go through __setitem__)."""
    obj = Base()
    for k, v in members.items():
        obj[k] = v
    return obj


def case_app_id():
    return Base(applicationId="ASDF")


def case_empty():
    return Base()


def case_primitives():
    o = Base(applicationId="prims")
    o["s"] = "hello"
    o["i"] = 42
    o["neg"] = -7
    o["f"] = 3.14
    o["t"] = True
    o["fl"] = False
    o["none"] = None
    o["zero_f"] = 0.0
    o["one_f"] = 1.0
    o["neg_zero"] = -0.0
    o["max_safe"] = 2**53 - 1
    o["big"] = 2**63
    o["bigger"] = 2**64 + 5
    o["neg_big"] = -(2**63) - 1
    o["tiny"] = 1e-7
    o["huge"] = 1e300
    o["thousand_f"] = 1e15
    o["e16"] = 1e16
    return o


def case_strings():
    o = Base()
    o["ascii"] = "plain text"
    o["slash"] = "a/b/c"
    o["quotes"] = 'say "hi" \\ back'
    o["controls"] = "\x00\x01\b\f\n\r\t\x1f\x7f"
    o["unicode"] = "héllo €uro 日本語 עברית"
    o["emoji"] = "😀🏗️"
    o["lone_surrogate"] = "\ud800x"
    o["separators"] = "\u2028\u2029\u0085"
    o["empty"] = ""
    o["html"] = "<a href='x'>&amp;</a>"
    return o


def case_nested_values():
    o = Base()
    o["list"] = [1, [2, [3, []]], {"b": None, "a": [True, 1.5]}]
    o["dict"] = {"z": 1, "a": {"y": [1, 2], "x": None}}
    o["tuple"] = (1, "two")
    o["numeric_keys"] = {"2": "b", "1": "a", "10": "c"}
    o["empty_list"] = []
    o["empty_dict"] = {}
    o["mixed_numbers"] = [0.0, 0, 1, 1.0, 2.5, -3]
    return o


def case_member_names():
    o = Base()
    o["Zeta"] = 1
    o["alpha"] = 2
    o["_hidden"] = 3
    o["__dunder"] = 4
    o["Ä"] = 5
    o["a b"] = 6
    o["123"] = 7
    o["😀"] = 8
    o["\ufb01"] = 9
    o["~tilde"] = 10
    return o


def case_inline_base():
    o = Base(applicationId="parent")
    kid = Base(applicationId="kid")
    kid["height"] = 3
    o["child"] = kid
    o["list_of_bases"] = [b(x=1), b(x=2)]
    o["dict_with_base"] = {"k": b(y=1), "p": 5}
    return o


def case_detached():
    o = Base()
    o["@child"] = b(val="v")
    o["@list"] = [b(a=1), 5, "s", b(a=1), [b(n=1)], {"k": b(d=1)}]
    o["@none"] = None
    o["@prim"] = 7
    o["after"] = "x"
    return o


def case_nested_detached():
    c = b(level="c")
    bb = b(level="b")
    bb["@c"] = c
    a = b(level="a")
    a["@b"] = bb
    o = Base(applicationId="root")
    o["@a"] = a
    o["@c2"] = c
    inline = b(level="inline")
    inline["@d"] = b(level="d")
    deeper = b(level="deeper")
    deeper["@e"] = b(level="e")
    inline["deeper"] = deeper
    o["inline"] = inline
    return o


def case_shared_child():
    shared = b(name="shared")
    o = Base()
    o["@one"] = shared
    o["@two"] = shared
    o["three"] = [shared]
    return o


def case_chunked_reference():
    o = Base(applicationId="root")
    o["@child"] = Base(applicationId="kid")
    o["@(2)nums"] = [1, 2, 3]
    return o


def case_chunked():
    o = Base()
    o["@()big"] = list(range(2500))
    o["@(3)bases"] = [b(i=i) for i in range(4)]
    o["@(5)empty"] = []
    o["@(1)single"] = ["x"]
    o["@(0)zero"] = [42]
    o["@(2)floats"] = [0.5, 1.0, 2.0]
    o["@(10)nested"] = [[1, 2], {"a": b(q=1)}]
    return o


def case_dict_with_detached_inside():
    inner = b(tag="inner")
    inner["@x"] = b(tag="x")
    o = Base()
    o["props"] = {"first": inner, "n": 1}
    return o


def case_custom_type():
    o = Base.of_type("Custom.Thing", applicationId="ct")
    o["foo"] = 1
    o["@bar"] = Base.of_type("Custom.Other")
    return o


def case_custom_class():
    blk = Block()
    blk.parts = [b(p=1), b(p=2)]
    blk.values = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    blk.scale = 2
    blk.secret = "not serialised"
    blk.label = "block"
    sub = SubBlock()
    sub.parts = []
    sub.values = []
    sub.label = "sub"
    blk["@sub"] = sub
    return blk


def small_mesh():
    return Mesh(
        vertices=[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.5],
        faces=[4, 0, 1, 2, 3],
        colors=[-16777216, -1, 255, 65280],
        units="mm",
        applicationId="mesh-1",
    )


def case_geometry():
    p = Point(x=1, y=2.5, z=0, units="m")
    v = Vector(x=1, y=2, z=3, units="m")
    line = Line(start=Point(x=0, y=0, z=0, units="m"), end=Point(x=1, y=1, z=1, units="m"), units="m")
    poly = Polyline(value=[0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 0.0, 0.5], units="m")
    mesh = small_mesh()
    data = DataObject(name="wall", properties={"height": 3.0, "level": "L1", "tags": ["a", "b"]}, displayValue=[mesh])
    sub = Collection(name="sub", elements=[p, v])
    return Collection(name="root", elements=[mesh, line, poly, data, sub], applicationId="model")


def case_big_mesh():
    n_vertices = 20_000
    vertices = [((i * 0.37) % 101) - 50.5 for i in range(n_vertices * 3)]
    faces = []
    for i in range(17_500):
        faces += [3, i % n_vertices, (i + 1) % n_vertices, (i + 2) % n_vertices]
    colors = [(i * 2654435761) % 4294967296 - 2147483648 for i in range(n_vertices)]
    return Mesh(vertices=vertices, faces=faces, colors=colors, units="m")


CASES = {
    "app_id": case_app_id,
    "empty": case_empty,
    "primitives": case_primitives,
    "strings": case_strings,
    "nested_values": case_nested_values,
    "member_names": case_member_names,
    "inline_base": case_inline_base,
    "detached": case_detached,
    "nested_detached": case_nested_detached,
    "shared_child": case_shared_child,
    "chunked_reference": case_chunked_reference,
    "chunked": case_chunked,
    "dict_with_detached_inside": case_dict_with_detached_inside,
    "custom_type": case_custom_type,
    "custom_class": case_custom_class,
    "geometry": case_geometry,
    "big_mesh": case_big_mesh,
}


def record(obj_id, text):
    if len(text) <= MAX_INLINE_RECORD:
        return {"id": obj_id, "json": text}
    return {"id": obj_id, "sha256": hashlib.sha256(text.encode()).hexdigest(), "length": len(text)}


def run_case(build):
    transport = RecordingTransport()
    root_id, _ = BaseObjectSerializer(write_transports=[transport]).write_json(build())
    detached = {"id": root_id, "records": [record(i, t) for i, t in transport.writes]}
    inline_id, inline_text = BaseObjectSerializer().write_json(build())
    return {"detached": detached, "inline": record(inline_id, inline_text)}


# --- number and string formatting ------------------------------------------------------------------


def float_vectors():
    rng = random.Random(20240611)
    values = [
        0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 0.5, 1.5, 100.0, 123456.789, 1e-4, 1e-5, 1.5e-5,
        0.00015000000000000001, 1e-7, 1e15, 1e16, 1e17, 1e21, 1e22, 9007199254740992.0, 9007199254740993.0,
        123456789012345678.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, math.pi, math.e,
        0.1 + 0.2, 1e-300, 1e300, 4.35, 2.675, 1234567890.0, 999999999999999.9, 9999999999999998.0,
    ]
    values += [10.0**k for k in range(-30, 31)]
    values += [-(10.0**k) * 1.5 for k in range(-30, 31)]
    for _ in range(1500):  # any double: random bit patterns
        bits = rng.getrandbits(64)
        x = struct.unpack(">d", bits.to_bytes(8, "big"))[0]
        if math.isfinite(x):
            values.append(x)
    for _ in range(1500):  # the decimals people type and compute
        k = rng.randint(0, 8)
        values.append(round(rng.uniform(-1e6, 1e6), k))
        values.append(rng.uniform(-1, 1) * 10.0 ** rng.randint(-12, 20))
    for i in range(200):
        values.append(float(i) * 0.1)
    return [[struct.pack(">d", x).hex(), ujson.dumps(x)] for x in values]


def string_vectors():
    samples = ["", "a", "/", "\\", '"', "\x7f", "\x80", "\xff", "\u0100", "\u07ff", "\u0800", "\ufeff", "\uffff",
               "\U00010000", "\U0010ffff", "\ud800", "\udfff", "\ud800\udc00", "\u2028\u2029", "</script>"]
    samples += ["".join(chr(c) for c in range(0, 0x80))]
    samples += ["".join(chr(c) for c in range(0x80, 0x800, 7))]
    rng = random.Random(7)
    for _ in range(100):
        samples.append("".join(chr(rng.choice([rng.randint(0, 0x7f), rng.randint(0x80, 0xffff), rng.randint(0x10000, 0x10ffff)]))
                               for _ in range(rng.randint(1, 12))))
    return [[[ord(ch) for ch in s], ujson.dumps(s)] for s in samples]


def main():
    vectors = {
        "generator": {
            "script": "packages/sdk/test/vectors/make_vectors.py",
            "specklepy": version("specklepy"),
            "ujson": version("ujson"),
            "python": platform.python_version(),
        },
        "floats": float_vectors(),
        "strings": string_vectors(),
        "cases": {name: run_case(build) for name, build in CASES.items()},
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(vectors, f, indent=1, ensure_ascii=True)
        f.write("\n")
    print(f"wrote {OUT}: {len(vectors['floats'])} floats, {len(vectors['strings'])} strings, {len(vectors['cases'])} cases",
          file=sys.stderr)


if __name__ == "__main__":
    main()
