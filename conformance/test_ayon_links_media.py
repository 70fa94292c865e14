"""Links and link types, thumbnails, project files and reviewables with ayon-python-api, plus the
answers to bad uploads (wrong image types, path tricks in file names, oversized bodies)."""

from __future__ import annotations

import os

import pytest
import requests
from ayon_api.exceptions import HTTPRequestError
from ayon_api.operations import OperationsSession

from test_ayon_support import *  # noqa: F401,F403


@pytest.fixture(scope="module")
def entities(ayon, project):
    s = OperationsSession(con=ayon)
    a = s.create_folder(project, "asset_a", folder_type="Asset")
    b = s.create_folder(project, "asset_b", folder_type="Asset")
    t = s.create_task(project, "model", "Modeling", a["id"])
    p = s.create_product(project, "modelMain", "model", a["id"])
    v1 = s.create_version(project, 1, p["id"], task_id=t["id"])
    v2 = s.create_version(project, 2, p["id"], task_id=t["id"])
    r = s.create_representation(project, "abc", v2["id"], files=[])
    w = s.create_workfile_entity(project, "/work/asset_a/model_v001.ma", t["id"])
    s.commit()
    return {"a": a["id"], "b": b["id"], "task": t["id"], "product": p["id"], "v1": v1["id"], "v2": v2["id"], "repre": r["id"], "workfile": w["id"]}


def test_link_types_and_links(ayon, project, entities):
    ayon.make_sure_link_type_exists(project, "breakdown", "folder", "folder")
    ayon.create_link_type(project, "uses", "folder", "folder", data={"color": "#00ff00"})
    lt = ayon.get_link_type(project, "uses", "folder", "folder")
    assert lt["linkType"] == "uses" and lt["data"] == {"color": "#00ff00"}
    link = ayon.create_link(project, "uses", entities["a"], "folder", entities["b"], "folder", link_name="a-uses-b", data={"why": "test"})
    assert len(link["id"]) == 32
    assert ayon.get_folder_links(project, entities["b"], link_direction="in")[0]["entityId"] == entities["a"]
    out = ayon.get_folder_links(project, entities["a"], link_direction="out")
    assert out[0]["entityId"] == entities["b"] and out[0]["direction"] == "out" and out[0]["linkType"] == "uses"
    assert out[0]["name"] == "a-uses-b" and out[0]["data"] == {"why": "test"}
    assert ayon.get_folder_links(project, entities["a"], link_types=["breakdown"]) == []
    by_folder = ayon.get_folders_links(project, [entities["a"], entities["b"]])
    assert len(by_folder[entities["a"]]) == 1 and len(by_folder[entities["b"]]) == 1
    assert {f["id"] for f in ayon.get_folders(project, has_links="IN", fields={"id"})} == {entities["b"]}
    assert {f["id"] for f in ayon.get_folders(project, has_links="OUT", fields={"id"})} == {entities["a"]}

    ayon.create_link(project, "generative", entities["v1"], "version", entities["v2"], "version")
    assert ayon.get_version_links(project, entities["v2"], link_direction="in")[0]["entityId"] == entities["v1"]
    assert [r["id"] for r in ayon.get_representations(project, has_links="NONE", fields={"id"})] == [entities["repre"]]
    created = ayon.create_links(project, [{"input": entities["b"], "output": entities["a"], "linkType": "uses|folder|folder"}])
    assert created[0]["input"] == entities["b"]

    with pytest.raises(HTTPRequestError):
        ayon.create_link(project, "uses", entities["a"], "folder", entities["a"], "folder")  # to itself
    with pytest.raises(HTTPRequestError):
        ayon.create_link(project, "nope", entities["a"], "folder", entities["b"], "folder")  # unknown type
    with pytest.raises(HTTPRequestError):
        ayon.create_link(project, "uses", entities["a"], "folder", entities["b"], "folder")  # exists

    ayon.delete_link(project, link["id"])
    assert ayon.get_folder_links(project, entities["b"], link_direction="in") == []
    ayon.delete_link_type(project, "uses", "folder", "folder")
    assert ayon.get_link_type(project, "uses", "folder", "folder") is None


