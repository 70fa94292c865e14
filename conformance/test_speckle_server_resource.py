"""specklepy 3.x ServerResource (seeds 001/002) against Atrium, with the real client.

What the real Speckle server does is in shared/reference/speckle.md §2–4; every assertion here is
one of those facts. ServerResource's get/apps/create_token/revoke_token *return* the exception
object on a GraphQL error instead of raising it (speckle.md §3.3), so the error tests check the
returned value's type and message.

Note: specklepy 3.2.8's pydantic models expose snake_case attributes (`info.admin_contact`,
`info.workspaces.workspaces_enabled`); the camelCase spelling used in the seed's doc page is the wire
name, checked here on the raw GraphQL answer.
"""

from __future__ import annotations

import re
import secrets
import time

import pytest
import requests
from gql.transport.exceptions import TransportServerError
from specklepy.api.client import SpeckleClient
from specklepy.core.api.models import ServerInfo, User
from specklepy.logging.exceptions import GraphQLException, SpeckleException

ADMIN_EMAIL = "admin@example.com"  # made by the admin_user fixture (conftest.py)
ADMIN_NAME = "Admin"

TOKEN_RE = re.compile(r"^[0-9a-f]{42}$")
USER_ID_RE = re.compile(r"^[0-9a-f]{10}$")
ONE_HOUR_MS = 3_600_000

INVALID_TOKEN_BODY = {"error": "Your token is not valid."}
MSG_SCOPES_NOT_HELD = "You can't create a token with scopes that you don't have"
MSG_NO_TOKENS_WRITE = "You can't create a personal access token with the tokens:write scope"

# speckle.md §2.4 (wire text of the public scopes)
PUBLIC_SCOPE_DESCRIPTIONS = {
    "streams:read": "Read your streams, and any associated information (branches, commits, objects).",
    "streams:write": "Create streams on your behalf, and any associated data (branches, commits, objects).",
    "profile:read": "Read your profile information.",
    "profile:write": "Make actions on your profile.",
    "profile:email": "Read the email address you registered with.",
    "users:read": "Read other users' profiles.",
    "server:stats": 'Request server stats from the API. Only works in conjunction with a "server:admin" role.',
}
NON_PUBLIC_SCOPES = {"profile:delete", "users:email", "server:setup", "tokens:read", "tokens:write", "apps:read", "apps:write"}

# speckle.md §2.7
DEFAULT_APP_IDS = {"spklwebapp", "explorer", "sdm", "sca", "sdas", "sdui", "connectrV3", "spklexcel", "spklpwerbi", "spklautoma"}

SERVER_VERSION_PROBE = "query Server {\n  serverInfo {\n    version\n  }\n}"
ACTIVE_USER_QUERY = "query User {\n  data: activeUser {\n    id\n    email\n    name\n    role\n  }\n}"


def client_for(server, token: str | None = None) -> SpeckleClient:
    client = SpeckleClient(host=server.host, use_ssl=False)
    if token is not None:
        client.authenticate_with_token(token)
    return client


def error_messages(result) -> list[str]:
    assert isinstance(result, GraphQLException), f"expected a returned GraphQLException, got {result!r}"
    return [e.get("message", "") for e in (result.errors or [])]


def error_codes(result) -> list[str]:
    assert isinstance(result, GraphQLException), f"expected a returned GraphQLException, got {result!r}"
    return [(e.get("extensions") or {}).get("code") for e in (result.errors or [])]


def parse_version(v: str) -> tuple:
    """specklepy's own parsing (server_resource.version)."""
    return tuple(int(s) if s.isdigit() else s for s in re.split(r"\.|-", v))


@pytest.fixture
def admin_id(speckle_client) -> str:
    me = speckle_client.active_user.get()
    assert me is not None
    return me.id


# --- anonymous probes ------------------------------------------------------------------------


