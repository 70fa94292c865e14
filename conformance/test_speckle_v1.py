"""PySpeckle v1 (`speckle` 2.3.0 from PyPI, unmodified) against Atrium's v1 face, with the real client.

Every method of `SpeckleApiClient` the seed (shared/seeds/000) lists is driven here, and each test
checks what came back and what the server then holds, as shared/reference/speckle-v1.md describes the
v1 server. Runs in .venv-v1 (scripts/python-env-v1.sh; the client needs pydantic 1), so it uses no
specklepy; the v3 side of "one account for v1 and v3" is checked with raw GraphQL over requests.

Run: .venv-v1/bin/python -m pytest -p test_speckle_v1_env conformance/test_speckle_v1.py
     (PYTHONPATH=conformance; scripts/test-all.sh does this on SQLite and PostgreSQL)
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import threading
import time
from typing import Any, Callable

import pytest
import requests

speckle = pytest.importorskip(
    "speckle", reason="the PySpeckle v1 client lives in .venv-v1 (bash scripts/python-env-v1.sh)"
)
from speckle import SpeckleApiClient  # noqa: E402
from speckle.base.resource import Comment  # noqa: E402
from speckle.resources.api_clients import ApiClient  # noqa: E402
from speckle.resources.objects import SpeckleObject  # noqa: E402
from speckle.resources.projects import Project  # noqa: E402
from speckle.resources.streams import Stream  # noqa: E402

ADMIN_EMAIL = "admin@example.com"  # made by conftest's admin_user fixture
OBJECT_ID_RE = re.compile(r"^[0-9a-f]{24}$")
TOKEN_RE = re.compile(r"^JWT [0-9a-f]{42}$")
PASSWORD = "v1-conformance-" + secrets.token_hex(4)
NO_PERMISSION = "You do not have permissions to view this object"


# ---------------------------------------------------------------------------------------------- helpers


def new_client(server) -> SpeckleApiClient:
    return SpeckleApiClient(host=server.host, use_ssl=False)


def logged_in(server, email: str, password: str = PASSWORD) -> SpeckleApiClient:
    c = new_client(server)
    c.login(email=email, password=password)
    return c


def http_error(fn: Callable[[], Any]) -> requests.Response:
    """Runs a client call that must fail with an HTTP status; returns the server's response."""
    with pytest.raises(requests.HTTPError) as info:
        fn()
    return info.value.response


def envelope(resp: requests.Response) -> dict:
    body = resp.json()
    assert body["success"] is False, body
    assert isinstance(body["message"], str) and body["message"], body
    return body


