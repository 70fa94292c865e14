"""Secrets, installers, dependency packages and actions with the unmodified ayon-python-api.

Secrets CRUD as the admin, names-only for a manager, refused for an artist; installers and dependency
packages created, uploaded (chunked PUT as the client sends it), listed, downloaded and compared byte
for byte and by md5/sha256, sources patched and deleted; a wrong checksum is refused and leaves no
file behind; bad filenames and platforms are refused; actions list, execute answer and config round
trip, and the launcher token routes.
"""

from __future__ import annotations

import hashlib
import os
import secrets

import pytest
import requests
from ayon_api import ServerAPI
from ayon_api.exceptions import HTTPRequestError

from test_ayon_support import *  # noqa: F401,F403


def _status(exc: pytest.ExceptionInfo) -> int:
    return exc.value.response.status_code


@pytest.fixture(scope="module")
def artist(ayon, ayon_url) -> ServerAPI:
    name = f"desk_artist_{uid()[:6]}"
    ayon.create_user(name, password="artist-password-1")
    api = ServerAPI(ayon_url)
    api.login(name, "artist-password-1")
    return api


@pytest.fixture(scope="module")
def manager(ayon, ayon_url) -> ServerAPI:
    name = f"desk_manager_{uid()[:6]}"
    ayon.create_user(name, password="manager-password-1", data={"isManager": True})
    api = ServerAPI(ayon_url)
    api.login(name, "manager-password-1")
    return api


def _payload(tmp_path, size: int = 300_000) -> tuple[str, bytes]:
    data = os.urandom(size)
    path = tmp_path / "payload.bin"
    path.write_bytes(data)
    return str(path), data


# ---------------------------------------------------------------------------------------------- secrets


def test_secrets_crud_as_admin(ayon):
    name = f"conf_secret_{uid()[:8]}"
    ayon.save_secret(name, "hunter2-value")
    assert ayon.get_secret(name) == {"name": name, "value": "hunter2-value"}
    assert {"name": name, "value": "hunter2-value"} in ayon.get_secrets()
    ayon.save_secret(name, "second-value")  # the same call updates
    assert ayon.get_secret(name)["value"] == "second-value"
    ayon.delete_secret(name)
    with pytest.raises(HTTPRequestError) as e:
        ayon.get_secret(name)
    assert _status(e) == 404
    assert name not in [s["name"] for s in ayon.get_secrets()]


def test_secrets_refused_for_artist_and_names_only_for_manager(ayon, artist, manager):
    name = f"conf_secret_{uid()[:8]}"
    ayon.save_secret(name, "do-not-show-me")
    for call in (lambda: artist.get_secrets(), lambda: artist.get_secret(name), lambda: artist.save_secret(name, "x"), lambda: artist.delete_secret(name)):
        with pytest.raises(HTTPRequestError) as e:
            call()
        assert _status(e) == 403
    # a manager sees the names, never the values, and may not read or write one
    listed = [s for s in manager.get_secrets() if s["name"] == name]
    assert listed == [{"name": name}]
    with pytest.raises(HTTPRequestError) as e:
        manager.get_secret(name)
    assert _status(e) == 403
    with pytest.raises(HTTPRequestError) as e:
        manager.save_secret(name, "overwritten")
    assert _status(e) == 403
    assert ayon.get_secret(name)["value"] == "do-not-show-me"
    ayon.delete_secret(name)


def test_service_user_reads_secrets_with_its_api_key(ayon, ayon_url):
    key = secrets.token_hex(16)
    name = f"desk_svc_{uid()[:6]}"
    ayon.create_user(name, api_key=key, data={"isService": True})
    svc = ServerAPI(ayon_url, token=key)
    assert svc.is_service_user()
    ayon.save_secret("conf_for_service", "svc-visible")
    assert svc.get_secret("conf_for_service")["value"] == "svc-visible"
    svc.save_secret("conf_from_service", "written-by-service")
    assert ayon.get_secret("conf_from_service")["value"] == "written-by-service"


def test_no_secret_value_in_the_server_log(ayon, server):
    value = "LOGCHECK-" + secrets.token_hex(12)
    ayon.save_secret("conf_logged", value)
    assert ayon.get_secret("conf_logged")["value"] == value
    raw(ayon, "PUT", "/api/secrets/bad%20name", json={"value": value})
    ayon.delete_secret("conf_logged")
    assert value not in server.log_path.read_text(errors="replace")


