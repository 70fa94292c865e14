"""The production hierarchy with ayon-python-api: publishing through OperationsSession (the
background batch) and EntityHub, REST create/update/delete, every get_* reader with its filters and
field selections, hero/latest versions, attribute inheritance through own_attributes, and the
answers to bad input (names, ids, parents, cycles, deletes, duplicates, attribute values, batches)."""

from __future__ import annotations

import json
import uuid

import pytest
from ayon_api.entity_hub import EntityHub
from ayon_api.exceptions import FailedOperations, HTTPRequestError
from ayon_api.operations import OperationsSession

from test_ayon_support import *  # noqa: F401,F403


@pytest.fixture(scope="module")
def published(ayon, project):
    """A small hierarchy published in one OperationsSession commit."""
    s = OperationsSession(con=ayon)
    seq = s.create_folder(project, "sq010", folder_type="Sequence", attrib={"fps": 24, "frameStart": 1001}, tags=["hot"])
    shots = [s.create_folder(project, f"sh{i:03d}", folder_type="Shot", parent_id=seq["id"], status="In progress" if i % 2 else None) for i in range(1, 6)]
    asset = s.create_folder(project, "hero", folder_type="Asset", attrib={"resolutionWidth": 4096})
    tasks = [s.create_task(project, "comp", "Compositing", sh["id"], assignees=["admin"] if i == 0 else []) for i, sh in enumerate(shots)]
    model_task = s.create_task(project, "modeling", "Modeling", asset["id"], attrib={"fps": 30})
    product = s.create_product(project, "modelMain", "model", asset["id"])
    render = s.create_product(project, "renderMain", "render", shots[0]["id"])
    v1 = s.create_version(project, 1, product["id"], task_id=model_task["id"], attrib={"comment": "first"})
    v2 = s.create_version(project, 2, product["id"], task_id=model_task["id"])
    hero = s.create_version(project, -2, product["id"], task_id=model_task["id"])
    rv = s.create_version(project, 1, render["id"])
    repre = s.create_representation(
        project,
        "abc",
        v2["id"],
        files=[{"id": uid(), "path": "{root[work]}/hero/modelMain_v002.abc", "size": 1234, "hash": "abc123"}],
        data={"context": {"ext": "abc", "representation": "abc", "folder": {"name": "hero"}}},
        traits={"ayon.2d.Image.v1": {}},
    )
    ma = s.create_representation(project, "ma", v2["id"], files=[], data={"context": {"ext": "ma"}})
    wf = s.create_workfile_entity(project, "/work/hero/modeling/hero_v001.ma", model_task["id"], attrib={"extension": ".ma"})
    s.commit()
    return {
        "seq": seq["id"], "shots": [sh["id"] for sh in shots], "asset": asset["id"], "tasks": [t["id"] for t in tasks],
        "model_task": model_task["id"], "product": product["id"], "render": render["id"], "v1": v1["id"], "v2": v2["id"],
        "hero": hero["id"], "rv": rv["id"], "repre": repre["id"], "ma": ma["id"], "workfile": wf["id"],
    }


