"""AYON projects and anatomy with ayon-python-api: create from the default anatomy, read (REST,
GraphQL and mixed field sets), update, anatomy presets, statuses/tags/types, roots, the attribute
schema, project attributes and data, delete — and the answers to bad input."""

from __future__ import annotations

import uuid

import pytest
from ayon_api.exceptions import HTTPRequestError

from test_ayon_support import *  # noqa: F401,F403


def test_create_project_from_default_anatomy(ayon):
    name = "proj_" + uuid.uuid4().hex[:8]
    project = ayon.create_project(name, "pc" + uuid.uuid4().hex[:4])
    try:
        assert project["name"] == name
        builtin = ayon.get_built_in_anatomy_preset()
        assert [t["name"] for t in project["folderTypes"]] == [t["name"] for t in builtin["folder_types"]]
        assert [t["name"] for t in project["taskTypes"]] == [t["name"] for t in builtin["task_types"]]
        assert [s["name"] for s in project["statuses"]] == ["Not ready", "Ready to start", "In progress", "Pending review", "Approved", "On hold", "Omitted"]
        assert {t["name"] for t in project["tags"]} == {"important", "for reel"}
        assert project["config"]["roots"]["work"]["linux"] == "/mnt/share/projects"
        assert project["attrib"]["fps"] == 25 and project["attrib"]["resolutionWidth"] == 1920
        assert project["bundle"] == {"production": None, "staging": None}
        assert name in ayon.get_project_names()
        with pytest.raises(ValueError):
            ayon.create_project(name, "other")
    finally:
        ayon.delete_project(name)
    assert ayon.get_project(name) is None
    assert name not in ayon.get_project_names()


def test_project_reads_with_field_sets(ayon, project):
    rest_only = ayon.get_project(project, fields={"name", "code", "active"})
    assert rest_only["name"] == project and rest_only["active"] is True
    gql_only = ayon.get_project(project, fields={"name", "library", "attrib", "data"})
    assert gql_only["attrib"]["fps"] == 25 and gql_only["library"] is False
    mixed = ayon.get_project(project, fields={"name", "statuses", "productTypes", "usedTags"})
    assert "productTypes" in mixed and mixed["usedTags"] == []
    projects = list(ayon.get_projects(fields={"name", "code", "folderTypes", "taskTypes", "statuses", "tags", "linkTypes", "config", "data"}))
    assert project in {p["name"] for p in projects}
    own = ayon.get_project(project, own_attributes=True)
    assert own["own_attributes"]["fps"] == 25


def test_update_project(ayon, project):
    ayon.update_project(project, attrib={"fps": 30}, data={"x": 1}, library=False)
    p = ayon.get_project(project)
    assert p["attrib"]["fps"] == 30 and p["data"]["x"] == 1
    statuses = p["statuses"] + [{"name": "Client review", "shortName": "CRV", "state": "in_progress", "icon": "visibility", "color": "#ff00ff"}]
    tags = p["tags"] + [{"name": "urgent_fix", "color": "#ff0000"}]
    ayon.update_project(project, statuses=statuses, tags=tags)
    p = ayon.get_project(project)
    assert "Client review" in [s["name"] for s in p["statuses"]]
    assert "urgent_fix" in [t["name"] for t in p["tags"]]
    ayon.update_project(project, data={"x": None})
    assert "x" not in ayon.get_project(project)["data"]
    with pytest.raises(HTTPRequestError):
        ayon.update_project(project, attrib={"resolutionWidth": -5})
    with pytest.raises(HTTPRequestError):
        ayon.update_project(project, statuses=[])


def test_renaming_a_type_renames_it_on_entities(ayon, project):
    folder_id = ayon.create_folder(project, "typed", folder_type="Asset")
    p = ayon.get_project(project)
    folder_types = [dict(t, name="Character") if t["name"] == "Asset" else t for t in p["folderTypes"]]
    ayon.update_project(project, folder_types=folder_types)
    assert ayon.get_folder_by_id(project, folder_id)["folderType"] == "Character"
    # a type in use cannot simply disappear
    with pytest.raises(HTTPRequestError):
        ayon.update_project(project, folder_types=[t for t in folder_types if t["name"] != "Character"])


