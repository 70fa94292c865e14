"""Activities with the unmodified ayon-python-api: comments with mentions and references, update and
delete permissions (a second non-manager user), reactions, watchers, activity categories, mention
suggestions, attached project files, the activity batch operations, the GraphQL feed filtered by
type and paged, and the answers to bad input."""

from __future__ import annotations

import io
import json
import secrets

import pytest
from ayon_api import ServerAPI
from ayon_api.exceptions import FailedOperations, GraphQlQueryFailed, HTTPRequestError
from ayon_api.operations import OperationsSession
from ayon_api.utils import SortOrder

from test_ayon_support import *  # noqa: F401,F403


def status_of(err) -> int:
    return err.value.response.status_code


@pytest.fixture(scope="module")
def entities(ayon, project):
    s = OperationsSession(con=ayon)
    f = s.create_folder(project, "sh010", folder_type="Shot")
    t = s.create_task(project, "comp", "Compositing", f["id"], assignees=["act_alice"])
    t2 = s.create_task(project, "anim", "Animation", f["id"])
    p = s.create_product(project, "renderMain", "render", f["id"])
    v1 = s.create_version(project, 1, p["id"], task_id=t["id"], author="act_bob")
    v2 = s.create_version(project, 2, p["id"], task_id=t["id"])
    s.commit()
    return {"folder": f["id"], "task": t["id"], "task2": t2["id"], "product": p["id"], "v1": v1["id"], "v2": v2["id"]}


@pytest.fixture(scope="module")
def artists(ayon, ayon_url, project, entities):
    """Two non-manager users with access to the project, logged in with their own connections."""
    out = {}
    for name in ("act_alice", "act_bob"):
        ayon.create_user(name, password=f"{name}-password-1", attrib={"fullName": name.upper()}, data={"accessGroups": {project: ["artist"]}})
        api = ServerAPI(ayon_url)
        api.login(name, f"{name}-password-1")
        out[name] = api
    ayon.create_user("act_nobody", password="nobody-password-1")
    nobody = ServerAPI(ayon_url)
    nobody.login("act_nobody", "nobody-password-1")
    out["nobody"] = nobody
    return out


def test_comment_with_mentions_and_references(ayon, project, entities, artists):
    alice = artists["act_alice"]
    body = f"See [v001](version:{entities['v1']}) and [bob](user:act_bob)"
    activity_id = alice.create_activity(project, entities["task"], "task", "comment", body=body)
    assert len(activity_id) == 32

    got = alice.get_activity_by_id(project, activity_id)
    assert got["activityType"] == "comment" and got["body"] == body
    assert got["entityId"] == entities["task"] and got["entityType"] == "task"
    assert got["author"]["name"] == "act_alice"
    assert got["activityData"]["origin"]["id"] == entities["task"]  # parsed from the JSON string by the client
    assert got["activityData"]["parents"][0]["id"] == entities["folder"]

    # the mentioned version sees the comment through a mention reference
    mentioned = list(ayon.get_activities(project, entity_ids=[entities["v1"]], reference_types=["mention"]))
    assert [a["activityId"] for a in mentioned] == [activity_id]
    refs = list(ayon.get_activities(project, activity_ids=[activity_id], reference_types=["origin", "author", "mention", "relation", "watching"], fields={"referenceType", "entityType", "entityId", "entityName"}))
    kinds = {(r["referenceType"], r["entityType"], r["entityId"] or r["entityName"]) for r in refs}
    assert ("mention", "user", "act_bob") in kinds and ("author", "user", "act_alice") in kinds
    assert ("relation", "version", entities["v2"]) in kinds
    # commenting made alice a watcher
    assert ayon.get_entity_watchers(project, entities["task"], "task") == ["act_alice"]

    # a client-supplied id is used as given
    fixed = uid()
    assert alice.create_activity(project, entities["folder"], "folder", "comment", activity_id=fixed, body="fixed id") == fixed

    # the event of the change
    events = list(ayon.get_events(topics={"activity.created"}, project_names=[project], fields={"id", "topic", "summary", "user"}))
    summary = lambda e: json.loads(e["summary"]) if isinstance(e["summary"], str) else e["summary"]  # noqa: E731
    mine = [e for e in events if summary(e).get("activity_id") == activity_id]
    assert len(mine) == 1 and mine[0]["user"] == "act_alice"