def test_folders_read_back(ayon, project, published):
    folders = {f["name"]: f for f in ayon.get_folders(project)}
    assert {"sq010", "sh001", "sh005", "hero"} <= set(folders)
    assert folders["sh001"]["path"] == "/sq010/sh001"
    assert folders["sh001"]["parentId"] == published["seq"]
    assert folders["sh001"]["status"] == "In progress" and folders["sh002"]["status"] == "Not ready"
    assert folders["sq010"]["tags"] == ["hot"]
    assert isinstance(folders["sq010"]["data"], dict)
    assert folders["sh001"]["attrib"]["fps"] == 24  # inherited
    assert ayon.get_folder_by_path(project, "/sq010/sh003")["id"] == published["shots"][2]
    assert ayon.get_folder_by_path(project, "sq010/sh003")["id"] == published["shots"][2]
    assert ayon.get_folder_by_name(project, "hero")["id"] == published["asset"]
    assert ayon.get_folder_by_id(project, published["seq"], fields={"id", "name"}) == {"id": published["seq"], "name": "sq010"}
    assert [f["name"] for f in ayon.get_folders(project, parent_ids=[published["seq"]])] == [f"sh{i:03d}" for i in range(1, 6)]
    assert {f["name"] for f in ayon.get_folders(project, parent_ids=[None])} >= {"sq010", "hero"}
    assert {f["name"] for f in ayon.get_folders(project, folder_types=["Asset"])} == {"hero"}
    assert {f["name"] for f in ayon.get_folders(project, statuses=["In progress"])} == {"sh001", "sh003", "sh005"}
    assert {f["name"] for f in ayon.get_folders(project, tags=["hot"])} == {"sq010"}
    assert {f["name"] for f in ayon.get_folders(project, has_tasks=True)} >= {"sh001", "hero"}
    assert {f["name"] for f in ayon.get_folders(project, has_children=True)} == {"sq010"}
    assert {f["name"] for f in ayon.get_folders(project, has_products=True)} == {"hero", "sh001"}
    assert ayon.get_folder_ids_with_products(project) == {published["asset"], published["shots"][0]}
    assert {f["name"] for f in ayon.get_folders(project, folder_path_regex="^/sq010/sh00[12]$")} == {"sh001", "sh002"}
    assert {f["name"] for f in ayon.get_folders(project, assignees_all=["admin"])} == {"sh001"}
    filtered = ayon.get_folders(project, filters={"conditions": [{"key": "attrib.fps", "value": 24, "operator": "eq"}], "operator": "and"})
    assert {f["name"] for f in filtered} == {"sq010", "sh001", "sh002", "sh003", "sh004", "sh005"}
    rest = {f["name"]: f for f in ayon.get_rest_folders(project, include_attrib=True)}
    assert rest["sh001"]["path"] == "sq010/sh001" and rest["sh001"]["hasTasks"] and rest["sh001"]["taskNames"] == ["comp"]
    hierarchy = ayon.get_folders_hierarchy(project)
    seq = next(h for h in hierarchy["hierarchy"] if h["name"] == "sq010")
    assert [c["name"] for c in seq["children"]] == [f"sh{i:03d}" for i in range(1, 6)]
    assert ayon.get_rest_folder(project, published["seq"])["path"] == "/sq010"


def test_attribute_inheritance_and_own_attributes(ayon, project, published):
    shot = ayon.get_folder_by_id(project, published["shots"][0], own_attributes=True)
    assert shot["attrib"]["fps"] == 24
    assert shot["own_attributes"]["fps"] is None
    seq = ayon.get_folder_by_id(project, published["seq"], own_attributes=True)
    assert seq["own_attributes"]["fps"] == 24 and seq["own_attributes"]["frameStart"] == 1001
    task = ayon.get_task_by_id(project, published["tasks"][0], own_attributes=True)
    assert task["attrib"]["fps"] == 24 and task["own_attributes"]["fps"] is None
    ayon.update_folder(project, published["seq"], attrib={"fps": 48})
    assert ayon.get_task_by_id(project, published["tasks"][0])["attrib"]["fps"] == 48
    ayon.update_folder(project, published["shots"][0], attrib={"fps": 12})
    assert ayon.get_task_by_id(project, published["tasks"][0])["attrib"]["fps"] == 12
    ayon.update_folder(project, published["shots"][0], attrib={"fps": None})  # back to inheriting
    shot = ayon.get_folder_by_id(project, published["shots"][0], own_attributes=True)
    assert shot["attrib"]["fps"] == 48 and shot["own_attributes"]["fps"] is None
    ayon.update_folder(project, published["seq"], attrib={"fps": 24})
    # description does not inherit
    ayon.update_folder(project, published["seq"], attrib={"description": "the sequence"})
    assert ayon.get_folder_by_id(project, published["shots"][1])["attrib"].get("description") is None
    model_task = ayon.get_task_by_id(project, published["model_task"], own_attributes=True)
    assert model_task["attrib"]["fps"] == 30 and model_task["attrib"]["resolutionWidth"] == 4096


def test_tasks_read_back(ayon, project, published):
    tasks = list(ayon.get_tasks(project, folder_ids=published["shots"]))
    assert len(tasks) == 5 and {t["taskType"] for t in tasks} == {"Compositing"}
    assert ayon.get_task_by_name(project, published["asset"], "modeling")["id"] == published["model_task"]
    assert [t["name"] for t in ayon.get_tasks(project, task_types=["Modeling"])] == ["modeling"]
    assert [t["id"] for t in ayon.get_tasks(project, assignees=["admin"])] == [published["tasks"][0]]
    assert [t["id"] for t in ayon.get_tasks(project, assignees_all=["admin"])] == [published["tasks"][0]]
    by_path = ayon.get_tasks_by_folder_paths(project, ["/sq010/sh001", "/hero"])
    assert [t["name"] for t in by_path["/sq010/sh001"]] == ["comp"]
    assert ayon.get_task_by_folder_path(project, "/hero", "modeling")["id"] == published["model_task"]
    assert ayon.get_rest_task(project, published["model_task"])["path"] == "/hero/modeling"