def test_thumbnails(ayon, project, entities, tmp_path):
    png = tmp_path / "thumb.png"
    png.write_bytes(png_bytes())
    tid = ayon.create_thumbnail(project, str(png))
    ayon.update_version(project, entities["v2"], thumbnail_id=tid)
    content = ayon.get_version_thumbnail(project, entities["v2"])
    assert content.is_valid and content.id == tid and content.content == png_bytes()
    assert ayon.get_thumbnail_by_id(project, tid).content == png_bytes()
    # folders fall back to the thumbnail of their latest version
    assert ayon.get_folder_thumbnail(project, entities["a"]).id == tid
    miss = ayon.get_task_thumbnail(project, entities["task"])
    assert not miss.is_valid and miss.id is None
    version = ayon.get_version_by_id(project, entities["v2"])
    assert version["thumbnailId"] == tid
    jpg = tmp_path / "thumb.jpg"
    jpg.write_bytes(jpeg_bytes())
    tid2 = ayon.set_entity_thumbnail(project, "task", entities["task"], str(jpg))
    assert ayon.get_task_thumbnail(project, entities["task"]).id == tid2
    ayon.update_thumbnail(project, tid2, str(png))
    assert ayon.get_task_thumbnail(project, entities["task"]).content == png_bytes()
    pid = ayon.set_project_thumbnail(project, str(png))
    assert ayon.get_project_thumbnail(project).id == pid
    gif = tmp_path / "thumb.gif"
    gif.write_bytes(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
    with pytest.raises(requests.exceptions.HTTPError) as err:  # upload_file raises requests' own error
        ayon.create_thumbnail(project, str(gif))
    assert err.value.response.status_code == 415
    r = raw(ayon, "POST", f"/api/projects/{project}/thumbnails", data=jpeg_bytes(), headers={"Content-Type": "image/png"})
    assert r.status_code == 415 and r.json() == {"code": 415, "detail": "Thumbnail must be in png or jpeg format"}


def test_project_files(ayon, project, tmp_path):
    src = tmp_path / "plate.bin"
    data = os.urandom(3 * 1024 * 1024 + 123)  # several 1 MiB chunks, sent chunked
    src.write_bytes(data)
    file_id = uid()
    r = ayon.upload_project_file(project, str(src), file_id=file_id)
    assert r.status_code == 201 and r.json()["id"] == file_id
    dst = tmp_path / "back.bin"
    ayon.download_project_file(project, file_id, str(dst))
    assert dst.read_bytes() == data
    info = ayon.get_project_file_info(project, file_id)
    assert info["size"] == len(data) and info["filename"] == "plate.bin"
    part = raw(ayon, "GET", f"/api/projects/{project}/files/{file_id}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200] and part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    ayon.delete_project_file(project, file_id)
    with pytest.raises(Exception):
        ayon.download_project_file(project, file_id, str(tmp_path / "gone.bin"))
    for bad in ("../escape.bin", "dir/name.bin", "..\\win.bin"):
        r = raw(ayon, "POST", f"/api/projects/{project}/files", data=b"x", headers={"x-file-name": bad, "Content-Type": "application/octet-stream"})
        assert r.status_code == 400, bad
        assert r.json()["code"] == 400


def test_oversized_upload_is_refused(server, ayon, project):
    limit = 100 * 1024 * 1024  # ATRIUM_MAX_REQUEST_BODY_MB default
    def body():
        chunk = b"\0" * (1024 * 1024)
        for _ in range(limit // len(chunk) + 2):
            yield chunk
    headers = ayon.get_headers()
    headers.update({"x-file-name": "huge.bin", "Content-Type": "application/octet-stream"})
    try:
        r = requests.post(f"{ayon.get_base_url()}/api/projects/{project}/files", data=body(), headers=headers, timeout=120)
        assert r.status_code == 413
    except requests.exceptions.ConnectionError:
        pass  # the server may close the connection once it has answered 413


def test_reviewables(ayon, project, entities, tmp_path):
    src = tmp_path / "review.png"
    src.write_bytes(png_bytes())
    r = ayon.upload_reviewable(project, entities["v2"], str(src), label="Review 1")
    assert r.status_code == 200
    listed = raw(ayon, "GET", f"/api/projects/{project}/versions/{entities['v2']}/reviewables").json()
    assert [x["label"] for x in listed["reviewables"]] == ["Review 1"]
    txt = tmp_path / "notes.txt"
    txt.write_text("not a video")
    with pytest.raises(requests.exceptions.HTTPError) as err:
        ayon.upload_reviewable(project, entities["v2"], str(txt), content_type="text/plain")
    assert err.value.response.status_code == 415