def test_secret_without_value_or_with_bad_name_is_400(ayon):
    r = raw(ayon, "PUT", "/api/secrets/conf_novalue", json={"name": "conf_novalue"})
    assert r.status_code == 400 and r.json()["code"] == 400
    r = raw(ayon, "PUT", "/api/secrets/bad%20name", json={"value": "x"})
    assert r.status_code == 400


# ---------------------------------------------------------------------------------------------- installers


def test_installer_create_upload_list_download_update_delete(ayon, artist, tmp_path):
    src, data = _payload(tmp_path)
    version = f"1.{secrets.randbelow(1000)}.{secrets.randbelow(1000)}"
    filename = f"AYON-{version}-linux-setup.sh"
    ayon.create_installer(
        filename=filename,
        version=version,
        python_version="3.11.9",
        platform_name="linux",
        python_modules={"requests": "2.31.0"},
        runtime_python_modules={"PySide6": "6.7.1"},
        checksum=hashlib.md5(data).hexdigest(),
        checksum_algorithm="md5",
        file_size=len(data),
        sources=[{"type": "http", "url": "https://example.com/" + filename}],
    )
    # before the upload: listed without a server source, nothing to download
    listed = ayon.get_installers(version=version, platform_name="linux")["installers"]
    assert [i["filename"] for i in listed] == [filename]
    assert listed[0]["sources"] == [{"type": "http", "url": "https://example.com/" + filename}]
    with pytest.raises(requests.HTTPError) as e:
        ayon.download_installer(filename, str(tmp_path / "early.bin"))
    assert _status(e) == 404

    ayon.upload_installer(src, filename)
    inst = ayon.get_installers(version=version)["installers"][0]
    assert inst["size"] == len(data) and inst["checksumAlgorithm"] == "md5"
    assert inst["pythonVersion"] == "3.11.9" and inst["runtimePythonModules"] == {"PySide6": "6.7.1"}
    assert inst["sources"][0] == {"type": "server"}
    assert ayon.get_installers(version=version, platform_name="windows")["installers"] == []

    # any user downloads; the bytes and both digests match
    dst = tmp_path / "down.bin"
    progress = artist.download_installer(filename, str(dst))
    got = dst.read_bytes()
    assert got == data
    assert hashlib.md5(got).hexdigest() == inst["checksum"]
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    assert progress.get_content_size() == len(data)

    # a ranged read (the client resumes with Range)
    r = raw(ayon, "GET", f"/api/desktop/installers/{filename}", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200] and r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"

    ayon.update_installer(filename, sources=[{"type": "http", "url": "https://mirror.example.com/x"}])
    inst = ayon.get_installers(version=version)["installers"][0]
    assert inst["sources"] == [{"type": "server"}, {"type": "http", "url": "https://mirror.example.com/x"}]

    # writes are for admins
    with pytest.raises(HTTPRequestError) as e:
        artist.delete_installer(filename)
    assert _status(e) == 403
    with pytest.raises(requests.HTTPError) as e:
        artist.upload_installer(src, filename)
    assert _status(e) == 403

    ayon.delete_installer(filename)
    assert ayon.get_installers(version=version)["installers"] == []
    r = raw(ayon, "GET", f"/api/desktop/installers/{filename}")
    assert r.status_code == 404


def test_installer_wrong_checksum_is_refused_and_nothing_is_stored(ayon, tmp_path):
    src, data = _payload(tmp_path, 50_000)
    version = f"9.{secrets.randbelow(1000)}.{secrets.randbelow(1000)}"
    filename = f"AYON-{version}-windows-setup.exe"
    ayon.create_installer(
        filename=filename, version=version, python_version="3.11", platform_name="windows",
        python_modules={}, runtime_python_modules={},
        checksum=hashlib.sha256(b"something else").hexdigest(), checksum_algorithm="sha256", file_size=len(data),
    )
    with pytest.raises(requests.HTTPError) as e:
        ayon.upload_installer(src, filename)
    assert _status(e) == 400
    assert "checksum" in e.value.response.json()["detail"].lower()
    inst = ayon.get_installers(version=version)["installers"][0]
    assert inst["sources"] == []  # no server source: the file is not there
    assert raw(ayon, "GET", f"/api/desktop/installers/{filename}").status_code == 404
    ayon.delete_installer(filename)


