"""Addons, bundles and settings with the unmodified ayon-python-api.

An addon zip is built here with Python's zipfile (package.py, a JSON-Schema settings convention
`settings/schema.json` + `settings/defaults.json`, site settings, a private and a public file),
uploaded with upload_addon_zip, listed with get_addons_info, its private file downloaded with
download_addon_private_file; bundles are created, checked, patched and deleted; studio settings per
variant (production, staging, a dev bundle), project settings and project-site overrides are set
through the client's setters and read back through every getter (get_addon_settings,
get_addon_studio_settings, get_addon_project_settings, get_addons_settings, get_bundle_settings …).
Bad zips (not a zip, path traversal, symlink) are refused and leave nothing installed; settings that
do not match the schema are refused with 400 and change nothing. Project bundles are set, read and
unset with set_project_bundle / get_project_bundle / unset_project_bundle and change what
get_addons_settings resolves for that project (inheritedAddons, project_bundle_name).
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import pytest
import requests
from ayon_api import ServerAPI
from ayon_api.exceptions import HTTPRequestError

from test_ayon_support import *  # noqa: F401,F403

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean", "default": True},
        "threads": {"type": "integer", "minimum": 1, "maximum": 64, "default": 4},
        "extensions": {"type": "array", "items": {"type": "string"}, "default": [".exr"]},
        "paths": {
            "type": "object",
            "properties": {
                "root": {"type": "string", "default": "/mnt/projects"},
                "cache": {"type": "string", "default": "/tmp/cache"},
            },
        },
    },
}
DEFAULTS = {"threads": 8}
SITE_SCHEMA = {"type": "object", "properties": {"local_root": {"type": "string", "default": "~/ayon"}}}
PRIVATE = os.urandom(300_000)


def build_zip(name: str, version: str, extra: dict[str, bytes] | None = None, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("package.py", f'name = "{name}"\ntitle = "Conformance {name}"\nversion = "{version}"\nclient_dir = "ayon_{name}"\n')
        z.writestr("settings/schema.json", json.dumps(SCHEMA))
        z.writestr("settings/defaults.json", json.dumps(DEFAULTS))
        z.writestr("settings/site_schema.json", json.dumps(SITE_SCHEMA))
        z.writestr("private/client.zip", PRIVATE)
        z.writestr(zipfile.ZipInfo("public/readme.txt"), b"public readme")
        z.writestr("server/__init__.py", "raise SystemExit('addon server code is never executed')")
        for path, data in (extra or {}).items():
            z.writestr(zipfile.ZipInfo(path), data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _status(exc: pytest.ExceptionInfo) -> int:
    return exc.value.response.status_code


@pytest.fixture(scope="module")
def addon(ayon, tmp_path_factory) -> str:
    name = f"conf_{uid()[:8]}"
    path = tmp_path_factory.mktemp("addons") / f"{name}-1.0.0.zip"
    path.write_bytes(build_zip(name, "1.0.0"))
    result = ayon.upload_addon_zip(str(path))
    assert set(result) == {"eventId"}
    event = ayon.get_event(result["eventId"])
    assert event["topic"] == "addon.install"
    assert event["status"] == "finished"
    return name


@pytest.fixture(scope="module")
def bundle(ayon, addon) -> str:
    name = f"bundle_{uid()[:8]}"
    ayon.create_bundle(name, {addon: "1.0.0"}, "1.1.0", dependency_packages={"linux": "deps.zip"}, is_production=True)
    return name


@pytest.fixture(scope="module")
def artist(ayon, ayon_url) -> ServerAPI:
    name = f"addon_artist_{uid()[:6]}"
    ayon.create_user(name, password="artist-password-1")
    api = ServerAPI(ayon_url)
    api.login(name, "artist-password-1")
    return api


def test_uploaded_addon_is_listed_with_versions_and_settings_flags(ayon, addon):
    info = ayon.get_addons_info(details=True)
    item = next(a for a in info["addons"] if a["name"] == addon)
    assert item["title"] == f"Conformance {addon}"
    assert list(item["versions"]) == ["1.0.0"]
    version = item["versions"]["1.0.0"]
    assert version["hasSettings"] is True
    assert version["hasSiteSettings"] is True
    assert {"type": "server", "filename": "client.zip"} in version["clientSourceInfo"]
    assert ayon.get_addon_endpoint(addon, "1.0.0", "private", "client.zip") == f"addons/{addon}/1.0.0/private/client.zip"


def test_private_file_downloads_byte_for_byte_and_public_file_needs_no_login(ayon, addon, ayon_url, tmp_path):
    dst = ayon.download_addon_private_file(addon, "1.0.0", "client.zip", str(tmp_path))
    assert open(dst, "rb").read() == PRIVATE
    assert requests.get(f"{ayon_url}/addons/{addon}/1.0.0/private/client.zip", timeout=10).status_code == 401
    public = requests.get(f"{ayon_url}/addons/{addon}/1.0.0/public/readme.txt", timeout=10)
    assert public.status_code == 200 and public.content == b"public readme"
    # a path that leaves the folder names nothing (sent unnormalised)
    s = requests.Session()
    req = requests.Request("GET", f"{ayon_url}/addons/{addon}/1.0.0/public/../server/__init__.py").prepare()
    req.url = f"{ayon_url}/addons/{addon}/1.0.0/public/../server/__init__.py"
    assert s.send(req, timeout=10).status_code == 404


def test_duplicate_upload_is_a_conflict(ayon, addon, tmp_path):
    path = tmp_path / "dup.zip"
    path.write_bytes(build_zip(addon, "1.0.0"))
    with pytest.raises(requests.HTTPError) as exc:
        ayon.upload_addon_zip(str(path))
    assert exc.value.response.status_code == 409


@pytest.mark.parametrize(
    "what",
    ["not-a-zip", "traversal", "absolute", "symlink"],
)
def test_bad_zips_are_refused_and_nothing_is_installed(ayon, tmp_path, what):
    name = f"bad_{uid()[:8]}"
    if what == "not-a-zip":
        data = b"this is plain text, not a zip archive" * 10
    elif what == "traversal":
        data = build_zip(name, "1.0.0", extra={"../../evil.py": b"x"})
    elif what == "absolute":
        data = build_zip(name, "1.0.0", extra={"/etc/evil": b"x"})
    else:
        data = build_zip(name, "1.0.0", symlink="private/link")
    path = tmp_path / f"{what}.zip"
    path.write_bytes(data)
    with pytest.raises(requests.HTTPError) as exc:
        ayon.upload_addon_zip(str(path))
    assert exc.value.response.status_code == 400
    assert exc.value.response.json()["code"] == 400
    assert name not in {a["name"] for a in ayon.get_addons_info(details=False)["addons"]}


def test_bundles_create_list_check_patch_delete(ayon, addon, bundle):
    bundles = ayon.get_bundles()
    assert bundles["productionBundle"] == bundle
    item = next(b for b in bundles["bundles"] if b["name"] == bundle)
    assert item["addons"] == {addon: "1.0.0"}
    assert item["installerVersion"] == "1.1.0"
    assert item["dependencyPackages"] == {"linux": "deps.zip"}
    assert item["isProduction"] is True and item["isStaging"] is False
    assert ayon.get_addons_info()["addons"][0]  # listing still works
    assert next(a for a in ayon.get_addons_info()["addons"] if a["name"] == addon)["productionVersion"] == "1.0.0"

    ok = ayon.check_bundle_compatibility("x", {addon: "1.0.0"}, "1.1.0")
    assert ok == {"success": True, "issues": []}
    bad = ayon.check_bundle_compatibility("x", {addon: "9.9.9"}, "1.1.0")
    assert bad["success"] is False and bad["issues"][0]["severity"] == "error"
    with pytest.raises(HTTPRequestError) as exc:
        ayon.create_bundle(f"b_{uid()[:6]}", {addon: "9.9.9"}, "1.1.0")
    assert _status(exc) == 400

    staging = f"staging_{uid()[:6]}"
    ayon.create_bundle(staging, {addon: "1.0.0"}, "1.1.0", is_staging=True)
    ayon.update_bundle(staging, dependency_packages={"windows": "win.zip"})
    archive = ayon.patch(f"bundles/{staging}", isArchived=True)
    assert archive.status_code == 400  # staging bundles cannot be archived
    listed = ayon.get_bundles()
    assert listed["stagingBundle"] == staging
    assert next(b for b in listed["bundles"] if b["name"] == staging)["dependencyPackages"] == {"windows": "win.zip"}
    ayon.update_bundle(staging, is_staging=False)
    ayon.delete_bundle(staging)
    assert staging not in {b["name"] for b in ayon.get_bundles()["bundles"]}


def test_settings_defaults_studio_project_and_site_resolve_in_order(ayon, addon, bundle, project):
    schema = ayon.get_addon_settings_schema(addon, "1.0.0")
    assert schema["type"] == "object" and schema["title"] == f"Conformance {addon}"
    assert ayon.get_addon_site_settings_schema(addon, "1.0.0")["properties"]["local_root"]["type"] == "string"

    defaults = ayon.get_addon_studio_settings(addon, "1.0.0")
    assert defaults == {"enabled": True, "threads": 8, "extensions": [".exr"], "paths": {"root": "/mnt/projects", "cache": "/tmp/cache"}}

    ayon.set_addon_studio_settings(addon, "1.0.0", {**defaults, "threads": 16, "paths": {"root": "/studio", "cache": "/tmp/cache"}})
    assert ayon.get_addon_studio_raw_overrides(addon, "1.0.0") == {"threads": 16, "paths": {"root": "/studio"}}
    studio = ayon.get_addon_settings(addon, "1.0.0")
    assert studio["threads"] == 16 and studio["paths"] == {"root": "/studio", "cache": "/tmp/cache"}
    # other variants keep the defaults
    assert ayon.get_addon_studio_settings(addon, "1.0.0", variant="staging")["threads"] == 8

    ayon.set_addon_project_settings(addon, "1.0.0", project, {**studio, "extensions": [".exr", ".png"]})
    proj = ayon.get_addon_project_settings(addon, "1.0.0", project)
    assert proj == {"enabled": True, "threads": 16, "extensions": [".exr", ".png"], "paths": {"root": "/studio", "cache": "/tmp/cache"}}
    assert ayon.get_addon_settings(addon, "1.0.0", project_name=project) == proj
    assert ayon.get_addon_project_raw_overrides(addon, "1.0.0", project) == {"extensions": [".exr", ".png"]}

    # project-site overrides of this user apply with the site id only
    ayon.set_addon_project_settings(addon, "1.0.0", project, {**proj, "enabled": False}, site_id="site-a")
    assert ayon.get_addon_project_settings(addon, "1.0.0", project, site_id="site-a")["enabled"] is False
    assert ayon.get_addon_project_settings(addon, "1.0.0", project, use_site=False)["enabled"] is True

    # bulk readers
    assert ayon.get_addons_settings()[addon] == studio
    assert ayon.get_addons_studio_settings()[addon] == studio
    assert ayon.get_addons_project_settings(project)[addon] == proj
    assert ayon.get_addons_settings(project_name=project, site_id="site-a")[addon]["enabled"] is False
    full = ayon.get_bundle_settings(project_name=project)
    assert full["bundleName"] == bundle and full["projectName"] == project
    entry = next(a for a in full["addons"] if a["name"] == addon)
    assert entry["version"] == "1.0.0" and entry["settings"] == proj
    assert entry["hasStudioOverrides"] is True and entry["hasProjectOverrides"] is True
    full = ayon.get_addons_settings(bundle_name=bundle, only_values=False)
    assert full["bundleName"] == bundle and next(a for a in full["addons"] if a["name"] == addon)["settings"] == studio

    # site settings are per site
    ayon.set_addon_site_settings(addon, "1.0.0", {"local_root": "/fast/disk"}, site_id="site-a")
    assert ayon.get_addon_site_settings(addon, "1.0.0", site_id="site-a") == {"local_root": "/fast/disk"}
    assert ayon.get_addon_site_settings(addon, "1.0.0", site_id="site-b") == {"local_root": "~/ayon"}
    assert ayon.get_addon_site_settings(addon, "1.0.0") == {}  # no site id on the connection
    with_site = ayon.get_bundle_settings(site_id="site-a")
    assert next(a for a in with_site["addons"] if a["name"] == addon)["siteSettings"] == {"local_root": "/fast/disk"}

    # overrides: listing, removing one path, removing all
    ovr = ayon.get_addon_project_overrides(addon, "1.0.0", project)
    assert ovr["root_threads"]["level"] == "studio" and ovr["root_extensions"]["level"] == "project"
    ayon.modify_addon_studio_overrides(addon, "1.0.0", "delete", ["threads"])
    assert ayon.get_addon_studio_settings(addon, "1.0.0")["threads"] == 8
    ayon.delete_addon_project_overrides(addon, "1.0.0", project)
    assert ayon.get_addon_project_settings(addon, "1.0.0", project)["extensions"] == [".exr"]

    events = list(ayon.get_events(topics={"settings.changed"}, fields={"id", "topic", "description"}))
    assert any(e["description"].startswith(f"{addon} 1.0.0 ") for e in events)


def test_settings_of_a_dev_bundle_variant(ayon, addon, bundle):
    dev = f"dev_{uid()[:6]}"
    ayon.create_bundle(dev, {addon: "1.0.0"}, "1.1.0", is_dev=True)
    assert dev in ayon.get_bundles()["devBundles"]
    ayon.set_addon_studio_settings(addon, "1.0.0", {"threads": 2}, variant=dev)
    assert ayon.get_addons_settings(variant=dev)[addon]["threads"] == 2
    assert ayon.get_addons_settings()[addon]["threads"] != 2
    # the dev overrides copied to the staging variant of the production bundle's addon versions
    ayon.migrate_settings_by_bundle(dev, bundle, dev, "staging")
    assert ayon.get_addon_studio_settings(addon, "1.0.0", variant="staging")["threads"] == 2
    ayon.delete_bundle(dev)


def test_settings_that_do_not_match_the_schema_are_refused(ayon, addon, project):
    before = ayon.get_addon_studio_settings(addon, "1.0.0")
    for bad in ({"threads": 0}, {"threads": "many"}, {"extensions": [1]}, {"unknown": True}):
        with pytest.raises(HTTPRequestError) as exc:
            ayon.set_addon_studio_settings(addon, "1.0.0", bad)
        assert _status(exc) == 400
        body = exc.value.response.json()
        assert body["code"] == 400 and body["detail"] == "Invalid settings" and body["errors"]
    with pytest.raises(HTTPRequestError) as exc:
        ayon.set_addon_project_settings(addon, "1.0.0", project, {"threads": 100})
    assert _status(exc) == 400
    assert ayon.get_addon_studio_settings(addon, "1.0.0") == before


def test_artists_read_but_cannot_install_change_settings_or_bundles(artist, addon, bundle, tmp_path):
    assert addon in {a["name"] for a in artist.get_addons_info()["addons"]}
    assert artist.get_addon_studio_settings(addon, "1.0.0")["threads"] >= 1
    with pytest.raises(HTTPRequestError) as exc:
        artist.set_addon_studio_settings(addon, "1.0.0", {"threads": 3})
    assert _status(exc) == 403
    with pytest.raises(HTTPRequestError) as exc:
        artist.create_bundle(f"a_{uid()[:6]}", {addon: "1.0.0"}, "1.1.0")
    assert _status(exc) == 403
    path = tmp_path / "a.zip"
    path.write_bytes(build_zip(f"art_{uid()[:6]}", "1.0.0"))
    with pytest.raises(requests.HTTPError) as exc2:
        artist.upload_addon_zip(str(path))
    assert exc2.value.response.status_code == 403


def test_delete_addon_version_and_addon(ayon, tmp_path):
    name = f"del_{uid()[:8]}"
    for v in ("1.0.0", "2.0.0"):
        p = tmp_path / f"{v}.zip"
        p.write_bytes(build_zip(name, v))
        ayon.upload_addon_zip(str(p))
    ayon.delete_addon_version(name, "1.0.0", purge=True)
    item = next(a for a in ayon.get_addons_info()["addons"] if a["name"] == name)
    assert list(item["versions"]) == ["2.0.0"]
    with pytest.raises(Exception):
        ayon.download_addon_private_file(name, "1.0.0", "client.zip", str(tmp_path))
    ayon.delete_addon(name)
    assert name not in {a["name"] for a in ayon.get_addons_info()["addons"]}


def _pb_zip(name: str, version: str) -> bytes:
    """An addon whose versions a project bundle may choose (project_can_override_addon_version)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "package.py",
            f'name = "{name}"\ntitle = "PB {name}"\nversion = "{version}"\nproject_can_override_addon_version = True\n',
        )
        z.writestr("settings/schema.json", json.dumps(SCHEMA))
    return buf.getvalue()


