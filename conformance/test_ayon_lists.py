"""Entity lists with the unmodified ayon-python-api: a list of versions, its items added, reordered,
merged, replaced and deleted, list attribute definitions and item attributes, reads through REST
and GraphQL (the client's nested paging: lists one at a time, items to exhaustion), list folders,
access for a second user, and the answers to bad input (nothing half-stored)."""

from __future__ import annotations

import secrets

import pytest
from ayon_api import ServerAPI
from ayon_api.exceptions import HTTPRequestError
from ayon_api.operations import OperationsSession

from test_ayon_support import *  # noqa: F401,F403


@pytest.fixture(scope="module")
def versions(ayon, project):
    s = OperationsSession(con=ayon)
    a = s.create_folder(project, "list_asset", folder_type="Asset")
    t = s.create_task(project, "comp", "Compositing", a["id"])
    p = s.create_product(project, "renderMain", "render", a["id"])
    ids = [s.create_version(project, i, p["id"], task_id=t["id"])["id"] for i in range(1, 8)]
    s.commit()
    return {"folder": a["id"], "task": t["id"], "product": p["id"], "versions": ids}


def items_of(ayon, project, list_id):
    lst = ayon.get_entity_list_by_id(project, list_id, fields={"id", "items"})
    return [(i["entityId"], i["position"]) for i in sorted(lst["items"], key=lambda i: i["position"])]


def test_create_list_of_versions_and_read_it_back(ayon, project, versions):
    v = versions["versions"]
    list_id = uid()
    assert ayon.create_entity_list(project, "version", "Dailies A", list_type="review-session", list_id=list_id, tags=["daily"], data={"note": "x"}, items=[{"entityId": v[0]}, {"entityId": v[1]}]) == list_id

    rest = ayon.get_entity_list_rest(project, list_id)
    assert rest["id"] == list_id and rest["entityType"] == "version" and rest["entityListType"] == "review-session"
    assert rest["label"] == "Dailies A" and rest["tags"] == ["daily"] and rest["active"] is True
    assert rest["owner"] == ayon.get_user()["name"] and rest["accessLevel"] == 30
    assert rest["data"]["note"] == "x" and rest["data"]["count"] == 2
    assert [(i["entityId"], i["position"]) for i in rest["items"]] == [(v[0], 0), (v[1], 1)]
    assert rest["items"][0]["folderPath"] == "list_asset"

    # GraphQL with the client's default fields
    lst = ayon.get_entity_list_by_id(project, list_id)
    assert lst["id"] == list_id and lst["count"] == 2 and lst["entityType"] == "version"
    assert lst["data"]["note"] == "x" and lst["attributes"] == []
    assert "entityListCategory" in lst["attrib"]  # list-scope attribute default filled in by the client
    assert lst["createdBy"] == lst["owner"] and lst["tags"] == ["daily"]

    rest_list = ayon.get_entity_list_entities(project, list_id)
    assert rest_list["entityType"] == "version" and set(rest_list["entityIds"]) == {v[0], v[1]}


def test_items_add_reorder_merge_replace_delete(ayon, project, versions):
    v = versions["versions"]
    list_id = ayon.create_entity_list(project, "version", "Dailies B")
    i0 = ayon.create_entity_list_item(project, list_id, v[0])
    i1 = ayon.create_entity_list_item(project, list_id, v[1])
    i2 = ayon.create_entity_list_item(project, list_id, v[2], position=0, label="first", tags=["hot"])  # inserted at the top
    assert items_of(ayon, project, list_id) == [(v[2], 0), (v[0], 1), (v[1], 2)]

    # move one item, then set the whole order
    ayon.update_entity_list_item(project, list_id, i2, position=2)
    assert items_of(ayon, project, list_id) == [(v[0], 0), (v[1], 1), (v[2], 2)]
    ayon.set_entity_list_items_order(project, list_id, [i1, i2, i0])
    assert items_of(ayon, project, list_id) == [(v[1], 0), (v[2], 1), (v[0], 2)]

    # merge: existing items are patched and placed (ties keep the current order, as AYON sorts), new ones appended
    ayon.update_entity_list_items(project, list_id, [{"id": i0, "position": 0, "data": {"k": 1}}, {"entityId": v[3]}], "merge")
    assert items_of(ayon, project, list_id) == [(v[1], 0), (v[0], 1), (v[2], 2), (v[3], 3)]
    rest = ayon.get_entity_list_rest(project, list_id)
    assert next(i for i in rest["items"] if i["id"] == i0)["data"] == {"k": 1}
    assert next(i for i in rest["items"] if i["id"] == i2)["label"] == "first"

    # delete mode removes the named items
    ayon.update_entity_list_items(project, list_id, [{"id": i1}], "delete")
    assert items_of(ayon, project, list_id) == [(v[0], 0), (v[2], 1), (v[3], 2)]

    # replace: exactly these, in this order
    ayon.update_entity_list_items(project, list_id, [{"entityId": v[5]}, {"id": i0, "entityId": v[0]}], "replace")
    assert items_of(ayon, project, list_id) == [(v[5], 0), (v[0], 1)]
    ayon.delete_entity_list_item(project, list_id, i0)
    assert items_of(ayon, project, list_id) == [(v[5], 0)]
    assert ayon.get_entity_list_by_id(project, list_id)["count"] == 1