def test_products_versions_representations_workfiles(ayon, project, published):
    products = {p["name"]: p for p in ayon.get_products(project)}
    assert products["modelMain"]["productType"] == "model"
    assert ayon.get_product_by_name(project, "modelMain", published["asset"])["id"] == published["product"]
    assert [p["name"] for p in ayon.get_products(project, product_types=["render"])] == ["renderMain"]
    assert [p["name"] for p in ayon.get_products(project, product_name_regex="^model")] == ["modelMain"]
    assert [p["name"] for p in ayon.get_products(project, product_path_regex="^/hero")] == ["modelMain"]
    assert {t["name"] for t in ayon.get_product_types()} >= {"model", "render"}
    assert [p["name"] for p in ayon.get_products(project, names_by_folder_ids={published["asset"]: ["modelMain"]})] == ["modelMain"]

    versions = list(ayon.get_versions(project, product_ids=[published["product"]]))
    assert sorted(v["version"] for v in versions) == [-2, 1, 2]
    assert {v["name"] for v in versions} == {"v001", "v002", "HERO"}
    assert all(v["author"] for v in versions)
    assert sorted(v["version"] for v in ayon.get_versions(project, product_ids=[published["product"]], hero=False)) == [1, 2]
    assert ayon.get_last_version_by_product_id(project, published["product"])["id"] == published["v2"]
    last = ayon.get_last_versions(project, [published["product"], published["render"]])
    assert last[published["product"]]["version"] == 2 and last[published["render"]]["version"] == 1
    assert ayon.get_hero_version_by_product_id(project, published["product"])["id"] == published["hero"]
    assert [v["version"] for v in ayon.get_hero_versions(project)] == [-2]
    assert ayon.get_version_by_name(project, 1, published["product"])["id"] == published["v1"]
    assert ayon.version_is_latest(project, published["v2"]) and not ayon.version_is_latest(project, published["v1"])
    assert ayon.get_last_version_by_product_name(project, "modelMain", published["asset"])["version"] == 2
    assert ayon.get_version_by_id(project, published["v1"])["attrib"]["comment"] == "first"
    assert [v["id"] for v in ayon.get_versions(project, task_ids=[published["model_task"]], hero=False, latest=True)] == [published["v2"]]

    repres = {r["name"]: r for r in ayon.get_representations(project, version_ids=[published["v2"]])}
    abc = repres["abc"]
    assert abc["files"][0]["size"] == 1234 and abc["files"][0]["path"].endswith(".abc")
    assert abc["context"]["ext"] == "abc"
    assert json.loads(abc["traits"]) == {"ayon.2d.Image.v1": {}}  # a JSON string on the wire; the client leaves it so
    assert ayon.get_representation_by_name(project, "ma", published["v2"])["id"] == published["ma"]
    assert [r["id"] for r in ayon.get_representations(project, names_by_version_ids={published["v2"]: ["abc"]})] == [published["repre"]]
    parents = ayon.get_representation_parents(project, published["repre"])
    assert parents.version["id"] == published["v2"] and parents.product["id"] == published["product"] and parents.folder["id"] == published["asset"]
    hierarchy = ayon.get_representation_hierarchy(project, published["repre"])
    assert hierarchy.task["id"] == published["model_task"] and hierarchy.project["name"] == project
    ids = ayon.get_repre_ids_by_context_filters(project, {"ext": ["ab."], "folder.name": ["^her"]})
    assert ids == [published["repre"]]
    assert ayon.get_repre_ids_by_context_filters(project, {"ext": ["^exr$"]}) == []

    workfiles = list(ayon.get_workfile_entities(project, task_ids=[published["model_task"]]))
    assert workfiles[0]["path"] == "/work/hero/modeling/hero_v001.ma" and workfiles[0]["name"] == "hero_v001.ma"
    assert ayon.get_workfile_entity(project, published["model_task"], "/work/hero/modeling/hero_v001.ma")["id"] == published["workfile"]
    assert [w["id"] for w in ayon.get_workfile_entities(project, path_regex="hero_v00[0-9]")] == [published["workfile"]]
    assert ayon.get_workfile_entity_by_id(project, published["workfile"])["createdBy"]