def raw(server, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    return requests.request(method, f"{server.url}/api/v1{path}", headers=headers, timeout=30, **kw)


def stream_doc(server, token: str, stream_id: str) -> dict:
    r = raw(server, "GET", f"/streams/{stream_id}", token)
    assert r.status_code == 200, r.text
    return r.json()["resource"]


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def v1(server, admin_user) -> dict[str, Any]:
    """Three people registered through the v1 client (after the CLI-made admin, so none is admin)."""
    tag = secrets.token_hex(3)
    people: dict[str, Any] = {}
    for who, (name, surname, company) in {
        "alice": ("Alice", "Archer", "Acme"),
        "bob": ("Bob", "Builder", "Bobco"),
        "carol": ("Carol", "Carver", "Carpentry"),
    }.items():
        email = f"{who}-{tag}@example.com"
        c = new_client(server)
        c.register(email=email, password=PASSWORD, company=company, name=name, surname=surname)
        people[who] = {"email": email, "id": c.me["_id"], "client": c, "name": name, "surname": surname}
    return people


@pytest.fixture(scope="session")
def people(v1) -> dict[str, Any]:
    return v1


@pytest.fixture
def admin(server, admin_user) -> SpeckleApiClient:
    return logged_in(server, admin_user["email"], admin_user["password"])


# ---------------------------------------------------------------------------------------------- accounts


def test_register_logs_in_with_jwt_tokens(server, people):
    """register() posts the account, then login(): `me` is the user document plus a `JWT …` token."""
    me = people["alice"]["client"].me
    assert TOKEN_RE.match(me["token"]), me["token"]
    assert TOKEN_RE.match(me["apitoken"]), "login answers a long-lived apitoken too"
    assert me["email"] == people["alice"]["email"]
    assert (me["name"], me["surname"], me["company"]) == ("Alice", "Archer", "Acme")
    assert me["role"] == "user" and me["archived"] is False
    assert "password" not in me
    # the client now sends the token on every call
    assert people["alice"]["client"].token == me["token"]
    assert people["alice"]["client"].s.headers["content-type"] == "application/json"


def test_register_errors_are_envelopes_and_store_nothing(server, people):
    c = new_client(server)
    with pytest.raises(AssertionError, match="Email taken. Please login. Thanks!"):
        c.register(email=people["alice"]["email"], password=PASSWORD, company="X")
    short = f"short-{secrets.token_hex(3)}@example.com"
    with pytest.raises(AssertionError, match="Password too short."):
        c.register(email=short, password="1234567", company="X")
    # nothing was stored for the refused account
    with pytest.raises(AssertionError, match="Invalid credentials."):
        c.login(email=short, password="1234567")
    r = raw(server, "POST", "/accounts/register", json={"password": PASSWORD})
    assert r.status_code == 400 and envelope(r)


def test_login_errors(server, people):
    c = new_client(server)
    with pytest.raises(AssertionError, match="Invalid credentials."):
        c.login(email=people["bob"]["email"], password=PASSWORD + "x")
    with pytest.raises(AssertionError, match="Invalid credentials."):
        c.login(email=f"nobody-{secrets.token_hex(3)}@example.com", password=PASSWORD)
    r = raw(server, "POST", "/accounts/login", json={"email": people["bob"]["email"], "password": "wrong-password"})
    assert r.status_code == 401 and envelope(r)["message"] == "Invalid credentials."
    assert c.me is None


def test_login_with_token_and_token_property(server, people):
    token = logged_in(server, people["bob"]["email"]).me["token"]
    c = new_client(server)
    c.login_with_token(token)
    assert c.me["email"] == people["bob"]["email"]
    assert (c.me["name"], c.me["surname"], c.me["company"]) == ("Bob", "Builder", "Bobco")
    assert c.me["token"] == token and c.token == token
    with pytest.raises(ValueError):
        new_client(server).login_with_token(token.split(" ", 1)[1])  # the client insists on "JWT"
    # the token property sets the header used by every later call
    c2 = new_client(server)
    c2.token = token
    assert c2.accounts.get_profile()["email"] == people["bob"]["email"]
    c2.token = "JWT " + "0" * 42
    assert http_error(c2.accounts.get_profile).status_code == 401


def test_get_and_update_profile(server, people):
    c = logged_in(server, people["carol"]["email"])
    profile = c.accounts.get_profile()
    assert profile["_id"] == people["carol"]["id"]
    assert profile["email"] == people["carol"]["email"]
    assert "password" not in profile and "apitoken" not in profile
    answer = c.accounts.update_profile({"name": "Caroline", "surname": "Carpenter", "company": "Joinery", "role": "admin"})
    assert answer == {"success": True, "message": "User profile updated."}
    after = c.accounts.get_profile()
    assert (after["name"], after["surname"], after["company"]) == ("Caroline", "Carpenter", "Joinery")
    assert after["role"] == "user", "role is not a profile field"
    # falsy values are ignored, as v1 did
    c.accounts.update_profile({"name": "", "company": None})
    assert c.accounts.get_profile()["name"] == "Caroline"
    # a malformed value changes nothing
    r = http_error(lambda: c.accounts.update_profile({"name": "Carla", "surname": ["not", "a", "string"]}))
    assert r.status_code == 400 and envelope(r)
    assert c.accounts.get_profile()["name"] == "Caroline"
    c.accounts.update_profile({"name": "Carol", "surname": "Carver", "company": "Carpentry"})


def test_get_account_by_id(server, people, admin):
    a = logged_in(server, people["alice"]["email"])
    bob = a.accounts.get(people["bob"]["id"])
    assert bob["_id"] == people["bob"]["id"]
    assert (bob["name"], bob["surname"], bob["company"]) == ("Bob", "Builder", "Bobco")
    assert bob["archived"] is False
    assert "email" not in bob, "other users' emails are not exposed"
    assert admin.accounts.get(people["bob"]["id"])["email"] == people["bob"]["email"]
    r = http_error(lambda: a.accounts.get("0" * 24))
    assert r.status_code == 400 and envelope(r)


def test_search_uses_the_clients_missing_slash(server, people):
    """accounts.search() posts to /api/v1/accountssearch (no slash): Atrium answers it."""
    a = logged_in(server, people["alice"]["email"])
    found = a.accounts.search("builder")
    assert [u["_id"] for u in found] == [people["bob"]["id"]]
    assert found[0]["name"] == "Bob" and found[0]["surname"] == "Builder"
    by_email = a.accounts.search(people["carol"]["email"].split("@")[0])
    assert people["carol"]["id"] in [u["_id"] for u in by_email]
    r = http_error(lambda: a.accounts.search("ab"))
    assert r.status_code == 400
    assert envelope(r)["message"] == "no search criteria present, or too short search string (must be > 2)."


def test_set_role_needs_an_admin(server, people, admin):
    bob = logged_in(server, people["bob"]["email"])
    r = http_error(lambda: bob.accounts.set_role(people["carol"]["id"], "admin"))
    assert r.status_code == 401 and r.text == "Only admins can access this route"
    assert admin.accounts.set_role(people["carol"]["id"], "admin") == {"success": True, "message": "User profile updated."}
    assert logged_in(server, people["carol"]["email"]).accounts.get_profile()["role"] == "admin"
    r = http_error(lambda: admin.accounts.set_role(people["carol"]["id"], "emperor"))
    assert r.status_code == 400 and envelope(r)
    admin.accounts.set_role(people["carol"]["id"], "user")
    assert logged_in(server, people["carol"]["email"]).accounts.get_profile()["role"] == "user"


def test_one_account_for_v1_and_v3(server, admin_user, admin_token, graphql):
    """The CLI-made admin logs in through v1 with the same password; the v1 token works on GraphQL and
    a v3 personal access token works on v1 (as `JWT <token>`)."""
    c = logged_in(server, admin_user["email"], admin_user["password"])
    assert c.me["role"] == "admin"
    v1_token = c.me["token"].split(" ", 1)[1]
    answer = graphql("query { activeUser { id email } }", token=v1_token).json()
    assert answer["data"]["activeUser"] == {"id": c.me["_id"], "email": admin_user["email"]}
    pat = new_client(server)
    pat.login_with_token("JWT " + admin_token)
    assert pat.me["email"] == admin_user["email"]
    assert pat.streams.list() is not None


def test_unauthenticated_calls_get_v1s_plain_401(server):
    c = new_client(server)
    r = http_error(c.streams.list)
    assert r.status_code == 401 and r.text == "Unauthorized"
    r = raw(server, "GET", "/accounts/", "JWT not-a-token")
    assert r.status_code == 401 and r.text == "Unauthorized"


# ---------------------------------------------------------------------------------------------- streams


def point(x: float, **extra) -> dict:
    return {"type": "Point", "name": f"p{x}", "value": [x, 0, 0], "properties": {"x": x}, **extra}


def test_stream_create_get_list(server, people):
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Facade", "description": "panels", "tags": ["a"], "objects": [point(1), point(2)]})
    assert isinstance(s, Stream)
    assert s.name == "Facade" and s.description == "panels" and s.tags == ["a"]
    assert s.owner == people["alice"]["id"] and s.private is True
    assert OBJECT_ID_RE.match(s.id) and re.match(r"^[A-Za-z0-9]{6,14}$", s.streamId)
    assert [o.type for o in s.objects] == ["Placeholder", "Placeholder"]
    assert s.baseProperties.units == "Meters", "the client's schema default is stored"

    got = a.streams.get(s.streamId)
    assert got.id == s.id and [o.id for o in got.objects] == [o.id for o in s.objects]
    # no layers: v1 delivers one generated default layer over all objects
    assert len(got.layers) == 1 and got.layers[0].name == "Default Generated Speckle Layer"
    assert got.layers[0].objectCount == 2 and got.layers[0].topology == "0;0-2 "

    listed = {x.streamId: x for x in a.streams.list()}
    assert s.streamId in listed and listed[s.streamId].objects == [], "list() omits objects"
    fields = a.streams.get(s.streamId, query={"fields": "name"})
    assert fields.name == "Facade" and fields.description is None

    # another user cannot read a private stream
    b = logged_in(server, people["bob"]["email"])
    r = http_error(lambda: b.streams.get(s.streamId))
    assert r.status_code == 401 and envelope(r)
    assert s.streamId not in [x.streamId for x in b.streams.list()]
    r = http_error(lambda: a.streams.get("nosuchstream"))
    assert r.status_code == 404 and envelope(r)


def test_stream_update_replaces_objects_and_layers_as_v1(server, people):
    """The client's schema injects `objects: []` and `layers: []` into every update: v1 empties them."""
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Roof", "objects": [point(1)], "layers": [{"guid": "roof-layer", "name": "L", "objectCount": 1, "topology": "0;0-1 "}]})
    answer = a.streams.update(s.streamId, {"name": "Roof v2", "private": False})
    assert answer["success"] is True
    assert answer["message"].startswith("Patched stream fields: ") and "name" in answer["message"] and "objects" in answer["message"]
    doc = stream_doc(server, a.token, s.streamId)
    assert doc["name"] == "Roof v2" and doc["private"] is False
    assert doc["objects"] == [] and doc["layers"][0]["name"] == "Default Generated Speckle Layer"
    assert doc["commitMessage"] == "Modified stream"
    # new objects in an update are saved and become the stream's list
    a.streams.update(s.streamId, {"objects": [point(7), point(8)]})
    assert len(stream_doc(server, a.token, s.streamId)["objects"]) == 2

    # a public stream is readable by anyone, writable only by its writers
    b = logged_in(server, people["bob"]["email"])
    assert b.streams.get(s.streamId).name == "Roof v2"
    anonymous = new_client(server)
    assert anonymous.streams.get(s.streamId).name == "Roof v2"
    r = http_error(lambda: b.streams.update(s.streamId, {"name": "hijacked"}))
    assert r.status_code == 400 and "authorised" in envelope(r)["message"]
    # malformed input stores nothing
    r = http_error(lambda: a.streams.update(s.streamId, {"name": "bad", "canRead": ["0" * 24]}))
    assert r.status_code == 400 and envelope(r)
    assert stream_doc(server, a.token, s.streamId)["name"] == "Roof v2"
    r = raw(server, "PUT", f"/streams/{s.streamId}", a.token, json={"name": "bad", "objects": [{"type": "Placeholder", "_id": "f" * 24}]})
    assert r.status_code == 400 and envelope(r)
    assert stream_doc(server, a.token, s.streamId)["name"] == "Roof v2"


def test_stream_clone_and_diff(server, people):
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Base", "objects": [point(1), point(2)], "layers": [{"guid": "g-1", "name": "L1"}]})
    clone, parent = a.streams.clone(s.streamId)
    assert isinstance(clone, Stream) and isinstance(parent, Stream)
    assert clone.name == "Base (clone)" and clone.parent == s.streamId
    assert clone.streamId != s.streamId and clone.id != s.id
    assert parent.streamId == s.streamId and clone.streamId in parent.children
    named, _ = a.streams.clone(s.streamId, name="Base backup")
    assert named.name == "Base backup"

    a.streams.update(clone.streamId, {"objects": [{"type": "Placeholder", "_id": stream_doc(server, a.token, s.streamId)["objects"][0]["_id"]}, point(3)]})
    d = a.streams.diff(s.streamId, clone.streamId)
    assert d["success"] is True
    base_ids = [o["_id"] for o in stream_doc(server, a.token, s.streamId)["objects"]]
    clone_ids = [o["_id"] for o in stream_doc(server, a.token, clone.streamId)["objects"]]
    assert d["objects"]["common"] == [base_ids[0]]
    assert d["objects"]["inA"] == [base_ids[1]]
    assert d["objects"]["inB"] == [clone_ids[1]]
    assert [layer["guid"] for layer in d["layers"]["inA"]] == ["g-1"]
    r = http_error(lambda: a.streams.diff(s.streamId, s.streamId))
    assert r.status_code == 400 and envelope(r)

    # bob clones a stream he can read: he owns the clone, alice can read it
    a.streams.update(s.streamId, {"private": False})
    b = logged_in(server, people["bob"]["email"])
    bobs, _ = b.streams.clone(s.streamId)
    assert bobs.owner == people["bob"]["id"] and bobs.canRead == [people["alice"]["id"]] and bobs.canWrite == []


def test_stream_list_objects_and_clients(server, people):
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Objects", "objects": [point(1, applicationId="app-1"), point(2)]})
    objects = a.streams.list_objects(s.streamId)
    assert all(isinstance(o, SpeckleObject) for o in objects)
    assert [o.name for o in objects] == ["p1", "p2"] and objects[0].applicationId == "app-1"
    assert objects[0].properties == {"x": 1} and re.match(r"^[0-9a-f]{32}$", objects[0].hash)
    assert objects[0].geometryHash, "the client's geometryHash is stored"
    only = a.streams.list_objects(s.streamId, query={"fields": "name"})
    assert [o.name for o in only] == ["p1", "p2"] and only[0].properties is None

    created = a.api_clients.create({"streamId": s.streamId, "role": "Sender", "documentName": "model.3dm", "documentType": "Rhino"})
    clients = a.streams.list_clients(s.streamId)
    assert [cl.id for cl in clients] == [created.id]
    assert isinstance(clients[0], ApiClient) and clients[0].documentName == "model.3dm" and clients[0].role == "Sender"

    b = logged_in(server, people["bob"]["email"])
    assert http_error(lambda: b.streams.list_objects(s.streamId)).status_code == 404
    r = http_error(lambda: b.streams.list_clients(s.streamId))
    assert r.status_code == 401 and envelope(r)


def test_stream_delete(server, people):
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Doomed", "canWrite": [people["bob"]["id"]]})
    # (clone after any update: the client's schema sends `children: []` with every update)
    child, _ = a.streams.clone(s.streamId)
    b = logged_in(server, people["bob"]["email"])
    r = http_error(lambda: b.streams.delete(s.streamId))
    assert r.status_code == 404 and envelope(r)["message"] == "You do not own the stream."
    answer = a.streams.delete(s.streamId)
    assert answer["success"] is True
    assert answer["message"] == f"Stream {s.streamId} and its children have been deleted."
    assert sorted(answer["deletedStreams"]) == sorted([child.streamId, s.streamId])
    assert http_error(lambda: a.streams.get(s.streamId)).status_code == 404
    assert http_error(lambda: a.streams.get(child.streamId)).status_code == 404
    assert http_error(lambda: a.streams.delete(s.streamId)).status_code == 404


def test_stream_comments(server, people):
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Talk"})
    comment = a.streams.comment_create(s.streamId, {"text": "first", "labels": ["review"]})
    assert isinstance(comment, Comment)
    assert comment.text == "first" and comment.labels == ["review"] and comment.owner == people["alice"]["id"]
    assert comment.resource.resourceType == "streams" and comment.resource.resourceId == s.streamId
    listed = a.streams.comment_get(s.streamId)
    assert [x.id for x in listed] == [comment.id] and listed[0].text == "first"
    assert stream_doc(server, a.token, s.streamId)["comments"] == [comment.id]
    b = logged_in(server, people["bob"]["email"])
    r = http_error(lambda: b.streams.comment_create(s.streamId, {"text": "intrusion"}))
    assert r.status_code == 401 and envelope(r)
    assert len(a.streams.comment_get(s.streamId)) == 1


# ---------------------------------------------------------------------------------------------- objects


def test_objects_create_get_bulk(server, people):
    a = logged_in(server, people["alice"]["email"])
    created = a.objects.create([point(10), point(11)])
    assert [o.type for o in created] == ["Placeholder", "Placeholder"] and all(OBJECT_ID_RE.match(o.id) for o in created)
    one = a.objects.create(point(12))
    assert len(one) == 1
    # the same object again is not stored twice (v1 de-duplicates by hash)
    assert a.objects.create(point(10))[0].id == created[0].id

    got = a.objects.get(created[0].id)
    assert got.id == created[0].id and got.type == "Point" and got.name == "p10"
    assert got.properties == {"x": 10} and got.owner == people["alice"]["id"]
    assert got.value == [10, 0, 0], "unknown fields are stored and returned"

    private = a.objects.create({"type": "Secret", "private": True, "properties": {"k": 1}})[0]
    missing = "0" * 24
    bulk = a.objects.get_bulk([created[1].id, missing, created[0].id])
    assert [o.id for o in bulk] == [created[1].id, missing, created[0].id], "in request order"
    assert bulk[0].name == "p11" and bulk[1].type == "String" and bulk[1].value == NO_PERMISSION
    b = logged_in(server, people["bob"]["email"])
    seen = b.objects.get_bulk([private.id, created[0].id])
    assert seen[0].type == "String" and seen[0].value == NO_PERMISSION and seen[1].name == "p10"
    assert http_error(lambda: b.objects.get(private.id)).status_code == 400
    slim = a.objects.get_bulk([created[0].id], query={"fields": "name"})
    assert slim[0].name == "p10" and slim[0].properties is None

    with pytest.raises(AttributeError):
        a.objects.list()  # the client calls self.make_query, which it does not define: no request is sent


def test_objects_update_properties_delete(server, people):
    a = logged_in(server, people["alice"]["email"])
    oid = a.objects.create({"type": "Box", "name": "b", "properties": {"w": 1}})[0].id
    assert a.objects.update(oid, {"name": "box", "properties": {"w": 2, "h": 3}}) == {"success": True, "message": "Object updated."}
    got = a.objects.get(oid)
    assert got.name == "box" and got.properties == {"w": 2, "h": 3}
    assert a.objects.set_properties(oid, {"d": 4}) == {"success": True, "message": "Object properties updated."}
    props = a.objects.get(oid).properties
    assert props["w"] == 2 and props["h"] == 3 and props["d"] == 4
    assert "geometryHash" in props, "the client's schema adds geometryHash to the body, and v1 merges it in"

    b = logged_in(server, people["bob"]["email"])
    r = http_error(lambda: b.objects.update(oid, {"name": "mine"}))
    assert r.status_code == 400 and "authorised" in envelope(r)["message"]
    r = http_error(lambda: b.objects.delete(oid))
    assert r.status_code == 404 and envelope(r)
    assert a.objects.get(oid).name == "box"
    assert a.objects.delete(oid) == {"success": True, "message": "Object was deleted. Bye bye data."}
    assert http_error(lambda: a.objects.get(oid)).status_code == 400


def test_object_comments(server, people):
    a = logged_in(server, people["alice"]["email"])
    oid = a.objects.create({"type": "Beam", "properties": {"l": 5}})[0].id
    c1 = a.objects.comment_create(oid, {"text": "too long"})
    assert c1.resource.resourceType == "objects" and c1.resource.resourceId == oid
    assert [x.text for x in a.objects.comment_get(oid)] == ["too long"]
    assert a.objects.get(oid).comments == [c1.id]


# ---------------------------------------------------------------------------------------------- projects


def test_projects_crud(server, people):
    a = logged_in(server, people["alice"]["email"])
    p = a.projects.create({"name": "Tower", "description": "a tower", "tags": ["t"]})
    assert isinstance(p, Project) and OBJECT_ID_RE.match(p.id)
    assert p.name == "Tower" and p.owner == people["alice"]["id"] and p.streams == [] and p.tags == ["t"]
    assert p.permissions.canRead == [] and p.permissions.canWrite == []
    assert a.projects.get(p.id).description == "a tower"
    assert p.id in [x.id for x in a.projects.list()]
    answer = a.projects.update(p.id, {"description": "a taller tower"})
    assert answer == {"success": True, "message": f"Patched description,tags,streams for {p.id}."}
    assert a.projects.get(p.id).description == "a taller tower"
    b = logged_in(server, people["bob"]["email"])
    assert http_error(lambda: b.projects.get(p.id)).status_code == 401
    assert p.id not in [x.id for x in b.projects.list()]
    assert http_error(lambda: b.projects.update(p.id, {"name": "mine"})).status_code == 401
    assert http_error(lambda: b.projects.delete(p.id)).status_code == 400
    answer = a.projects.delete(p.id)
    assert answer["success"] is True and answer["message"] == "Project was permanently deleted."
    assert http_error(lambda: a.projects.get(p.id)).status_code == 404


def test_project_streams_and_users_propagate_permissions(server, people):
    a = logged_in(server, people["alice"]["email"])
    bob_id, carol_id = people["bob"]["id"], people["carol"]["id"]
    p = a.projects.create({"name": "Shared"})
    s = a.streams.create({"name": "In project"})

    added = a.projects.add_stream(p.id, s.streamId)
    assert added["success"] is True and added["project"]["streams"] == [s.streamId]
    assert added["stream"]["streamId"] == s.streamId

    answer = a.projects.add_user(p.id, bob_id)
    assert answer["success"] is True and bob_id in answer["message"]
    doc = stream_doc(server, a.token, s.streamId)
    assert bob_id in doc["canWrite"], "add_user: write on every project stream"
    project = a.projects.get(p.id)
    assert bob_id in project.canRead and bob_id in project.permissions.canWrite
    b = logged_in(server, people["bob"]["email"])
    assert b.streams.get(s.streamId).name == "In project"
    assert p.id in [x.id for x in b.projects.list()]

    down = a.projects.downgrade_user(p.id, bob_id)
    assert down["streamsToAddReadAndPullWrite"] == [s.streamId]
    doc = stream_doc(server, a.token, s.streamId)
    assert bob_id not in doc["canWrite"] and bob_id in doc["canRead"]
    assert bob_id in down["project"]["permissions"]["canRead"] and bob_id not in down["project"]["permissions"]["canWrite"]

    assert a.projects.upgrade_user(p.id, carol_id)["success"] is True
    doc = stream_doc(server, a.token, s.streamId)
    assert carol_id in doc["canWrite"] and carol_id in doc["canRead"]

    removed = a.projects.remove_user(p.id, bob_id)
    assert removed["streamsToPullReadFrom"] == [s.streamId] and removed["streamsToPullBothFrom"] == []
    assert bob_id not in stream_doc(server, a.token, s.streamId)["canRead"]
    assert http_error(lambda: b.streams.get(s.streamId)).status_code == 401

    gone = a.projects.remove_stream(p.id, s.streamId)
    assert gone["project"]["streams"] == []
    doc = stream_doc(server, a.token, s.streamId)
    assert carol_id not in doc["canWrite"] and carol_id not in doc["canRead"]

    # unknown ids and other users' streams change nothing
    assert http_error(lambda: a.projects.add_user(p.id, "0" * 10)).status_code == 404
    bobs = b.streams.create({"name": "Bob's"})
    r = http_error(lambda: a.projects.add_stream(p.id, bobs.streamId))
    assert r.status_code == 400 and "authorised" in envelope(r)["message"]
    assert a.projects.get(p.id).streams == []

    # deleting a project pulls its grants from its streams
    a.projects.add_stream(p.id, s.streamId)
    a.projects.upgrade_user(p.id, bob_id)
    assert bob_id in stream_doc(server, a.token, s.streamId)["canWrite"]
    deleted = a.projects.delete(p.id)
    assert [m["streamId"] for m in deleted["modifiedStreams"]] == [s.streamId]
    assert bob_id not in stream_doc(server, a.token, s.streamId)["canWrite"]


def test_project_comments(server, people):
    a = logged_in(server, people["alice"]["email"])
    p = a.projects.create({"name": "Discussed"})
    c1 = a.projects.comment_create(p.id, {"text": "kick-off"})
    assert c1.resource.resourceType == "projects" and c1.resource.resourceId == p.id
    assert [x.id for x in a.projects.comment_get(p.id)] == [c1.id]


# ---------------------------------------------------------------------------------------------- API clients


def test_api_clients(server, people):
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Connected"})
    created = a.api_clients.create({"role": "Hybrid", "documentName": "Test", "documentType": "DataServer",
                                    "documentLocation": "http://some.server.com", "online": True, "streamId": s.streamId})
    assert isinstance(created, ApiClient) and OBJECT_ID_RE.match(created.id)
    assert created.documentName == "Test" and created.online is True and created.owner == people["alice"]["id"]
    assert re.match(r"^[0-9a-f-]{36}$", created.documentGuid), "the client's schema makes a uuid4"

    got = a.api_clients.get(created.id)
    assert got.id == created.id and got.role == "Hybrid"
    assert got.owner.id == people["alice"]["id"] and got.owner.name == "Alice", "owner is populated"
    assert created.id in [x.id for x in a.api_clients.list()]

    answer = a.api_clients.update(created.id, {"documentName": "newTest", "documentLocation": "https://x"})
    assert answer["success"] is True
    assert answer["message"].startswith("Client updated following fields: documentName,documentLocation")
    assert a.api_clients.get(created.id).documentName == "newTest"

    b = logged_in(server, people["bob"]["email"])
    assert http_error(lambda: b.api_clients.get(created.id)).status_code == 400
    assert http_error(lambda: b.api_clients.delete(created.id)).status_code == 404
    assert created.id not in [x.id for x in b.api_clients.list()]
    r = http_error(lambda: b.api_clients.create({"streamId": s.streamId}))
    assert r.status_code == 400 and envelope(r), "a client may only name a stream its owner can read"

    # an anonymous caller gets a temporary id and nothing is stored
    anon = new_client(server).api_clients.create({"streamId": s.streamId})
    assert anon.id.startswith("temp-") and OBJECT_ID_RE.match(anon.id[5:])
    assert a.api_clients.delete(created.id) == {"success": True, "message": "Client was deleted! Bye bye data."}
    assert http_error(lambda: a.api_clients.get(created.id)).status_code == 400


# ---------------------------------------------------------------------------------------------- comments


def test_comments_resource(server, people):
    a = logged_in(server, people["alice"]["email"])
    b = logged_in(server, people["bob"]["email"])
    s = a.streams.create({"name": "Issues", "canRead": [people["bob"]["id"]]})
    issue = a.streams.comment_create(s.streamId, {"text": "fix the roof", "assignedTo": [people["bob"]["id"]], "priority": "high"})

    assert a.comments.get(issue.id).text == "fix the roof"
    assert b.comments.get(issue.id).priority == "high", "readers of the stream read its comments"
    assert issue.id in [x.id for x in a.comments.list()]
    assigned = b.comments.assigned()
    assert issue.id in [x.id for x in assigned] and all(isinstance(x, Comment) for x in assigned)
    assert issue.id in [x.id for x in b.comments.list()], "list(): owned or assigned"

    reply = b.comments.comment_create(issue.id, {"text": "on it"})
    assert reply.resource.resourceType == "comments" and reply.resource.resourceId == issue.id
    assert [x.text for x in a.comments.comment_get(issue.id)] == ["on it"]
    assert a.comments.get(issue.id).comments == [reply.id]

    answer = a.comments.update(issue.id, {"closed": True, "status": "done"})
    assert answer == {"success": True, "message": "Comment edited", "fields": ["closed", "status"]}
    assert a.comments.get(issue.id).closed is True
    r = http_error(lambda: b.comments.update(issue.id, {"text": "rewritten"}))
    assert r.status_code == 401 and envelope(r)
    r = http_error(lambda: b.comments.delete(issue.id))
    assert r.status_code == 404 and envelope(r)
    c = logged_in(server, people["carol"]["email"])
    assert http_error(lambda: c.comments.get(issue.id)).status_code == 401

    assert a.comments.delete(issue.id) == {"success": True, "message": "Comment deleted."}
    assert http_error(lambda: a.comments.get(issue.id)).status_code == 404
    assert http_error(lambda: a.comments.get(reply.id)).status_code == 404, "replies go with their comment"
    assert a.streams.comment_get(s.streamId) == []


# ---------------------------------------------------------------------------------------------- quirks


def test_client_quirks_are_accepted(server, people):
    a = logged_in(server, people["alice"]["email"])
    # JSON content type on bodiless GET/DELETE (the client's session header) — every call above; raw:
    r = requests.get(f"{server.url}/api/v1/streams", headers={"Authorization": a.token, "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["success"] is True
    r = requests.put(f"{server.url}/api/v1/accounts/", headers={"Authorization": a.token, "Content-Type": "application/json"}, data=b"")
    assert r.status_code == 200 and r.json() == {"success": True, "message": "User profile updated."}
    # v1 mounted its router at /api too, and tolerated trailing slashes
    r = requests.get(f"{server.url}/api/streams/", headers={"Authorization": a.token})
    assert r.status_code == 200 and r.json()["success"] is True
    # malformed JSON is an envelope
    r = requests.post(f"{server.url}/api/v1/streams/", headers={"Authorization": a.token, "Content-Type": "application/json"}, data=b"{nope")
    assert r.status_code == 400 and envelope(r)
    # the server description v1 clients probe
    d = requests.get(f"{server.url}/api/v1/").json()
    assert d["isSpeckleServer"] is True and d["version"] == "1.x.x" and d["api"]["streams"]
    assert requests.get(f"{server.url}/api/v0/streams").status_code == 410


# ---------------------------------------------------------------------------------------------- websockets


class Socket:
    """`client.websockets(…)` run in a thread, collecting what the server sends."""

    def __init__(self, client: SpeckleApiClient, stream_id: str, client_id: str | None = None):
        self.messages: "queue.Queue[str]" = queue.Queue()
        self.opened = threading.Event()
        self.closed = threading.Event()
        self.errors: list[Any] = []
        self.app = client.websockets(
            stream_id,
            client_id=client_id,
            on_open=lambda ws: self.opened.set(),
            on_message=lambda ws, m: self.messages.put(m),
            on_error=lambda ws, e: self.errors.append(e),
            on_close=lambda *args: self.closed.set(),
        )
        self.thread = threading.Thread(target=self.app.run_forever, daemon=True)
        self.thread.start()
        assert self.opened.wait(10), f"websocket did not open: {self.errors}"

    def send(self, message: Any) -> None:
        self.app.send(message if isinstance(message, str) else json.dumps(message))

    def expect(self, predicate: Callable[[str], bool], timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                m = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if predicate(m):
                return m
            seen.append(m)
        raise AssertionError(f"no matching message within {timeout}s; got {seen}")

    def nothing(self, predicate: Callable[[str], bool], wait: float = 1.0) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                m = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return
            assert not predicate(m), f"unexpected message {m!r}"

    def barrier(self) -> None:
        """Waits until the server has handled everything this socket sent before."""
        self.send({"eventName": "join", "resourceType": "objects", "resourceId": "barrier"})
        self.expect(lambda m: m == "Resource not found.")

    def ready(self, stream_id: str) -> None:
        """Joins the stream's resource room and waits for the answer: the socket is set up."""
        self.send({"eventName": "join", "resourceType": "streams", "resourceId": stream_id})
        self.expect(lambda m: m.startswith("{") and json.loads(m).get("roomName") == f"streams-{stream_id}")

    def close(self) -> None:
        self.app.close()
        self.thread.join(5)


def test_websockets_broadcast_message_join_leave(server, people):
    a = logged_in(server, people["alice"]["email"])
    b = logged_in(server, people["bob"]["email"])
    s = a.streams.create({"name": "Live", "canRead": [people["bob"]["id"]]})
    alice = Socket(a, s.streamId)  # no client_id: the helper creates an API client first
    assert s.streamId in [cl.streamId for cl in a.streams.list_clients(s.streamId)]
    bob_client = b.api_clients.create({"streamId": s.streamId, "role": "Receiver"})
    bob = Socket(b, s.streamId, client_id=bob_client.id)
    try:
        alice.ready(s.streamId)
        bob.ready(s.streamId)
        hello = json.dumps({"eventName": "broadcast", "streamId": s.streamId, "args": {"eventType": "update-global", "n": 1}})
        bob.send(hello)
        assert alice.expect(lambda m: "update-global" in m) == hello, "the raw message is forwarded"
        bob.nothing(lambda m: "update-global" in m)  # not echoed to the sender

        direct = json.dumps({"eventName": "message", "recipientId": bob_client.id, "args": {"eventType": "compute-request"}})
        alice.send(direct)
        assert bob.expect(lambda m: "compute-request" in m) == direct

        alice.send({"eventName": "join", "resourceType": "streams", "resourceId": s.streamId})
        alice.expect(lambda m: m == "You already joined that room.")
        alice.send({"eventName": "leave", "streamId": s.streamId})
        alice.barrier()
        bob.send(hello)
        alice.nothing(lambda m: "update-global" in m)
        alice.send({"eventName": "join", "streamId": s.streamId})
        alice.barrier()
        bob.send(json.dumps({"eventName": "broadcast", "streamId": s.streamId, "args": {"eventType": "again"}}))
        alice.expect(lambda m: "again" in m)

        # carol may not join alice's private stream, nor speak in it
        c = logged_in(server, people["carol"]["email"])
        own = c.streams.create({"name": "Carol's"})
        carol = Socket(c, own.streamId)
        try:
            carol.send({"eventName": "join", "streamId": s.streamId})
            carol.expect(lambda m: m == f"Failed to join room stream-{s.streamId}")
            carol.send({"eventName": "broadcast", "streamId": s.streamId, "args": {"eventType": "spam"}})
            alice.nothing(lambda m: "spam" in m)
        finally:
            carol.close()
        # garbage is ignored, as v1 did
        bob.send("Hi Speckle!!!")
        bob.send({"no": "eventName"})
        bob.barrier()
    finally:
        alice.close()
        bob.close()


def test_websocket_duplicate_client_id_and_missing_client_id(server, people):
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Twice"})
    cid = a.api_clients.create({"streamId": s.streamId}).id
    first = Socket(a, s.streamId, client_id=cid)
    try:
        first.ready(s.streamId)
        second = Socket(a, s.streamId, client_id=cid)
        try:
            warning = json.loads(second.expect(lambda m: "another file" in m))
            assert warning["message"] == "Warning: this client is open in another file."
            assert OBJECT_ID_RE.match(warning["newId"]) and warning["newId"] != cid
        finally:
            second.close()
    finally:
        first.close()

    import websocket  # websocket-client, the client's own dependency

    ws = websocket.create_connection(f"ws://{server.host}/")
    try:
        assert ws.recv().startswith("You must provide a client_id.")
    finally:
        ws.close()


def test_websocket_heartbeat_ping_alive(server, people):
    """The server pings every 30 s (v1's interval); the client's on_message answers `alive`."""
    a = logged_in(server, people["alice"]["email"])
    s = a.streams.create({"name": "Heartbeat"})
    sock = Socket(a, s.streamId)
    try:
        sock.ready(s.streamId)
        assert sock.expect(lambda m: m == "ping", timeout=45) == "ping"
        sock.send("alive")
        sock.barrier()  # still served after answering
    finally:
        sock.close()