def test_anatomy_presets(ayon):
    presets = ayon.get_project_anatomy_presets()
    primary = ayon.get_project_anatomy_preset()
    assert {t["name"] for t in primary["task_types"]} >= {"Compositing", "Modeling"}
    name = "preset_" + uuid.uuid4().hex[:6]
    preset = ayon.get_built_in_anatomy_preset()
    preset["folder_types"] = preset["folder_types"][:2]
    ayon.save_project_anatomy_preset(name, preset)
    assert name in [p["name"] for p in ayon.get_project_anatomy_presets()]
    ayon.set_primary_anatomy_preset(name)
    assert ayon.get_default_anatomy_preset_name() == name
    assert len(ayon.get_project_anatomy_preset()["folder_types"]) == 2
    pname = "frompreset_" + uuid.uuid4().hex[:6]
    project = ayon.create_project(pname, pname[:10])
    try:
        assert len(project["folderTypes"]) == 2
        assert ayon.get_project_anatomy(pname)["folder_types"][0]["name"] == preset["folder_types"][0]["name"]
    finally:
        ayon.delete_project(pname)
    ayon.unset_primary_anatomy_preset(name)
    ayon.delete_project_anatomy_preset(name)
    assert len(ayon.get_project_anatomy_presets()) == len(presets)
    with pytest.raises(HTTPRequestError):
        ayon.get_project_anatomy_preset("no_such_preset")


def test_project_roots(ayon, project):
    assert ayon.get_project_roots_by_platform(project, "linux") == {"work": "/mnt/share/projects"}
    assert ayon.get_project_roots_by_platform(project, "windows") == {"work": "C:/projects"}
    ayon.set_project_root_overrides(project, "site-a", {"work": "/data/work"})
    assert ayon.get_project_root_overrides(project) == {"site-a": {"work": "/data/work"}}
    assert ayon.get_project_roots_by_site_id(project, "site-a") == {"work": "/data/work"}


def test_attribute_schema_changes_apply_live(ayon, project):
    schema = ayon.get_attributes_schema(use_cache=False)
    names = {a["name"] for a in schema["attributes"]}
    assert {"fps", "resolutionWidth", "frameStart", "description", "priority"} <= names
    for a in schema["attributes"]:
        assert "default" in a["data"]
    ayon.set_attribute_config("shotLength", {"type": "integer", "title": "Shot length", "ge": 0, "default": None}, ["folder", "task"])
    try:
        assert "shotLength" in ayon.get_attributes_for_type("folder")
        folder_id = ayon.create_folder(project, "attr_live", folder_type="Folder", attrib={"shotLength": 48})
        folder = ayon.get_folder_by_id(project, folder_id, fields={"id", "attrib"})
        assert folder["attrib"]["shotLength"] == 48
        with pytest.raises(HTTPRequestError):
            ayon.create_folder(project, "attr_bad", folder_type="Folder", attrib={"shotLength": -1})
    finally:
        ayon.delete_attribute_config("shotLength")
    assert "shotLength" not in ayon.get_attributes_for_type("folder")


def test_bad_project_input(ayon):
    with pytest.raises(ValueError):
        ayon.create_project("bad name!", "bn")
    r = raw(ayon, "POST", "/api/projects", json={"name": "ok_name_" + uuid.uuid4().hex[:4], "code": "!!"})
    assert r.status_code == 400 and r.json()["code"] == 400
    r = raw(ayon, "GET", "/api/projects/no_such_project_here")
    assert r.status_code == 404 and r.json() == {"code": 404, "detail": "Project no_such_project_here not found"}
    with pytest.raises(ValueError):
        ayon.delete_project("no_such_project_here")


def test_set_project_anatomy_and_rename(ayon):
    name = "anat_" + uuid.uuid4().hex[:6]
    ayon.create_project(name, name[:10])
    try:
        anatomy = ayon.get_project_anatomy(name)
        anatomy["tags"] = [{"name": "from_anatomy", "color": "#123456"}]
        anatomy["attributes"]["fps"] = 50
        ayon.set_project_anatomy(name, anatomy)
        project = ayon.get_project(name)
        assert [t["name"] for t in project["tags"]] == ["from_anatomy"]
        assert project["attrib"]["fps"] == 50
        folder_id = ayon.create_folder(name, "kept", folder_type="Folder")
        new_name = name + "_r"
        ayon.rename_project(name, new_name)
        assert ayon.get_project(name) is None
        assert ayon.get_folder_by_id(new_name, folder_id)["name"] == "kept"
        name = new_name
    finally:
        ayon.delete_project(name)