def test_installer_bad_input(ayon):
    base = {"version": "1.0.0", "platform": "linux", "pythonModules": {}, "runtimePythonModules": {}}
    for bad in ("../evil.sh", "a/b.sh", "..", "with space.sh", "x\\y.exe", ""):
        r = raw(ayon, "POST", "/api/desktop/installers", json={**base, "filename": bad})
        assert r.status_code == 400, bad
    r = raw(ayon, "POST", "/api/desktop/installers", json={**base, "filename": "ok.sh", "platform": "amiga"})
    assert r.status_code == 400
    r = raw(ayon, "POST", "/api/desktop/installers", json={**base, "filename": "ok.sh", "checksumAlgorithm": "crc32", "checksum": "abcd"})
    assert r.status_code == 400
    assert ayon.get_installers(version="1.0.0")["installers"] == []
    # uploading to a name without a manifest: 404; a duplicate manifest: 409
    assert raw(ayon, "PUT", "/api/desktop/installers/nothing-here.sh", data=b"x").status_code == 404
    name = f"dup-{uid()[:6]}.sh"
    r = raw(ayon, "POST", "/api/desktop/installers", json={**base, "filename": name, "version": "7.7.7"})
    assert r.status_code == 201
    assert raw(ayon, "POST", "/api/desktop/installers", json={**base, "filename": name, "version": "7.7.7"}).status_code == 409
    ayon.delete_installer(name)


# ---------------------------------------------------------------------------------------------- dependency packages


def test_dependency_package_create_upload_list_download_update_delete(ayon, artist, tmp_path):
    src, data = _payload(tmp_path, 200_001)
    filename = f"ayon_{uid()[:10]}_linux.zip"
    ayon.create_dependency_package(
        filename=filename,
        python_modules={"numpy": "1.26.4"},
        source_addons={"core": "1.0.0", "gone": None},
        installer_version="1.0.0",
        checksum=hashlib.sha256(data).hexdigest(),
        checksum_algorithm="sha256",
        file_size=len(data),
        platform_name="linux",
    )
    ayon.upload_dependency_package(src, filename)
    pkg = [p for p in ayon.get_dependency_packages()["packages"] if p["filename"] == filename][0]
    assert pkg["sourceAddons"] == {"core": "1.0.0"} and pkg["installerVersion"] == "1.0.0" and pkg["platform"] == "linux"
    assert pkg["sources"] == [{"type": "server"}]
    path = artist.download_dependency_package(filename, str(tmp_path), "dep.zip")
    got = open(path, "rb").read()
    assert got == data and hashlib.sha256(got).hexdigest() == pkg["checksum"]
    assert hashlib.md5(got).hexdigest() == hashlib.md5(data).hexdigest()

    ayon.update_dependency_package(filename, sources=[{"type": "url", "url": "https://example.com/dep.zip"}])
    pkg = [p for p in ayon.get_dependency_packages()["packages"] if p["filename"] == filename][0]
    assert pkg["sources"] == [{"type": "server"}, {"type": "http", "url": "https://example.com/dep.zip"}]

    with pytest.raises(HTTPRequestError) as e:
        artist.delete_dependency_package(filename)
    assert _status(e) == 403
    ayon.delete_dependency_package(filename)
    assert filename not in [p["filename"] for p in ayon.get_dependency_packages()["packages"]]
    with pytest.raises(HTTPRequestError) as e:
        ayon.delete_dependency_package(filename)
    assert _status(e) == 404


def test_dependency_package_wrong_checksum_keeps_the_previous_file(ayon, tmp_path):
    src, data = _payload(tmp_path, 10_000)
    filename = f"ayon_{uid()[:10]}_darwin.zip"
    ayon.create_dependency_package(
        filename=filename, python_modules={}, source_addons={}, installer_version="1.0.0",
        checksum=hashlib.md5(data).hexdigest(), checksum_algorithm="md5", file_size=len(data), platform_name="darwin",
    )
    ayon.upload_dependency_package(src, filename)
    other = tmp_path / "other.bin"
    other.write_bytes(os.urandom(len(data)))  # same size, other content
    with pytest.raises(requests.HTTPError) as e:
        ayon.upload_dependency_package(str(other), filename)
    assert _status(e) == 400
    r = raw(ayon, "GET", f"/api/desktop/dependencyPackages/{filename}")
    assert r.status_code == 200 and r.content == data
    ayon.delete_dependency_package(filename)