def test_unauthenticated_server_version_probe_answers_200_with_version(server):
    # byte-for-byte what SpeckleClient.__init__ posts, with no Authorization header (§4.3)
    r = requests.post(
        server.url + "/graphql",
        json={"query": SERVER_VERSION_PROBE},
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    version = body["data"]["serverInfo"]["version"]
    assert isinstance(version, str) and version


def test_empty_authorization_header_is_treated_as_anonymous(server, graphql):
    # the viewer's URL resolver sends `Authorization: ""` when anonymous (§2.1)
    r = graphql(SERVER_VERSION_PROBE, headers={"Authorization": ""})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["serverInfo"]["version"]


def test_anonymous_client_reads_server_version_and_gets_no_active_user(server):
    client = client_for(server)
    assert isinstance(client.server.version(), tuple)
    # activeUser is null for anonymous callers (§5), which specklepy returns as None
    assert client.active_user.get() is None


# --- server.get() ----------------------------------------------------------------------------


def test_server_get_returns_serverinfo_with_every_field(server, speckle_client):
    info = speckle_client.server.get()
    assert isinstance(info, ServerInfo), f"server.get() returned {info!r}"

    assert isinstance(info.name, str) and info.name.strip()
    assert isinstance(info.company, str)
    assert isinstance(info.description, str)
    assert isinstance(info.admin_contact, str)
    assert info.canonical_url == server.url

    assert isinstance(info.version, str) and info.version
    parsed = parse_version(info.version)
    assert parsed == ("dev",) or (all(isinstance(p, int) for p in parsed[:3]) and len(parsed) >= 3), info.version

    scopes = {s["name"]: s["description"] for s in info.scopes}
    assert scopes.get("streams:read") == PUBLIC_SCOPE_DESCRIPTIONS["streams:read"]
    assert all(isinstance(d, str) and d for d in scopes.values())

    strategies = {s["id"]: s for s in info.auth_strategies}
    assert "local" in strategies, info.auth_strategies
    assert strategies["local"]["name"]

    assert info.workspaces is not None
    assert info.workspaces.workspaces_enabled is False


def test_server_get_lists_only_public_scopes_with_their_wire_descriptions(speckle_client):
    info = speckle_client.server.get()
    scopes = {s["name"]: s["description"] for s in info.scopes}
    for name, description in PUBLIC_SCOPE_DESCRIPTIONS.items():
        assert scopes.get(name) == description, name
    assert not (NON_PUBLIC_SCOPES & scopes.keys()), sorted(NON_PUBLIC_SCOPES & scopes.keys())


def test_server_info_wire_names_are_camel_case(graphql, admin_token, server):
    r = graphql(
        "query Server { serverInfo { name company description adminContact canonicalUrl version "
        "scopes { name description } authStrategies { id name icon } workspaces { workspacesEnabled } } }",
        token=admin_token,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    info = body["data"]["serverInfo"]
    assert info["canonicalUrl"] == server.url
    assert isinstance(info["adminContact"], str)
    assert info["workspaces"] == {"workspacesEnabled": False}


def test_authenticate_with_token_stores_user_and_server_info_on_the_account(server, speckle_client):
    account = speckle_client.account
    assert account.userInfo.email == ADMIN_EMAIL
    assert account.userInfo.name == ADMIN_NAME
    assert USER_ID_RE.match(account.userInfo.id or "")
    assert account.serverInfo.url == server.url
    assert account.serverInfo.name


# --- server.version() ------------------------------------------------------------------------


def test_server_version_returns_a_tuple_of_ints_like_2_31_14(speckle_client):
    version = speckle_client.server.version()
    assert isinstance(version, tuple)
    assert len(version) >= 3
    assert all(isinstance(p, int) for p in version[:3]), version
    # invites and other gated calls need >= 2.6.4 (§4.2)
    assert version[:3] >= (2, 6, 4)


def test_server_version_tuple_matches_serverinfo_version_string(speckle_client):
    assert speckle_client.server.version() == parse_version(speckle_client.server.get().version)


# --- server.apps() ---------------------------------------------------------------------------


def test_server_apps_lists_the_default_apps(speckle_client):
    apps = speckle_client.server.apps()
    assert isinstance(apps, list), f"server.apps() returned {apps!r}"
    ids = {a["id"] for a in apps}
    assert DEFAULT_APP_IDS <= ids, sorted(DEFAULT_APP_IDS - ids)


def test_server_apps_items_have_every_requested_key(speckle_client):
    apps = speckle_client.server.apps()
    for app in apps:
        for key in ("id", "name", "description", "termsAndConditionsLink", "trustByDefault", "logo", "author"):
            assert key in app, (app.get("id"), key)
        assert isinstance(app["name"], str) and app["name"]
        assert app["trustByDefault"] is None or isinstance(app["trustByDefault"], bool)
        if app["author"] is not None:
            assert {"id", "name", "avatar"} <= app["author"].keys()


def test_server_apps_without_apps_read_scope_returns_forbidden_error(server, admin_user):
    client = client_for(server, server.create_token(["profile:read", "streams:read"]))
    result = client.server.apps()
    assert "FORBIDDEN" in error_codes(result)


# --- active_user.get() -----------------------------------------------------------------------


def test_active_user_get_returns_the_admin_profile(speckle_client):
    me = speckle_client.active_user.get()
    assert isinstance(me, User)
    assert USER_ID_RE.match(me.id), me.id
    assert me.email == ADMIN_EMAIL
    assert me.name == ADMIN_NAME
    assert me.role == "server:admin"


# --- server.create_token() -------------------------------------------------------------------


def test_create_token_returns_42_char_lower_hex_token(speckle_client):
    token = speckle_client.server.create_token("conformance child", ["streams:read", "profile:read"], ONE_HOUR_MS)
    assert isinstance(token, str), f"create_token returned {token!r}"
    assert TOKEN_RE.match(token), token


def test_created_token_authenticates_a_second_client_as_the_admin(server, speckle_client, admin_id):
    token = speckle_client.server.create_token(
        "second client", ["streams:read", "profile:read", "profile:email"], ONE_HOUR_MS
    )
    assert isinstance(token, str), token
    second = client_for(server, token)
    me = second.active_user.get()
    assert me is not None
    assert me.id == admin_id
    assert me.email == ADMIN_EMAIL


def test_token_without_profile_email_sees_its_own_email_redacted(server, speckle_client, admin_id):
    token = speckle_client.server.create_token("no email", ["streams:read", "profile:read"], ONE_HOUR_MS)
    me = client_for(server, token).active_user.get()
    assert me.id == admin_id
    assert me.email is None  # redacted to null, not an error (§5)


def test_token_with_only_streams_read_is_refused_active_user(server, speckle_client, graphql):
    token = speckle_client.server.create_token("read only", ["streams:read"], ONE_HOUR_MS)
    assert isinstance(token, str), token

    # activeUser needs profile:read → FORBIDDEN, which authenticate_with_token raises (§5, §3.3)
    with pytest.raises(GraphQLException) as raised:
        client_for(server, token)
    codes = [(e.get("extensions") or {}).get("code") for e in raised.value.errors or []]
    assert "FORBIDDEN" in codes, raised.value.errors

    # on the wire: HTTP 200 (FORBIDDEN is not mapped to a status), errors[], activeUser null
    r = graphql(ACTIVE_USER_QUERY, token=token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "profile:read" in body["errors"][0]["message"]
    assert (body.get("data") or {}).get("data") is None


def test_create_token_with_a_scope_the_caller_lacks_returns_error(server, admin_user):
    limited = client_for(server, server.create_token(["tokens:write", "profile:read", "streams:read"]))
    result = limited.server.create_token("escalate", ["streams:read", "streams:write"], ONE_HOUR_MS)
    assert any(MSG_SCOPES_NOT_HELD in m for m in error_messages(result)), result.errors


def test_create_token_with_an_unknown_scope_returns_scopes_not_held_error(speckle_client):
    result = speckle_client.server.create_token("unknown", ["streams:read", "no-such:scope"], ONE_HOUR_MS)
    assert any(MSG_SCOPES_NOT_HELD in m for m in error_messages(result)), result.errors


def test_create_token_with_tokens_write_returns_token_create_error(speckle_client):
    result = speckle_client.server.create_token("minting", ["streams:read", "tokens:write"], ONE_HOUR_MS)
    assert any(MSG_NO_TOKENS_WRITE in m for m in error_messages(result)), result.errors
    assert "TOKEN_CREATE_ERROR" in error_codes(result)


def test_create_token_with_no_scopes_returns_error(speckle_client):
    result = speckle_client.server.create_token("empty", [], ONE_HOUR_MS)
    assert any("No scopes provided" in m for m in error_messages(result)), result.errors


def test_create_token_without_tokens_write_scope_is_forbidden(server, admin_user):
    client = client_for(server, server.create_token(["profile:read", "streams:read"]))
    result = client.server.create_token("nope", ["streams:read"], ONE_HOUR_MS)
    assert "FORBIDDEN" in error_codes(result)


# --- server.revoke_token() -------------------------------------------------------------------


def test_revoke_token_returns_true_and_the_token_then_fails_authentication(server, speckle_client, graphql):
    token = speckle_client.server.create_token("to revoke", ["streams:read", "profile:read"], ONE_HOUR_MS)
    assert isinstance(token, str), token
    assert client_for(server, token).active_user.get() is not None

    assert speckle_client.server.revoke_token(token) is True

    with pytest.raises(SpeckleException) as raised:
        client_for(server, token)
    inner = raised.value.exception
    assert isinstance(inner, TransportServerError) and inner.code == 403, repr(inner)

    r = graphql(SERVER_VERSION_PROBE, token=token)
    assert r.status_code == 403
    assert r.json() == INVALID_TOKEN_BODY


def test_revoke_token_accepts_a_bearer_prefixed_token(speckle_client, graphql):
    token = speckle_client.server.create_token("bearer revoke", ["streams:read"], ONE_HOUR_MS)
    assert speckle_client.server.revoke_token(f"Bearer {token}") is True
    assert graphql(SERVER_VERSION_PROBE, token=token).status_code == 403


def test_revoking_the_same_token_twice_returns_did_not_revoke_error(speckle_client):
    token = speckle_client.server.create_token("twice", ["streams:read"], ONE_HOUR_MS)
    assert speckle_client.server.revoke_token(token) is True
    result = speckle_client.server.revoke_token(token)
    assert any("Did not revoke token" in m for m in error_messages(result)), result.errors


def test_revoking_one_token_leaves_the_callers_token_working(speckle_client, admin_id):
    token = speckle_client.server.create_token("sibling", ["streams:read"], ONE_HOUR_MS)
    assert speckle_client.server.revoke_token(token) is True
    assert speckle_client.active_user.get().id == admin_id


def test_revoke_token_cannot_revoke_another_users_token(server, speckle_client, graphql):
    email = f"other-{secrets.token_hex(4)}@example.com"
    server.cli("users", "create", "--email", email, "--name", "Other", "--password", secrets.token_hex(12))
    others_token = server.create_token(["streams:read", "profile:read"], user=email)

    result = speckle_client.server.revoke_token(others_token)
    assert any("Did not revoke token" in m for m in error_messages(result)), result.errors
    # still valid: only the owner's tokens are deleted (§2.6)
    r = graphql(ACTIVE_USER_QUERY, token=others_token)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["data"]["name"] == "Other"


def test_create_token_lifespan_is_in_milliseconds_and_an_expired_token_is_rejected(server, speckle_client, graphql):
    token = speckle_client.server.create_token("short lived", ["streams:read"], 1500)
    assert isinstance(token, str), token
    assert graphql(SERVER_VERSION_PROBE, token=token).status_code == 200
    time.sleep(2.5)
    r = graphql(SERVER_VERSION_PROBE, token=token)
    assert r.status_code == 403, r.text
    assert r.json() == INVALID_TOKEN_BODY


# --- invalid tokens --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "0" * 42,  # well-formed, unknown
        secrets.token_hex(21),  # random 42 hex
        "not-a-token",  # malformed
    ],
    ids=["zeros", "random-hex", "malformed"],
)
def test_invalid_token_gets_403_json_from_graphql(graphql, token):
    r = graphql(SERVER_VERSION_PROBE, token=token)
    assert r.status_code == 403, r.text
    assert r.json() == INVALID_TOKEN_BODY


def test_invalid_token_makes_authenticate_with_token_raise_403(server):
    with pytest.raises(SpeckleException) as raised:
        client_for(server, "0" * 42)
    inner = raised.value.exception
    assert isinstance(inner, TransportServerError) and inner.code == 403, repr(inner)


def test_token_of_another_secret_with_a_known_id_is_rejected(speckle_client, graphql):
    # same 10-char token id, wrong 32-char secret (§2.2: the secret is verified, not just the id)
    token = speckle_client.server.create_token("id reuse", ["streams:read"], ONE_HOUR_MS)
    forged = token[:10] + ("0" * 32 if token[10:] != "0" * 32 else "1" * 32)
    r = graphql(SERVER_VERSION_PROBE, token=forged)
    assert r.status_code == 403
    assert r.json() == INVALID_TOKEN_BODY
