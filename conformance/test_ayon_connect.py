"""AYON connection and auth with the unmodified ayon-python-api: the constructor's probes, login
and logout, API keys (service users) and X-as-user impersonation, the global connection functions
driven by AYON_SERVER_URL/AYON_API_KEY, user administration, access groups and project access."""

from __future__ import annotations

import os
import secrets

import ayon_api
import pytest
import requests
from ayon_api import ServerAPI
from ayon_api.exceptions import AuthenticationError, HTTPRequestError, UnauthorizedError

from test_ayon_support import *  # noqa: F401,F403  (fixtures)


def test_server_is_available_and_reports_an_ayon_version(ayon_url):
    api = ServerAPI(ayon_url)
    assert api.is_server_available
    major, minor, patch, _, build = api.get_server_version_tuple()
    assert (major, minor, patch) >= (1, 14, 2)
    assert "atrium" in api.get_server_version()
    info = api.get_info()
    assert "user" not in info  # anonymous


def test_login_with_email_and_with_login_name(ayon_url, admin_user):
    api = ServerAPI(ayon_url)
    api.login(admin_user["email"], admin_user["password"])
    assert api.has_valid_token
    assert not api.is_service_user()
    token = api.access_token
    assert len(token) == 64 and int(token, 16) >= 0
    me = api.get_user()
    assert me["data"]["isAdmin"] is True
    assert me["attrib"]["email"] == admin_user["email"]
    # the login name Atrium gave the CLI-created admin works too
    again = ServerAPI(ayon_url)
    again.login(me["name"], admin_user["password"])
    assert again.get_user()["name"] == me["name"]
    # a token from login is enough for a new connection (Bearer probe)
    by_token = ServerAPI(ayon_url, token=token)
    assert by_token.has_valid_token and not by_token.is_service_user()
    assert by_token.get_info()["user"]["name"] == me["name"]


def test_wrong_password_is_refused(ayon_url, admin_user):
    api = ServerAPI(ayon_url)
    with pytest.raises(AuthenticationError):
        api.login(admin_user["email"], "not-the-password")
    r = requests.post(ayon_url + "/api/auth/login", json={"name": admin_user["email"], "password": "nope"}, timeout=10)
    assert r.status_code == 403
    assert r.json() == {"code": 403, "detail": "Invalid login/password combination"}