def test_dependency_package_bad_filenames(ayon):
    base = {"installerVersion": "1.0.0", "platform": "linux", "pythonModules": {}, "sourceAddons": {}}
    for bad in ("../../etc/passwd", "a/b.zip", "..zip..", "%2e%2e"):
        r = raw(ayon, "POST", "/api/desktop/dependencyPackages", json={**base, "filename": bad})
        assert r.status_code == 400, bad
    r = raw(ayon, "POST", "/api/desktop/dependencyPackages", json={"filename": "x.zip", "platform": "linux"})
    assert r.status_code == 400  # installerVersion is required


# ---------------------------------------------------------------------------------------------- actions


def test_actions_list_execute_and_config_round_trip(ayon, artist, project):
    assert ayon.get_actions() == []
    assert ayon.get_actions(project_name=project, entity_type="folder", entity_ids=[uid()], mode="all") == []
    res = ayon.trigger_action("launch-maya", "applications", "1.0.0", project_name=project, entity_type="task", entity_ids=[uid()])
    assert res["success"] is False and res["type"] == "simple" and "not available" in res["message"]

    assert ayon.get_action_config("publish", "core", "1.0.0", project_name=project) == {}
    assert ayon.set_action_config("publish", "core", "1.0.0", {"host": "render1"}, project_name=project) == {"host": "render1"}
    assert ayon.get_action_config("publish", "core", "1.0.0", project_name=project) == {"host": "render1"}
    # per project, per user
    assert ayon.get_action_config("publish", "core", "1.0.0") == {}
    assert artist.get_action_config("publish", "core", "1.0.0", project_name=project) == {}
    # an empty value clears it
    assert ayon.set_action_config("publish", "core", "1.0.0", {}, project_name=project) == {}
    assert ayon.get_action_config("publish", "core", "1.0.0", project_name=project) == {}

    r = raw(ayon, "POST", "/api/actions/config?addonName=core&addonVersion=notsemver&identifier=x", json={})
    assert r.status_code == 400


def test_action_tokens_unknown_are_404(ayon):
    token = secrets.token_hex(32)
    with pytest.raises(HTTPRequestError) as e:
        ayon.take_action(token)
    assert _status(e) == 404
    with pytest.raises(HTTPRequestError) as e:
        ayon.abort_action(token, "stop")
    assert _status(e) == 404


def test_launcher_token_take_and_abort_round_trip(ayon, project):
    """A launcher event (as a server-side action handler would dispatch it) is taken once, then aborted."""
    token = secrets.token_hex(32)
    ayon.dispatch_event(
        "action.launcher",
        event_hash=token,
        project_name=project,
        summary={"addon_name": "applications", "addon_version": "1.2.3", "variant": "production", "action_identifier": "launch-maya"},
        payload={"args": ["-file", "x.ma"], "context": {"project_name": project, "entity_type": "task", "entity_ids": [uid()]}},
        finished=False,
    )
    taken = ayon.take_action(token)  # the client GETs /api/actions/abort/{token}
    assert taken["actionIdentifier"] == "launch-maya" and taken["addonName"] == "applications" and taken["addonVersion"] == "1.2.3"
    assert taken["args"] == ["-file", "x.ma"] and taken["context"]["projectName"] == project and taken["context"]["entityType"] == "task"
    assert ayon.get_event(taken["eventId"])["status"] == "in_progress"
    with pytest.raises(HTTPRequestError) as e:
        ayon.take_action(token)
    assert _status(e) == 404
    ayon.abort_action(token, "Maya is not installed")
    ev = ayon.get_event(taken["eventId"])
    assert ev["status"] == "aborted" and ev["description"] == "Maya is not installed"


def test_upload_larger_than_the_declared_size_is_refused_with_400(ayon, tmp_path):
    src, data = _payload(tmp_path, 3_000_000)
    filename = f"ayon_{uid()[:10]}_linux.zip"
    ayon.create_dependency_package(
        filename=filename, python_modules={}, source_addons={}, installer_version="1.0.0",
        checksum=hashlib.md5(data).hexdigest(), checksum_algorithm="md5", file_size=1000, platform_name="linux",
    )
    with pytest.raises(requests.HTTPError) as e:
        ayon.upload_dependency_package(src, filename)
    assert _status(e) == 400
    assert raw(ayon, "GET", f"/api/desktop/dependencyPackages/{filename}").status_code == 404
    ayon.delete_dependency_package(filename)