def test_update_and_delete_permissions(project, entities, artists, ayon):
    alice, bob = artists["act_alice"], artists["act_bob"]
    activity_id = alice.create_activity(project, entities["task"], "task", "comment", body="- [ ] todo\nmine")
    with pytest.raises(HTTPRequestError) as err:
        bob.update_activity(project, activity_id, body="bob was here")
    assert status_of(err) == 403
    bob.update_activity(project, activity_id, body="- [x] todo\nmine")  # ticking a checkbox is allowed
    alice.update_activity(project, activity_id, body="mine, edited", data={"mood": "good"})
    got = ayon.get_activity_by_id(project, activity_id)
    assert got["body"] == "mine, edited" and got["activityData"]["mood"] == "good" and got["activityData"]["author"] == "act_alice"

    with pytest.raises(HTTPRequestError) as err:
        bob.delete_activity(project, activity_id)
    assert status_of(err) == 403
    alice.delete_activity(project, activity_id)
    assert ayon.get_activity_by_id(project, activity_id) is None
    with pytest.raises(HTTPRequestError) as err:
        alice.delete_activity(project, activity_id)
    assert status_of(err) == 404

    # a manager may delete anyone's comment
    other = bob.create_activity(project, entities["task"], "task", "comment", body="moderate me")
    ayon.delete_activity(project, other)
    assert ayon.get_activity_by_id(project, other) is None


def test_bad_inputs_store_nothing(ayon, ayon_url, project, entities, artists):
    alice = artists["act_alice"]
    before = len(list(ayon.get_activities(project, entity_ids=[entities["task2"]])))
    with pytest.raises(HTTPRequestError) as err:
        alice.create_activity(project, entities["task2"], "task", "status.change", body="humans cannot")
    assert status_of(err) == 400
    with pytest.raises(HTTPRequestError) as err:
        ayon.create_activity(project, entities["task2"], "task", "not-a-type")
    assert status_of(err) == 400
    with pytest.raises(HTTPRequestError) as err:
        ayon.create_activity(project, uid(), "task", "comment", body="nowhere")
    assert status_of(err) == 404
    with pytest.raises(HTTPRequestError) as err:
        ayon.create_activity(project, entities["task2"], "task", "comment", body="x" * 2001)
    assert status_of(err) == 400 and err.value.response.json()["detail"] == "Comment body is too long"
    with pytest.raises(HTTPRequestError) as err:
        artists["nobody"].create_activity(project, entities["task2"], "task", "comment", body="no access")
    assert status_of(err) == 403
    assert len(list(ayon.get_activities(project, entity_ids=[entities["task2"]]))) == before

    # a service user may create any activity type
    key = secrets.token_hex(16)
    ayon.create_user("act_service", api_key=key, data={"isService": True})
    service = ServerAPI(ayon_url, token=key)
    published = service.create_activity(project, entities["v2"], "version", "version.publish", body="published v002")
    assert ayon.get_activity_by_id(project, published)["activityType"] == "version.publish"


def test_reactions(project, entities, artists, ayon):
    alice, bob = artists["act_alice"], artists["act_bob"]
    activity_id = alice.create_activity(project, entities["task"], "task", "comment", body="react")
    bob.create_activity_reaction(project, activity_id, "like")
    bob.create_activity_reaction(project, activity_id, "like")  # once per user and reaction
    alice.create_activity_reaction(project, activity_id, "like")
    fields = {"activityId", "reactions.userName", "reactions.reaction"}
    got = ayon.get_activity_by_id(project, activity_id, fields=fields)
    assert sorted((r["userName"], r["reaction"]) for r in got["reactions"]) == [("act_alice", "like"), ("act_bob", "like")]
    bob.delete_activity_reaction(project, activity_id, "like")
    got = ayon.get_activity_by_id(project, activity_id, fields=fields)
    assert [(r["userName"], r["reaction"]) for r in got["reactions"]] == [("act_alice", "like")]
    with pytest.raises(HTTPRequestError) as err:
        bob.create_activity_reaction(project, uid(), "like")
    assert status_of(err) == 404