def test_attribute_definitions_and_item_attributes(ayon, project, versions):
    v = versions["versions"]
    list_id = ayon.create_entity_list(project, "version", "Review C", attrib={"entityListCategory": "review"})
    assert ayon.get_entity_list_attribute_definitions(project, list_id) == []
    defs = [{"name": "approved", "data": {"type": "boolean", "title": "Approved"}}, {"name": "score", "data": {"type": "integer", "title": "Score", "ge": 0}}]
    ayon.set_entity_list_attribute_definitions(project, list_id, defs)
    got = ayon.get_entity_list_attribute_definitions(project, list_id)
    assert [d["name"] for d in got] == ["approved", "score"] and got[1]["data"]["type"] == "integer"

    item = ayon.create_entity_list_item(project, list_id, v[0], attrib={"approved": True, "score": 3, "comment": "looks good"})
    ayon.update_entity_list_item(project, list_id, item, attrib={"score": 4})
    rest = ayon.get_entity_list_rest(project, list_id)
    assert rest["items"][0]["attrib"] == {"approved": True, "score": 4, "comment": "looks good"}
    assert rest["attrib"]["entityListCategory"] == "review"

    # GraphQL: the list's definitions and the item's merged attributes
    lst = ayon.get_entity_list_by_id(project, list_id, fields={"id", "attributes", "attrib", "items.allAttrib", "items.ownAttrib", "items.id"})
    assert [d["name"] for d in lst["attributes"]] == ["approved", "score"]
    assert lst["attrib"]["entityListCategory"] == "review"
    import json

    item_attrib = json.loads(lst["items"][0]["allAttrib"])
    assert item_attrib["score"] == 4 and item_attrib["approved"] is True and item_attrib["comment"] == "looks good"
    assert sorted(lst["items"][0]["ownAttrib"]) == ["approved", "score"]

    with pytest.raises(HTTPRequestError):  # wrong type for a defined attribute
        ayon.update_entity_list_item(project, list_id, item, attrib={"score": "many"})
    with pytest.raises(HTTPRequestError):  # shadows a studio attribute
        ayon.set_entity_list_attribute_definitions(project, list_id, [{"name": "fps", "data": {"type": "float"}}])
    with pytest.raises(HTTPRequestError):  # unknown attribute type
        ayon.set_entity_list_attribute_definitions(project, list_id, [{"name": "odd", "data": {"type": "banana"}}])
    assert [d["name"] for d in ayon.get_entity_list_attribute_definitions(project, list_id)] == ["approved", "score"]


def test_graphql_paging_of_lists_and_items(ayon, project, versions):
    v = versions["versions"]
    ids = []
    for n in range(3):
        lid = ayon.create_entity_list(project, "version", f"Paged {n}", items=[{"entityId": e} for e in v])
        ids.append(lid)
    # 2 lists × 7 items: the client asks for lists one at a time and pages items 300 at a time
    got = {lst["id"]: lst for lst in ayon.get_entity_lists(project, list_ids=ids, fields={"id", "label", "items"})}
    assert set(got) == set(ids)
    for lid in ids:
        assert [i["entityId"] for i in sorted(got[lid]["items"], key=lambda i: i["position"])] == v
        assert all(i["entityType"] == "version" for i in got[lid]["items"])

    # small pages through raw GraphQL: every item exactly once, in order
    seen, after = [], None
    while True:
        after_arg = f', after: "{after}"' if after else ""
        q = 'query { project(name: "%s") { entityList(id: "%s") { items(first: 3%s) { edges { entityId position node { id name } } pageInfo { endCursor hasNextPage } } } } }' % (project, ids[0], after_arg)
        res = ayon.query_graphql(q).data["data"]["project"]["entityList"]["items"]
        seen += [(e["entityId"], e["node"]["id"]) for e in res["edges"]]
        if not res["pageInfo"]["hasNextPage"]:
            break
        after = res["pageInfo"]["endCursor"]
    assert [e for e, _ in seen] == v and all(a == b for a, b in seen)

    # more than one page of items (300) in two lists: the client pages the items of one list to the end, then moves on
    big = [ayon.create_entity_list(project, "version", f"Big {n}", items=[{"entityId": v[i % len(v)], "label": str(i)} for i in range(320 + n)]) for n in range(2)]
    got = {lst["id"]: lst for lst in ayon.get_entity_lists(project, list_ids=big, fields={"id", "items.id", "items.position", "items.label", "items.entityId"})}
    for n, lid in enumerate(big):
        labels = [i["label"] for i in sorted(got[lid]["items"], key=lambda i: i["position"])]
        assert labels == [str(i) for i in range(320 + n)]
        assert len({i["id"] for i in got[lid]["items"]}) == 320 + n

    all_ids = {lst["id"] for lst in ayon.get_entity_lists(project, fields={"id"})}
    assert set(ids) <= all_ids
    assert list(ayon.get_entity_lists(project, list_ids=[])) == []