def test_entity_hub_round_trip(ayon, project, published):
    hub = EntityHub(project, connection=ayon)
    hub.fetch_hierarchy_entities()
    seq = hub.get_folder_by_id(published["seq"])
    assert seq.name == "sq010" and seq.attribs["fps"] == 24
    new = hub.add_new_folder(folder_type="Shot", name="sh900", parent_id=seq.id)
    hub.add_new_task(task_type="Lighting", name="light", parent_id=new.id)
    shot = hub.get_folder_by_id(published["shots"][4])
    shot.label = "Shot five"
    shot.attribs["frameEnd"] = 1100
    hub.commit_changes()
    created = ayon.get_folder_by_path(project, "/sq010/sh900")
    assert created and [t["name"] for t in ayon.get_tasks(project, folder_ids=[created["id"]])] == ["light"]
    changed = ayon.get_folder_by_id(project, published["shots"][4], own_attributes=True)
    assert changed["label"] == "Shot five" and changed["own_attributes"]["frameEnd"] == 1100

    hub = EntityHub(project, connection=ayon)
    hub.fetch_hierarchy_entities()
    hub.delete_entity(hub.get_folder_by_id(created["id"]))
    hub.commit_changes()
    assert ayon.get_folder_by_path(project, "/sq010/sh900") is None


def test_rest_crud_with_client_ids(ayon, project, published):
    fid = uid()
    assert ayon.create_folder(project, "rest_made", folder_type="Folder", folder_id=fid, label="Rest made") == fid
    ayon.update_folder(project, fid, label="Relabelled", status="Approved", tags=["x"], data={"k": 1})
    ayon.update_folder(project, fid, data={"j": 2})
    f = ayon.get_folder_by_id(project, fid)
    assert (f["label"], f["status"], f["tags"], f["data"]) == ("Relabelled", "Approved", ["x"], {"k": 1, "j": 2})
    tid = ayon.create_task(project, "rest_task", "Generic", fid)
    ayon.update_task(project, tid, name="rest_task2", assignees=["admin"])
    assert ayon.get_task_by_id(project, tid)["name"] == "rest_task2"
    ayon.delete_task(project, tid)
    assert ayon.get_task_by_id(project, tid) is None
    ayon.delete_folder(project, fid)
    assert ayon.get_folder_by_id(project, fid) is None
    r = raw(ayon, "POST", f"/api/projects/{project}/folders", json={"name": "status_201", "folderType": "Folder"})
    assert r.status_code == 201 and len(r.json()["id"]) == 32
    r = raw(ayon, "PATCH", f"/api/projects/{project}/folders/{r.json()['id']}", json={"label": "x"})
    assert r.status_code == 204


def test_bad_input_answers(ayon, project, published):
    def status(method, path, **kw):
        r = raw(ayon, method, f"/api/projects/{project}{path}", **kw)
        body = r.json() if r.content else None
        if r.status_code >= 400:
            assert set(body) >= {"code", "detail"} and body["code"] == r.status_code
        return r.status_code

    assert status("POST", "/folders", json={"name": "bad name", "folderType": "Folder"}) == 400
    assert status("POST", "/folders", json={"name": "a/b", "folderType": "Folder"}) == 400
    assert status("POST", "/folders", json={"id": "1234", "name": "short_id", "folderType": "Folder"}) == 400
    assert status("POST", "/folders", json={"name": "sq010", "folderType": "Folder"}) == 409  # duplicate root name
    assert status("POST", "/folders", json={"name": "SH001", "folderType": "Shot", "parentId": published["seq"]}) == 409
    assert status("POST", "/folders", json={"name": "orphan", "folderType": "Shot", "parentId": uid()}) == 409
    assert status("POST", "/tasks", json={"name": "t", "taskType": "NoSuchType", "folderId": published["seq"]}) == 409
    assert status("POST", "/folders", json={"name": "wrong_type", "folderType": "Folder", "attrib": {"fps": "fast"}}) == 400
    assert status("POST", "/folders", json={"name": "out_of_range", "folderType": "Folder", "attrib": {"resolutionHeight": 50000}}) == 400
    assert status("POST", "/folders", json={"name": "bad_enum", "folderType": "Folder", "attrib": {"priority": "someday"}}) == 400
    assert status("PATCH", f"/folders/{published['seq']}", json={"parentId": published["shots"][0]}) == 400  # cycle
    assert status("PATCH", f"/folders/{published['seq']}", json={"parentId": published["seq"]}) == 400
    assert status("DELETE", f"/folders/{published['asset']}") == 409  # has products
    assert status("DELETE", f"/folders/{uid()}") == 404
    assert status("PATCH", f"/folders/{published['asset']}", json={"name": "renamed"}) == 403  # has versions
    assert status("POST", "/versions", json={"version": -5, "productId": published["product"]}) == 409  # second hero
    assert status("POST", "/versions", json={"version": 2, "productId": published["product"]}) == 409
    assert status("POST", "/representations", json={"name": "ABC", "versionId": published["v2"]}) == 409
    assert status("POST", "/workfiles", json={"path": "/work/hero/modeling/hero_v001.ma", "taskId": published["model_task"]}) == 409
    assert status("GET", "/folders/zzzz") == 404
    # the client raises on a failed batch and nothing of it is kept
    s = OperationsSession(con=ayon)
    ok = s.create_folder(project, "batch_ok", folder_type="Folder")
    s.create_folder(project, "batch bad", folder_type="Folder")
    with pytest.raises(FailedOperations):
        s.commit()
    assert ayon.get_folder_by_id(project, ok["id"]) is None
    with pytest.raises(FailedOperations):
        ayon.send_batch_operations(project, [{"type": "create", "entityType": "folder", "data": {"name": "x y", "folderType": "Folder"}}])
    results = ayon.send_batch_operations(project, [{"type": "create", "entityType": "folder", "data": {"name": "x y", "folderType": "Folder"}}], raise_on_fail=False)
    assert results[0]["success"] is False and results[0]["status"] == 400