def test_watchers(ayon, project, entities, artists):
    ayon.set_entity_watchers(project, entities["folder"], "folder", ["act_alice", "act_bob"])
    assert ayon.get_entity_watchers(project, entities["folder"], "folder") == ["act_alice", "act_bob"]
    ayon.set_entity_watchers(project, entities["folder"], "folder", ["act_bob"])
    assert ayon.get_entity_watchers(project, entities["folder"], "folder") == ["act_bob"]
    # watch activities are activities of the folder
    watches = list(ayon.get_activities(project, entity_ids=[entities["folder"]], activity_types=["watch"]))
    assert [w["activityData"]["watcher"] for w in watches] == ["act_bob"]
    with pytest.raises(HTTPRequestError) as err:
        ayon.get_entity_watchers(project, uid(), "folder")
    assert status_of(err) == 404
    with pytest.raises(HTTPRequestError) as err:
        artists["nobody"].get_entity_watchers(project, entities["folder"], "folder")
    assert status_of(err) == 403


def test_activity_categories(ayon, project, artists, entities):
    assert ayon.get_activity_categories(project) == []
    ayon.update_project(project, config={"activityCategories": [{"name": "internal", "color": "#ff0000", "access": {"act_bob": 20}}, {"name": "client", "color": "#00ff00"}]})
    assert [c["name"] for c in ayon.get_activity_categories(project)] == ["internal", "client"]
    assert [c["name"] for c in artists["act_alice"].get_activity_categories(project)] == ["client"]
    with pytest.raises(HTTPRequestError) as err:
        artists["act_alice"].create_activity(project, entities["task2"], "task", "comment", body="psst", data={"category": "internal"})
    assert status_of(err) == 403
    secret = artists["act_bob"].create_activity(project, entities["task2"], "task", "comment", body="psst", data={"category": "internal"})
    assert artists["act_alice"].get_activity_by_id(project, secret) is None
    assert artists["act_bob"].get_activity_by_id(project, secret)["activityData"]["category"] == "internal"


def test_suggest_entity_mention(ayon, project, entities, artists):
    s = ayon.suggest_entity_mention(project, entities["task"], "task")
    assert set(s) == {"users", "teams", "tasks", "versions"}
    assert s["users"][0]["name"] == "act_alice" and s["users"][0]["relevance"] == 1  # the assignee first
    assert "act_nobody" not in [u["name"] for u in s["users"]]
    assert sorted(t["name"] for t in s["tasks"]) == ["anim", "comp"]
    assert [v["name"] for v in s["versions"]] == ["v001", "v002"]
    v = ayon.suggest_entity_mention(project, entities["v1"], "version")
    assert [x["id"] for x in v["versions"]] == [entities["v2"]]
    assert v["users"][0]["name"] == "act_bob", v["users"]  # the version author
    with pytest.raises(HTTPRequestError) as err:
        ayon.suggest_entity_mention(project, uid(), "task")
    assert status_of(err) == 404