def test_update_and_delete_list(ayon, project, versions):
    list_id = ayon.create_entity_list(project, "version", "Editable", data={"a": 1, "b": 2})
    ayon.update_entity_list(project, list_id, label="Edited", data={"a": None, "c": 3}, tags=["t"], active=False)
    rest = ayon.get_entity_list_rest(project, list_id)
    assert rest["label"] == "Edited" and rest["tags"] == ["t"] and rest["active"] is False
    assert {k: v for k, v in rest["data"].items() if k != "count"} == {"b": 2, "c": 3}
    assert ayon.get_entity_list_by_id(project, list_id)["active"] is False
    assert list(ayon.get_entity_lists(project, list_ids=[list_id], active=True)) == []

    events = list(ayon.get_events(topics=["entity_list.*"], project_names=[project]))
    topics = {e["topic"] for e in events}
    assert {"entity_list.created", "entity_list.changed"} <= topics

    ayon.delete_entity_list(project, list_id)
    assert ayon.get_entity_list_by_id(project, list_id) is None
    with pytest.raises(HTTPRequestError) as e:
        ayon.get_entity_list_rest(project, list_id)
    assert e.value.response.status_code == 404


def test_list_folders(ayon, project):
    f1 = ayon.create_entity_list_folder(project, "Reviews", color="#ff0000", icon="star")
    f2 = ayon.create_entity_list_folder(project, "Sub", parent_id=f1, scope=["review-session"])
    folders = {f["id"]: f for f in ayon.get_entity_list_folders(project)}
    assert folders[f1]["label"] == "Reviews" and folders[f1]["data"] == {"color": "#ff0000", "icon": "star"}
    assert folders[f2]["parentId"] == f1 and folders[f2]["data"]["scope"] == ["review-session"]
    assert folders[f1]["owner"] == ayon.get_user()["name"]

    list_id = ayon.create_entity_list(project, "folder", "In a folder", entity_list_folder_id=f2)
    assert ayon.get_entity_list_rest(project, list_id)["entityListFolderId"] == f2

    ayon.update_entity_list_folder(project, f2, label="Renamed", parent_id=None, color="#00ff00")
    f = {x["id"]: x for x in ayon.get_entity_list_folders(project)}[f2]
    assert f["label"] == "Renamed" and f["parentId"] is None and f["data"]["color"] == "#00ff00"
    ayon.set_entity_list_folders_order(project, [f2, f1])
    order = {x["id"]: x["position"] for x in ayon.get_entity_list_folders(project)}
    assert order[f2] == 0 and order[f1] == 1
    with pytest.raises(HTTPRequestError):  # same label next to it
        ayon.create_entity_list_folder(project, "renamed")

    ayon.update_entity_list(project, list_id, entity_list_folder_id=None)
    assert ayon.get_entity_list_rest(project, list_id)["entityListFolderId"] is None
    ayon.update_entity_list(project, list_id, entity_list_folder_id=f2)
    ayon.delete_entity_list_folder(project, f2)
    assert f2 not in {x["id"] for x in ayon.get_entity_list_folders(project)}
    assert ayon.get_entity_list_rest(project, list_id)["entityListFolderId"] is None