def test_project_bundle_set_read_used_by_settings_and_unset(ayon, artist, addon, bundle, project, tmp_path):
    pb_addon = f"pb_{uid()[:8]}"
    for v in ("1.0.0", "2.0.0"):
        p = tmp_path / f"pb-{v}.zip"
        p.write_bytes(_pb_zip(pb_addon, v))
        ayon.upload_addon_zip(str(p))
    ayon.update_bundle(bundle, addon_versions={addon: "1.0.0", pb_addon: "1.0.0"})
    pb_name = f"__project__{project}__production"
    try:
        info = ayon.get_project_bundle(project)
        assert info["addons"][pb_addon] == "1.0.0"  # no project bundle yet: the studio version
        assert addon not in info["addons"]  # its versions cannot be chosen per project
        meta = next(m for m in info["addonMetadata"] if m["name"] == pb_addon)
        assert [o["value"] for o in meta["options"]] == ["__inherit__", "__disable__", "2.0.0", "1.0.0"]

        # refused: plain users, unknown versions, addons that do not allow it, unknown projects
        for call, status in (
            (lambda: artist.set_project_bundle(project, {pb_addon: "2.0.0"}), 403),
            (lambda: artist.get_project_bundle(project), 403),
            (lambda: ayon.set_project_bundle(project, {pb_addon: "7.7.7"}), 404),
            (lambda: ayon.set_project_bundle(project, {addon: "1.0.0"}), 400),
            (lambda: ayon.set_project_bundle("no_such_project_pb", {pb_addon: "2.0.0"}), 404),
        ):
            with pytest.raises(HTTPRequestError) as exc:
                call()
            assert _status(exc) == status
        assert "bundle" not in ayon.get_project(project)["data"]

        ayon.set_project_bundle(project, {pb_addon: "2.0.0"}, installer_version="1.2.0", dependency_packages={"linux": "pb.zip"})
        assert ayon.get_project(project)["data"]["bundle"] == {"production": pb_name}
        gq = ayon.query_graphql(f'{{ project(name: "{project}") {{ bundle {{ production staging }} }} }}')
        assert gq.data["data"]["project"]["bundle"] == {"production": pb_name, "staging": None}
        info = ayon.get_project_bundle(project, variant="production")
        assert info["addons"][pb_addon] == "2.0.0"
        assert info["installerVersion"] == "1.2.0" and info["dependencyPackages"] == {"linux": "pb.zip"}
        listed = next(b for b in ayon.get_bundles()["bundles"] if b["name"] == pb_name)
        assert listed["isProject"] is True and listed["isProduction"] is False

        full = ayon.get_addons_settings(project_name=project, only_values=False)
        assert full["bundleName"] == pb_name
        item = next(a for a in full["addons"] if a["name"] == pb_addon)
        assert item["version"] == "2.0.0" and item["isProjectBundle"] is True
        assert addon in full["inheritedAddons"] and pb_addon not in full["inheritedAddons"]
        assert next(a for a in full["addons"] if a["name"] == addon)["isProjectBundle"] is False
        # the studio keeps its bundle; a render farm can name the project bundle alone
        studio = ayon.get_addons_settings(only_values=False)
        assert next(a for a in studio["addons"] if a["name"] == pb_addon)["version"] == "1.0.0"
        farm = ayon.get_bundle_settings(project_bundle_name=pb_name)
        assert farm["projectName"] == project
        assert next(a for a in farm["addons"] if a["name"] == pb_addon)["version"] == "2.0.0"

        # frozen: the project holds a full copy of its settings, later studio edits do not reach it
        ayon.set_addon_studio_settings(pb_addon, "2.0.0", {"threads": 40})
        assert ayon.get_addon_project_settings(pb_addon, "2.0.0", project, use_site=False)["threads"] == 4
        ayon.set_addon_project_settings(pb_addon, "2.0.0", project, {"threads": 30})
        # a frozen addon keeps the whole model as project settings; its overrides cannot be edited
        assert ayon.get_addon_project_raw_overrides(pb_addon, "2.0.0", project)["threads"] == 30
        assert ayon.get_addon_project_raw_overrides(pb_addon, "2.0.0", project)["paths"] == {"root": "/mnt/projects", "cache": "/tmp/cache"}
        with pytest.raises(HTTPRequestError) as exc:
            ayon.delete_addon_project_overrides(pb_addon, "2.0.0", project)
        assert _status(exc) == 400

        with pytest.raises(HTTPRequestError) as exc:
            artist.unset_project_bundle(project)
        assert _status(exc) == 403
        ayon.unset_project_bundle(project)
        assert "bundle" not in ayon.get_project(project)["data"]
        assert pb_name not in {b["name"] for b in ayon.get_bundles()["bundles"]}
        after = ayon.get_addons_settings(project_name=project, only_values=False)
        assert after["bundleName"] == bundle and after["inheritedAddons"] == []
        assert next(a for a in after["addons"] if a["name"] == pb_addon)["version"] == "1.0.0"
        # the project's overrides moved to the studio version
        assert ayon.get_addon_project_settings(pb_addon, "1.0.0", project, use_site=False)["threads"] == 30
    finally:
        try:
            ayon.unset_project_bundle(project)
        except Exception:
            pass
        ayon.update_bundle(bundle, addon_versions={addon: "1.0.0", pb_addon: None})
        ayon.delete_addon(pb_addon, purge=True)