def test_files_attached(ayon, project, entities, artists):
    alice = artists["act_alice"]
    f1, f2 = uid(), uid()
    for fid, name in ((f1, "notes.txt"), (f2, "more.txt")):
        r = alice.upload_project_file_from_stream(project, io.BytesIO(f"content of {name}".encode()), name, content_type="text/plain", file_id=fid)
        assert r.status_code == 201
    activity_id = alice.create_activity(project, entities["task"], "task", "comment", body="files", file_ids=[f1])
    fields = {"activityId", "files.id", "files.name", "files.size", "files.mime"}
    got = ayon.get_activity_by_id(project, activity_id, fields=fields)
    assert got["files"] == [{"id": f1, "name": "notes.txt", "size": str(len("content of notes.txt")), "mime": "text/plain"}]
    alice.update_activity(project, activity_id, file_ids=[f2], append_file_ids=True)
    assert sorted(f["id"] for f in ayon.get_activity_by_id(project, activity_id, fields=fields)["files"]) == sorted([f1, f2])
    alice.update_activity(project, activity_id, file_ids=[f2])
    assert [f["id"] for f in ayon.get_activity_by_id(project, activity_id, fields=fields)["files"]] == [f2]


def test_feed_filtered_by_type_and_paged(ayon, project, entities, artists):
    alice = artists["act_alice"]
    ids = [alice.create_activity(project, entities["task2"], "task", "comment", body=f"page {i}") for i in range(7)]
    comments = [a["activityId"] for a in ayon.get_activities(project, entity_ids=[entities["task2"]], activity_types=["comment"])]
    assert comments[-7:] == ids
    # the client pages 300 at a time; a limit smaller than the feed still returns exactly that many
    assert [a["activityId"] for a in ayon.get_activities(project, entity_ids=[entities["task2"]], activity_types=["comment"], limit=3)] == comments[:3]
    newest = [a["activityId"] for a in ayon.get_activities(project, entity_ids=[entities["task2"]], activity_types=["comment"], order=SortOrder.descending, limit=3)]
    assert newest == list(reversed(ids))[:3]
    # GraphQL paging by cursor, 2 at a time
    q = """query F($p: String!, $ids: [String!], $after: String) { project(name: $p) {
        activities(entityIds: $ids, activityTypes: ["comment"], referenceTypes: ["origin"], first: 2, after: $after) {
          edges { node { activityId } } pageInfo { hasNextPage endCursor } } } }"""
    seen, after = [], None
    while True:
        page = ayon.query_graphql(q, {"p": project, "ids": [entities["task2"]], "after": after}).data["data"]["project"]["activities"]
        seen += [e["node"]["activityId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == comments
    watchers = [a["activityData"]["watcher"] for a in ayon.get_activities(project, entity_ids=[entities["task2"]], activity_types=["watch"])]
    assert "act_alice" in watchers and watchers == ayon.get_entity_watchers(project, entities["task2"], "task")
    assert list(ayon.get_activities(project, entity_ids=[entities["task2"]], changed_after="2999-01-01T00:00:00+00:00")) == []
    with pytest.raises(GraphQlQueryFailed):
        list(ayon.get_activities(project, entity_ids=[entities["task2"]], activity_types=["bad type!"]))


def test_activities_batch_operations(ayon, project, entities):
    ops = [
        {"id": "c1", "type": "create", "data": {"entityType": "task", "entityId": entities["task2"], "activityType": "comment", "body": "batch one"}},
        {"id": "c2", "type": "create", "data": {"entityType": "task", "entityId": uid(), "activityType": "comment", "body": "batch two"}},
    ]
    with pytest.raises(FailedOperations):
        ayon.send_activities_batch_operations(project, ops)
    assert not [a for a in ayon.get_activities(project, entity_ids=[entities["task2"]]) if a["body"] == "batch one"]  # rolled back
    res = ayon.send_activities_batch_operations(project, ops[:1])
    created = res[0]["activityId"]
    res = ayon.send_activities_batch_operations(
        project,
        [{"id": "u", "type": "update", "activityId": created, "data": {"body": "batch edited"}}, {"id": "d", "type": "delete", "activityId": uid()}],
        can_fail=True,
        raise_on_fail=False,
    )
    assert [r["success"] for r in res] == [True, False] and res[1]["status"] == 404
    assert ayon.get_activity_by_id(project, created)["body"] == "batch edited"