def test_access_for_a_second_user(ayon, ayon_url, project, versions):
    name = "list_user_" + secrets.token_hex(3)
    ayon.create_user(name, password="list-user-password-1")
    other = ServerAPI(ayon_url)
    other.login(name, "list-user-password-1")
    list_id = ayon.create_entity_list(project, "version", "Private-ish " + name, items=[{"entityId": versions["versions"][0]}])

    # no project access: nothing
    with pytest.raises(HTTPRequestError) as e:
        other.get_entity_list_rest(project, list_id)
    assert e.value.response.status_code == 403
    with pytest.raises(HTTPRequestError):
        other.create_entity_list(project, "version", "Not allowed")

    # artist on the project, but read-only on this list
    ayon.set_user_access_groups(name, {project: ["artist"]})
    ayon.update_entity_list(project, list_id, access={name: 10})
    other = ServerAPI(ayon_url)
    other.login(name, "list-user-password-1")
    assert other.get_entity_list_rest(project, list_id)["accessLevel"] == 10
    assert other.get_entity_list_by_id(project, list_id)["count"] == 1
    with pytest.raises(HTTPRequestError) as e:
        other.create_entity_list_item(project, list_id, versions["versions"][1])
    assert e.value.response.status_code == 403
    with pytest.raises(HTTPRequestError):
        other.delete_entity_list(project, list_id)

    # update level: items yes, rename no
    ayon.update_entity_list(project, list_id, access={name: 20})
    other.create_entity_list_item(project, list_id, versions["versions"][1])
    with pytest.raises(HTTPRequestError) as e:
        other.update_entity_list(project, list_id, label="Taken over")
    assert e.value.response.status_code == 403

    # no access at all: invisible in GraphQL, 403 in REST
    ayon.update_entity_list(project, list_id, access={name: 0})
    assert other.get_entity_list_by_id(project, list_id) is None
    with pytest.raises(HTTPRequestError):
        other.get_entity_list_rest(project, list_id)

    # their own list: full control
    own = other.create_entity_list(project, "version", "Mine " + name)
    other.update_entity_list(project, own, label="Mine renamed " + name)
    other.delete_entity_list(project, own)


def test_bad_input_is_refused_and_nothing_is_half_stored(ayon, project, versions):
    v = versions["versions"]
    base = f"/api/projects/{project}/lists"
    assert raw(ayon, "POST", base, json={"entityType": "banana", "label": "x"}).status_code == 400
    assert raw(ayon, "POST", base, json={"entityType": "version"}).status_code == 400
    assert raw(ayon, "POST", base, json={"entityType": "version", "label": "x", "access": {"u": 15}}).status_code == 400
    missing = uid()
    r = raw(ayon, "POST", base, json={"entityType": "version", "label": "Half", "items": [{"entityId": v[0]}, {"entityId": missing}]})
    assert r.status_code == 404 and r.json()["code"] == 404 and missing in r.json()["detail"]
    assert not [x for x in ayon.get_entity_lists(project, fields={"label"}) if x["label"] == "Half"]

    list_id = ayon.create_entity_list(project, "version", "Strict", items=[{"entityId": v[0]}])
    with pytest.raises(HTTPRequestError):  # same label
        ayon.create_entity_list(project, "version", "Strict")
    with pytest.raises(HTTPRequestError):  # same id
        ayon.create_entity_list(project, "version", "Other", list_id=list_id)
    with pytest.raises(HTTPRequestError) as e:  # a folder is not a version
        ayon.create_entity_list_item(project, list_id, versions["folder"])
    assert e.value.response.status_code == 404
    # a replace with one bad entity changes nothing
    r = raw(ayon, "PATCH", f"{base}/{list_id}/items", json={"mode": "replace", "items": [{"entityId": v[1]}, {"entityId": missing}]})
    assert r.status_code == 404
    assert items_of(ayon, project, list_id) == [(v[0], 0)]
    assert raw(ayon, "PATCH", f"{base}/{list_id}/items", json={"mode": "shuffle", "items": [{"entityId": v[1]}]}).status_code == 400
    assert raw(ayon, "PATCH", f"{base}/{list_id}/items", json={"mode": "merge", "items": []}).status_code == 400
    assert raw(ayon, "PATCH", f"{base}/{list_id}/items/{uid()}", json={"label": "x"}).status_code == 404
    assert raw(ayon, "DELETE", f"{base}/{list_id}/items/{uid()}").status_code == 404
    assert raw(ayon, "POST", f"{base}/{list_id}/order", json={"order": [uid()]}).status_code == 400
    assert raw(ayon, "GET", f"{base}/{uid()}").status_code == 404
    assert raw(ayon, "PATCH", f"{base}/{uid()}", json={"label": "x"}).status_code == 404
    assert raw(ayon, "DELETE", f"{base}/{uid()}").status_code == 404
    assert raw(ayon, "POST", f"{base}/{list_id}/materialize").status_code == 501
    assert items_of(ayon, project, list_id) == [(v[0], 0)]