def test_logout_invalidates_the_session(ayon_url, admin_user):
    api = ServerAPI(ayon_url)
    api.login(admin_user["email"], admin_user["password"])
    token = api.access_token
    api.logout()
    r = requests.get(ayon_url + "/api/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 401
    assert r.json()["code"] == 401
    assert not ServerAPI(ayon_url, token=token).has_valid_token


@pytest.fixture(scope="module")
def service_key(ayon) -> str:
    key = secrets.token_hex(16)
    ayon.create_user("conf_service", api_key=key, data={"isService": True})
    ayon.create_user("conf_artist", password="artist-password-1", attrib={"fullName": "Conf Artist", "email": "conf.artist@example.com"})
    return key


def test_api_key_connects_as_a_service_and_a_key_as_bearer_is_refused(ayon_url, service_key):
    api = ServerAPI(ayon_url, token=service_key)
    assert api.has_valid_token
    assert api.is_service_user()
    assert api.get_user()["name"] == "conf_service"
    headers = {"Authorization": f"Bearer {service_key}"}
    assert requests.get(ayon_url + "/api/users/me", headers=headers, timeout=10).status_code == 401
    assert requests.get(ayon_url + "/api/users/me", headers={"X-Api-Key": service_key}, timeout=10).status_code == 200


def test_invalid_api_key_is_not_valid(ayon_url):
    api = ServerAPI(ayon_url, token=secrets.token_hex(16))
    assert not api.has_valid_token
    with pytest.raises(UnauthorizedError):
        api.get_user()


def test_as_username_impersonates_for_services(ayon_url, service_key):
    api = ServerAPI(ayon_url, token=service_key)
    with api.as_username("conf_artist"):
        assert api.get_user()["name"] == "conf_artist"
    assert api.get_user()["name"] == "conf_service"
    api.set_default_service_username("conf_artist")
    assert api.get_user()["name"] == "conf_artist"
    api.set_default_service_username(None)
    assert api.get_user()["name"] == "conf_service"


def test_global_connection_from_environment(ayon_url, service_key, monkeypatch):
    monkeypatch.setenv("AYON_SERVER_URL", ayon_url)
    monkeypatch.setenv("AYON_API_KEY", service_key)
    ayon_api.close_connection()
    try:
        assert ayon_api.get_user()["name"] == "conf_service"
        assert ayon_api.is_connection_created()
        assert ayon_api.get_server_api_connection().is_service_user()
        names = ayon_api.get_project_names()
        assert isinstance(names, list)
    finally:
        ayon_api.close_connection()


def test_speckle_token_works_as_api_key(server, ayon_url, admin_token, admin_user):
    api = ServerAPI(ayon_url, token=admin_token)
    assert api.has_valid_token
    assert api.get_user()["attrib"]["email"] == admin_user["email"]


def test_user_administration(ayon, ayon_url):
    name = "conf_user_" + secrets.token_hex(3)
    ayon.create_user(name, password="first-password-1", attrib={"fullName": "First Name"}, data={"defaultAccessGroups": ["artist"]})
    user = ayon.get_user(name)
    assert user["attrib"]["fullName"] == "First Name"
    assert user["data"]["defaultAccessGroups"] == ["artist"]
    assert "password" not in user["data"] and "password" not in user
    ayon.update_user(name, attrib={"fullName": "Second Name"}, data={"isManager": True})
    assert ayon.get_user(name)["attrib"]["fullName"] == "Second Name"
    users = {u["name"]: u for u in ayon.get_users(usernames=[name])}
    assert users[name]["isManager"] is True
    assert users[name]["hasPassword"] is True
    ayon.change_password(name, password="second-password-2")
    other = ServerAPI(ayon_url)
    other.login(name, "second-password-2")
    assert other.get_user()["name"] == name
    with pytest.raises(HTTPRequestError):
        ayon.create_user(name, password="x-password-1")  # exists: 409
    with pytest.raises(HTTPRequestError):
        ayon.create_user("-bad name-")
    ayon.update_user(name, active=False)
    assert not ServerAPI(ayon_url, token=other.access_token).has_valid_token
    ayon.delete_user(name)
    with pytest.raises(HTTPRequestError):
        ayon.get_user(name)


def test_personal_api_keys(ayon, ayon_url):
    name = "conf_keys_" + secrets.token_hex(3)
    ayon.create_user(name, password="keys-password-1")
    key = secrets.token_urlsafe(24)
    ayon.create_user_api_key(name, "laptop", key)
    keys = ayon.get_user_api_keys(name)
    assert [k["label"] for k in keys] == ["laptop"]
    api = ServerAPI(ayon_url, token=key)
    assert api.has_valid_token and api.get_user()["name"] == name
    ayon.delete_user_api_key(name, keys[0]["id"])
    assert not ServerAPI(ayon_url, token=key).has_valid_token


def test_access_groups_and_project_access(ayon, ayon_url, project):
    groups = [g["name"] for g in ayon.get_access_groups()]
    assert {"artist", "viewer"} <= set(groups)
    name = "conf_access_" + secrets.token_hex(3)
    ayon.create_user(name, password="access-password-1")
    user_api = ServerAPI(ayon_url)
    user_api.login(name, "access-password-1")
    assert project not in user_api.get_project_names()
    assert user_api.get_project(project) is None  # 403 → None

    ayon.set_user_access_groups(name, {project: ["viewer"]})
    user_api = ServerAPI(ayon_url)
    user_api.login(name, "access-password-1")
    assert project in user_api.get_project_names()
    assert user_api.get_project(project)["name"] == project
    with pytest.raises(Exception):  # viewers are read-only
        user_api.create_folder(project, "not_allowed", folder_type="Folder")

    ayon.set_project_user_access_groups(project, name, ["artist"])
    assert ayon.get_project_users(project)[name] == ["artist"]
    user_api = ServerAPI(ayon_url)
    user_api.login(name, "access-password-1")
    folder_id = user_api.create_folder(project, "artist_folder", folder_type="Folder")
    assert user_api.get_folder_by_id(project, folder_id)["name"] == "artist_folder"


def test_cli_created_user_with_username_logs_in(server, ayon_url):
    server.cli("users", "create", "--email", "cli.user@example.com", "--name", "Cli User", "--password", "cli-password-1", "--username", "cliuser")
    api = ServerAPI(ayon_url)
    api.login("cliuser", "cli-password-1")
    assert api.get_user()["name"] == "cliuser"


def test_restart_request_and_openapi(ayon, ayon_url):
    ayon.trigger_server_restart()
    schema = ayon.get_server_schema()
    assert schema["openapi"].startswith("3.")
    assert "/api/projects/{project}/operations" in schema["paths"]
    assert "__schema" in ayon.get_graphql_schema()


def test_cli_user_logs_in_by_derived_name_before_anyone_asked(server, ayon_url):
    # users made elsewhere get a login name from their email when first needed: logging in by it works at once
    server.cli("users", "create", "--email", "late.comer@example.com", "--name", "Late Comer", "--password", "late-password-1")
    api = ServerAPI(ayon_url)
    api.login("late.comer", "late-password-1")
    assert api.get_user()["name"] == "late.comer"