def test_deletes(ayon, project, published):
    s = OperationsSession(con=ayon)
    f = s.create_folder(project, "to_delete", folder_type="Folder")
    c = s.create_folder(project, "child", folder_type="Folder", parent_id=f["id"])
    t = s.create_task(project, "work", "Generic", c["id"])
    s.commit()
    ayon.delete_folder(project, f["id"])  # folders and tasks go with it
    assert ayon.get_folder_by_id(project, c["id"]) is None and ayon.get_task_by_id(project, t["id"]) is None
    ayon.delete_representation(project, published["ma"])
    assert ayon.get_representation_by_id(project, published["ma"]) is None
    ayon.delete_version(project, published["rv"])
    assert ayon.get_version_by_id(project, published["rv"]) is None
    with pytest.raises(HTTPRequestError):
        ayon.delete_folder(project, published["shots"][0])  # has a product
    ayon.delete_product(project, published["render"])
    ayon.delete_folder(project, published["shots"][0])
    assert ayon.get_folder_by_id(project, published["shots"][0]) is None


def test_paging_past_one_page(ayon, project):
    s = OperationsSession(con=ayon)
    parent = s.create_folder(project, "many", folder_type="Folder")
    for i in range(650):
        s.create_folder(project, f"m{i:04d}", folder_type="Shot", parent_id=parent["id"])
    s.commit()
    names = [f["name"] for f in ayon.get_folders(project, parent_ids=[parent["id"]], fields={"name"})]
    assert names == [f"m{i:04d}" for i in range(650)]


def test_operations_as_another_user(ayon, ayon_url, project):
    import secrets
    from ayon_api import ServerAPI

    key = secrets.token_hex(16)
    ayon.create_user("ops_service", api_key=key, data={"isService": True})
    ayon.create_user("ops_artist", password="ops-artist-password")
    service = ServerAPI(ayon_url, token=key)
    with service.as_username("ops_artist"):  # with the artist's permissions: none on the project yet
        with pytest.raises(HTTPRequestError):
            service.create_folder(project, "as_artist", folder_type="Folder")
    ayon.set_user_access_groups("ops_artist", {project: ["artist"]})
    with service.as_username("ops_artist"):
        wid = service.create_folder(project, "as_artist", folder_type="Folder")
    created = ayon.get_rest_folder(project, wid)
    assert created["createdBy"] == "ops_artist"
    # per-operation asUser: services only
    results = service.send_batch_operations(project, [{"type": "create", "entityType": "folder", "asUser": "ops_artist", "data": {"name": "as_artist_op", "folderType": "Folder"}}])
    assert ayon.get_rest_folder(project, results[0]["entityId"])["createdBy"] == "ops_artist"
    artist = ServerAPI(ayon_url)
    artist.login("ops_artist", "ops-artist-password")
    r = raw(artist, "POST", f"/api/projects/{project}/operations", json={"operations": [{"type": "create", "entityType": "folder", "asUser": "ops_service", "data": {"name": "nope", "folderType": "Folder"}}]})
    assert r.status_code == 403 and r.json()["detail"] == "You are not allowed to perform operations as another user"
