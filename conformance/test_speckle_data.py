"""specklepy 3.2.8 project/model/version/invite resources and send/receive, against Atrium, driven the
way a user of the SDK drives them (inputs from specklepy.core.api.inputs, results as specklepy's
pydantic models).

What the real Speckle server does is in shared/reference/speckle.md §3.3–3.5 (error shapes), §5
(users), §6 (projects, models, versions, invites) and §8 (objects, send/receive); every assertion here
is one of those facts. specklepy's `make_request_and_parse_response` resources RAISE a
GraphQLException carrying the server's `errors` (speckle.md §3.3), so error cases check
`extensions.code` of the raised exception.

Users other than the admin are made with the atrium CLI (`users create`, `tokens create`).

The 100,000-object send/receive test is marked `slow` (run by default; deselect with `-m "not slow"`);
it prints its timings (`pytest -s` shows them).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from specklepy.api import operations
from specklepy.core.api.enums import ProjectVisibility
from specklepy.core.api.inputs import (
    CreateModelInput,
    CreateVersionInput,
    DeleteModelInput,
    DeleteVersionsInput,
    MarkReceivedVersionInput,
    MoveVersionsInput,
    ProjectCreateInput,
    ProjectInviteCreateInput,
    ProjectInviteUseInput,
    ProjectModelsFilter,
    ProjectUpdateInput,
    UpdateModelInput,
    UpdateVersionInput,
    UserProjectsFilter,
)
from specklepy.core.api.models import (
    LimitedUser,
    Model,
    ModelWithVersions,
    Project,
    ProjectWithModels,
    ProjectWithTeam,
    ResourceCollection,
    Version,
)
from specklepy.logging.exceptions import GraphQLException
from specklepy.objects.base import Base
from specklepy.objects.geometry import Mesh
from specklepy.objects.models.collections.collection import Collection
from specklepy.transports.memory import MemoryTransport
from specklepy.transports.server import ServerTransport

from helpers_speckle_data import (
    build_model,
    client_for,
    content_digest,
    error_codes,
    ids_digest,
    error_messages,
    make_user,
)

HEX10 = re.compile(r"^[0-9a-f]{10}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
RECEIVE_SCRIPT = Path(__file__).resolve().parent / "helpers_speckle_receive.py"

BAD_MODEL_NAMES = ["#hash", "$dollar", "/leading", "trailing/", "a//b", "a,b", "back\\slash"]
MODEL_NAME_RULES = (
    'Model names cannot start with "#", "$", start or end with "/", have multiple slashes next to each '
    'other (e.g., "//") or contain commas or backwards slashes.'
)


def raises_code(fn, *codes: str) -> GraphQLException:
    """Calls fn, expects specklepy to raise a GraphQLException with one of `codes`."""
    with pytest.raises(GraphQLException) as info:
        fn()
    got = error_codes(info.value)
    assert set(got) & set(codes), f"expected one of {codes}, got {got}: {error_messages(info.value)}"
    return info.value


def new_project(client, name: str | None = None, *, visibility=ProjectVisibility.PRIVATE, description=None) -> Project:
    return client.project.create(
        ProjectCreateInput(name=name or f"proj {secrets.token_hex(3)}", description=description, visibility=visibility)
    )


def send_small(client, project_id: str, label: str = "x") -> str:
    """Uploads a small object with operations.send and returns its id."""
    b = Base(applicationId=f"small-{label}")
    b["label"] = label
    b["@mesh"] = Mesh(vertices=[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0], faces=[3, 0, 1, 2], units="m")
    return operations.send(b, [ServerTransport(project_id, client)], use_default_cache=False)


def aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def recent(dt: datetime, slack_s: float = 300) -> bool:
    now = datetime.now(timezone.utc)
    return abs((aware(dt) - now).total_seconds()) < slack_s


# --- users ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def owner(server, admin_user):
    return make_user(server, name=f"Owner {secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def other(server, admin_user):
    return make_user(server, name=f"Other {secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def third(server, admin_user):
    return make_user(server, name=f"Third {secrets.token_hex(3)}")


@pytest.fixture
def oc(server, owner):
    """the owner's specklepy client"""
    return client_for(server, owner.token)


@pytest.fixture
def xc(server, other):
    """the other user's specklepy client"""
    return client_for(server, other.token)


@pytest.fixture
def project(oc) -> Project:
    return new_project(oc, description="made by the data suite")


# --- projects --------------------------------------------------------------------------------


def test_project_create_returns_every_field(oc):
    p = oc.project.create(
        ProjectCreateInput(name="Tower A", description="a tower", visibility=ProjectVisibility.PRIVATE)
    )
    assert isinstance(p, Project)
    assert HEX10.match(p.id), p.id
    assert p.name == "Tower A"
    assert p.description == "a tower"
    assert p.visibility == ProjectVisibility.PRIVATE
    assert p.role == "stream:owner"
    assert isinstance(p.allow_public_comments, bool)
    assert p.source_apps == []
    assert p.workspace_id is None
    assert recent(p.created_at) and recent(p.updated_at)
    assert aware(p.updated_at) >= aware(p.created_at)


def test_project_get_returns_what_create_returned(oc, project):
    got = oc.project.get(project.id)
    assert isinstance(got, Project)
    assert got.model_dump() == project.model_dump()


def test_project_create_makes_the_main_model(oc, owner, project):
    p = oc.project.get_with_models(project.id)
    assert isinstance(p, ProjectWithModels)
    assert p.id == project.id and p.name == project.name
    assert p.models.total_count == 1
    [main] = p.models.items
    assert main.name == "main"
    assert main.display_name == "main"
    assert main.description == "default model"
    assert main.preview_url is None  # no versions yet
    assert main.author is not None and main.author.id == owner.id


def test_project_update_changes_fields_and_bumps_updated_at(oc, project):
    time.sleep(0.01)
    up = oc.project.update(
        ProjectUpdateInput(
            id=project.id, name="Renamed", description="new words", visibility=ProjectVisibility.PUBLIC,
            allow_public_comments=True,
        )
    )
    assert isinstance(up, Project)
    assert up.id == project.id
    assert up.name == "Renamed"
    assert up.description == "new words"
    assert up.visibility == ProjectVisibility.PUBLIC
    assert up.allow_public_comments is True
    assert aware(up.created_at) == aware(project.created_at)
    assert aware(up.updated_at) > aware(project.updated_at)
    # only the given fields change
    up2 = oc.project.update(ProjectUpdateInput(id=project.id, description="only this"))
    assert (up2.name, up2.description, up2.visibility) == ("Renamed", "only this", ProjectVisibility.PUBLIC)
    assert oc.project.get(project.id).model_dump() == up2.model_dump()


def test_project_delete_then_get_raises_stream_not_found(oc):
    p = new_project(oc)
    assert oc.project.delete(p.id) is True
    raises_code(lambda: oc.project.get(p.id), "STREAM_NOT_FOUND")
    assert p.id not in {x.id for x in oc.active_user.get_projects(limit=50).items}


def test_project_get_unknown_raises_stream_not_found(oc):
    exc = raises_code(lambda: oc.project.get("0123456789"), "STREAM_NOT_FOUND")
    assert any("not found" in m.lower() for m in error_messages(exc)), error_messages(exc)


def test_project_get_of_another_users_private_project_raises_forbidden(xc, project):
    raises_code(lambda: xc.project.get(project.id), "FORBIDDEN")
    raises_code(lambda: xc.project.get_with_models(project.id), "FORBIDDEN")
    raises_code(lambda: xc.model.get_models(project.id), "FORBIDDEN")


def test_public_project_is_readable_by_others_but_not_writable(oc, xc, project):
    oc.project.update(ProjectUpdateInput(id=project.id, visibility=ProjectVisibility.PUBLIC))
    got = xc.project.get(project.id)
    assert got.id == project.id
    assert got.visibility == ProjectVisibility.PUBLIC
    assert got.role is None  # not shared explicitly
    raises_code(lambda: xc.project.update(ProjectUpdateInput(id=project.id, name="hijack")), "FORBIDDEN")
    raises_code(lambda: xc.project.delete(project.id), "FORBIDDEN")
    raises_code(
        lambda: xc.model.create(CreateModelInput(name="intruder", project_id=project.id)), "FORBIDDEN"
    )
    assert oc.project.get(project.id).name == project.name


def test_project_get_with_team_lists_the_owner(oc, owner, project):
    p = oc.project.get_with_team(project.id)
    assert isinstance(p, ProjectWithTeam)
    assert p.id == project.id
    assert p.invited_team == []
    [member] = p.team
    assert member.role == "stream:owner"
    assert member.user.id == owner.id
    assert member.user.name == owner.name
    assert isinstance(member.user, LimitedUser)


def test_project_get_permissions_of_the_owner_are_all_ok(oc, project):
    perms = oc.project.get_permissions(project.id)
    for check in (perms.can_create_model, perms.can_delete, perms.can_load):
        assert check.authorized is True
        assert check.code == "OK"
        assert isinstance(check.message, str)


def test_active_user_get_projects_pages_with_the_cursor(server, admin_user):
    user = make_user(server)
    c = client_for(server, user.token)
    assert c.active_user.get_projects().total_count == 0
    made = []
    for i in range(5):
        made.append(new_project(c, f"paged {i}"))
        time.sleep(0.005)

    seen: list[Project] = []
    cursor = None
    pages = 0
    while True:
        page = c.active_user.get_projects(limit=2, cursor=cursor)
        assert isinstance(page, ResourceCollection)
        assert page.total_count == 5
        pages += 1
        assert pages <= 5, "paging does not terminate"
        if not page.items:
            break
        assert len(page.items) <= 2
        assert page.cursor, "a page with items must carry a cursor"
        seen.extend(page.items)
        cursor = page.cursor
    assert [p.id for p in seen] == [p.id for p in reversed(made)], "newest first, no repeats, none missing"
    assert all(p.role == "stream:owner" for p in seen)

    found = c.active_user.get_projects(filter=UserProjectsFilter(search="paged 3"))
    assert [p.id for p in found.items] == [made[3].id]
    assert found.total_count == 1


def test_active_user_get_projects_includes_shared_projects_with_their_role(oc, xc, other, project):
    invite_and_accept(oc, xc, project.id, other, "stream:contributor")
    mine = xc.active_user.get_projects(limit=50)
    shared = [p for p in mine.items if p.id == project.id]
    assert shared and shared[0].role == "stream:contributor"
    only_owned = xc.active_user.get_projects(limit=50, filter=UserProjectsFilter(only_with_roles=["stream:owner"]))
    assert project.id not in {p.id for p in only_owned.items}


# --- models ----------------------------------------------------------------------------------


def test_model_create_lower_cases_the_name_and_derives_display_name(oc, owner, project):
    m = oc.model.create(CreateModelInput(name="Facade/West Panels", description="panels", project_id=project.id))
    assert isinstance(m, Model)
    assert HEX10.match(m.id)
    assert m.name == "facade/west panels"
    assert m.display_name == "west panels"
    assert m.description == "panels"
    assert m.preview_url is None
    assert m.author is not None and m.author.id == owner.id and m.author.name == owner.name
    assert recent(m.created_at)

    got = oc.model.get(m.id, project.id)
    assert got.model_dump() == m.model_dump()


def test_model_get_models_and_get_with_models_page_and_filter(oc, project):
    names = [f"zone {i}" for i in range(4)]
    made = []
    for n in names:
        made.append(oc.model.create(CreateModelInput(name=n, project_id=project.id)))
        time.sleep(0.005)
    all_models = oc.model.get_models(project.id, models_limit=50)
    assert isinstance(all_models, ResourceCollection)
    assert all_models.total_count == 5  # + main
    assert {m.name for m in all_models.items} == set(names) | {"main"}
    # newest-updated first
    assert [m.id for m in all_models.items][:4] == [m.id for m in reversed(made)]

    first = oc.model.get_models(project.id, models_limit=2)
    assert len(first.items) == 2 and first.cursor and first.total_count == 5
    second = oc.model.get_models(project.id, models_limit=2, models_cursor=first.cursor)
    assert len(second.items) == 2
    assert not {m.id for m in first.items} & {m.id for m in second.items}

    filtered = oc.model.get_models(project.id, models_filter=ProjectModelsFilter(search="zone 2"))
    assert [m.id for m in filtered.items] == [made[2].id]
    by_ids = oc.project.get_with_models(project.id, models_filter=ProjectModelsFilter(ids=[made[0].id, made[3].id]))
    assert {m.id for m in by_ids.models.items} == {made[0].id, made[3].id}
    assert by_ids.models.total_count == 2


def test_model_update_renames_and_describes(oc, project):
    m = oc.model.create(CreateModelInput(name="draft", project_id=project.id))
    time.sleep(0.01)
    up = oc.model.update(UpdateModelInput(id=m.id, name="Final/Issued", description="issued", project_id=project.id))
    assert isinstance(up, Model)
    assert up.id == m.id
    assert (up.name, up.display_name, up.description) == ("final/issued", "issued", "issued")
    assert aware(up.updated_at) > aware(m.updated_at)
    assert oc.model.get(m.id, project.id).name == "final/issued"


def test_model_delete_then_get_raises_not_found(oc, project):
    m = oc.model.create(CreateModelInput(name="temporary", project_id=project.id))
    assert oc.model.delete(DeleteModelInput(id=m.id, project_id=project.id)) is True
    exc = raises_code(lambda: oc.model.get(m.id, project.id), "NOT_FOUND_ERROR", "BRANCH_NOT_FOUND", "MODEL_NOT_FOUND")
    assert any("not found" in msg.lower() for msg in error_messages(exc))
    assert m.id not in {x.id for x in oc.model.get_models(project.id).items}


def test_main_model_cannot_be_deleted(oc, project):
    main = oc.project.get_with_models(project.id).models.items[0]
    assert main.name == "main"
    exc = raises_code(lambda: oc.model.delete(DeleteModelInput(id=main.id, project_id=project.id)), "BAD_REQUEST_ERROR")
    assert any("reserved" in m.lower() for m in error_messages(exc)), error_messages(exc)
    assert oc.model.get(main.id, project.id).name == "main"


@pytest.mark.parametrize("bad", BAD_MODEL_NAMES)
def test_bad_model_names_are_refused_with_branch_name_error(oc, project, bad):
    exc = raises_code(lambda: oc.model.create(CreateModelInput(name=bad, project_id=project.id)), "BRANCH_NAME_ERROR")
    assert MODEL_NAME_RULES in error_messages(exc), error_messages(exc)


def test_empty_model_name_is_required(oc, project):
    for empty in ("", "   "):
        exc = raises_code(
            lambda: oc.model.create(CreateModelInput(name=empty, project_id=project.id)), "BRANCH_NAME_ERROR"
        )
        assert "Model name is required" in error_messages(exc)


def test_model_rename_to_a_bad_name_is_refused(oc, project):
    m = oc.model.create(CreateModelInput(name="good", project_id=project.id))
    raises_code(
        lambda: oc.model.update(UpdateModelInput(id=m.id, name="a//b", project_id=project.id)), "BRANCH_NAME_ERROR"
    )
    assert oc.model.get(m.id, project.id).name == "good"


def test_duplicate_model_name_is_refused(oc, project):
    oc.model.create(CreateModelInput(name="Twin", project_id=project.id))
    with pytest.raises(GraphQLException):
        oc.model.create(CreateModelInput(name="twin", project_id=project.id))
    assert [m.name for m in oc.model.get_models(project.id, models_limit=50).items].count("twin") == 1


def test_model_get_with_versions_of_an_empty_model(oc, project):
    m = oc.model.create(CreateModelInput(name="empty", project_id=project.id))
    mv = oc.model.get_with_versions(m.id, project.id)
    assert isinstance(mv, ModelWithVersions)
    assert mv.id == m.id and mv.name == "empty"
    assert mv.versions.total_count == 0
    assert mv.versions.items == []


# --- versions --------------------------------------------------------------------------------


def test_version_lifecycle(server, oc, owner, project):
    m = oc.model.create(CreateModelInput(name="structure", project_id=project.id))
    obj1 = send_small(oc, project.id, "one")
    obj2 = send_small(oc, project.id, "two")
    assert HEX32.match(obj1) and HEX32.match(obj2)

    v1 = oc.version.create(CreateVersionInput(object_id=obj1, model_id=m.id, project_id=project.id, message="first"))
    time.sleep(0.01)
    v2 = oc.version.create(CreateVersionInput(object_id=obj2, model_id=m.id, project_id=project.id))
    for v, obj, msg in ((v1, obj1, "first"), (v2, obj2, None)):
        assert isinstance(v, Version)
        assert HEX10.match(v.id)
        assert v.referenced_object == obj
        assert v.message == msg
        assert v.author_user is not None and v.author_user.id == owner.id
        assert v.preview_url == f"{server.url}/preview/{project.id}/commits/{v.id}"
        assert recent(v.created_at)

    got = oc.version.get(v1.id, project.id)
    assert got.model_dump() == v1.model_dump()

    versions = oc.version.get_versions(m.id, project.id)
    assert versions.total_count == 2
    assert [v.id for v in versions.items] == [v2.id, v1.id], "newest first"
    page = oc.version.get_versions(m.id, project.id, limit=1)
    assert [v.id for v in page.items] == [v2.id] and page.cursor
    page2 = oc.version.get_versions(m.id, project.id, limit=1, cursor=page.cursor)
    assert [v.id for v in page2.items] == [v1.id]

    mv = oc.model.get_with_versions(m.id, project.id)
    assert [v.id for v in mv.versions.items] == [v2.id, v1.id]
    assert mv.preview_url == f"{server.url}/preview/{project.id}/commits/{v2.id}"

    up = oc.version.update(UpdateVersionInput(version_id=v1.id, project_id=project.id, message="renamed"))
    assert isinstance(up, Version)
    assert (up.id, up.message, up.referenced_object) == (v1.id, "renamed", obj1)
    assert oc.version.get(v1.id, project.id).message == "renamed"

    assert oc.version.received(
        MarkReceivedVersionInput(version_id=v1.id, project_id=project.id, source_application="pytest", message="got it")
    ) is True

    # move v1 to a model that does not exist yet: it is created, its id is returned
    target_id = oc.version.move_to_model(
        MoveVersionsInput(target_model_name="Archive/2024", version_ids=[v1.id], project_id=project.id)
    )
    assert isinstance(target_id, str) and HEX10.match(target_id)
    target = oc.model.get(target_id, project.id)
    assert target.name == "archive/2024"
    assert [v.id for v in oc.version.get_versions(target_id, project.id).items] == [v1.id]
    assert [v.id for v in oc.version.get_versions(m.id, project.id).items] == [v2.id]
    # moving into an existing model by name
    assert oc.version.move_to_model(
        MoveVersionsInput(target_model_name="archive/2024", version_ids=[v2.id], project_id=project.id)
    ) == target_id
    assert oc.version.get_versions(m.id, project.id).total_count == 0
    assert oc.version.get_versions(target_id, project.id).total_count == 2

    assert oc.version.delete(DeleteVersionsInput(version_ids=[v1.id, v2.id], project_id=project.id)) is True
    raises_code(lambda: oc.version.get(v1.id, project.id), "NOT_FOUND_ERROR", "COMMIT_NOT_FOUND")
    assert oc.version.get_versions(target_id, project.id).total_count == 0


def test_version_source_application_py_is_returned_as_sent(oc, project):
    # specklepy's CreateVersionInput defaults to sourceApplication "py". speckle.md §6.1/§6.3: the value is
    # mapped to a known slug only when it CONTAINS a known app's search key ("rhino", "python", …);
    # "py" contains none, so it comes back raw — in the version and in the project's sourceApps.
    obj = send_small(oc, project.id, "src")
    main = oc.project.get_with_models(project.id).models.items[0]
    v = oc.version.create(CreateVersionInput(object_id=obj, model_id=main.id, project_id=project.id))
    assert v.source_application == "py"
    assert oc.version.get(v.id, project.id).source_application == "py"
    assert oc.project.get(project.id).source_apps == ["py"]
    # a value containing a known search key is normalised to that app's slug
    v2 = oc.version.create(
        CreateVersionInput(object_id=obj, model_id=main.id, project_id=project.id, source_application="rhino8")
    )
    assert v2.source_application == "rhino"


def test_version_create_without_the_object_raises_commit_create_error(oc, project):
    main = oc.project.get_with_models(project.id).models.items[0]
    exc = raises_code(
        lambda: oc.version.create(
            CreateVersionInput(object_id="f" * 32, model_id=main.id, project_id=project.id)
        ),
        "COMMIT_CREATE_ERROR",
    )
    assert any("Couldn't find commit object" in m for m in error_messages(exc)), error_messages(exc)


def test_version_create_in_an_unknown_project_raises(oc):
    with pytest.raises(GraphQLException) as info:
        oc.version.create(CreateVersionInput(object_id="f" * 32, model_id="0123456789", project_id="0123456789"))
    assert set(error_codes(info.value)) & {"STREAM_NOT_FOUND", "FORBIDDEN"}, error_codes(info.value)


def test_version_get_versions_priority_filter(oc, project):
    from specklepy.core.api.inputs import ModelVersionsFilter

    m = oc.model.create(CreateModelInput(name="prio", project_id=project.id))
    obj = send_small(oc, project.id, "prio")
    vs = []
    for i in range(3):
        vs.append(oc.version.create(CreateVersionInput(object_id=obj, model_id=m.id, project_id=project.id, message=str(i))))
        time.sleep(0.005)
    got = oc.version.get_versions(m.id, project.id, filter=ModelVersionsFilter(priority_ids=[vs[0].id]))
    assert [v.id for v in got.items] == [vs[0].id, vs[2].id, vs[1].id]
    only = oc.version.get_versions(
        m.id, project.id, filter=ModelVersionsFilter(priority_ids=[vs[1].id], priority_ids_only=True)
    )
    assert [v.id for v in only.items] == [vs[1].id]


# --- other users -----------------------------------------------------------------------------


def test_other_user_get_and_search(oc, other):
    u = oc.other_user.get(other.id)
    assert isinstance(u, LimitedUser)
    assert (u.id, u.name) == (other.id, other.name)
    assert u.role == "server:user"

    assert oc.other_user.get("0123456789") is None

    tag = other.name.split()[-1]
    found = oc.other_user.user_search(tag)
    assert other.id in {x.id for x in found.items}
    assert all(isinstance(x, LimitedUser) for x in found.items)

    exc = raises_code(lambda: oc.other_user.user_search("ab"), "BAD_REQUEST_ERROR")
    assert "Search query must be at least 3 characters." in error_messages(exc)


# --- invites and roles -----------------------------------------------------------------------


def invite_and_accept(inviter, invitee_client, project_id: str, invitee, role: str) -> None:
    inviter.project_invite.create(project_id, ProjectInviteCreateInput(email=None, role=role, server_role=None, userId=invitee.id))
    inv = invitee_client.project_invite.get(project_id, None)
    assert inv is not None and inv.token, inv
    assert invitee_client.project_invite.use(ProjectInviteUseInput(accept=True, project_id=project_id, token=inv.token)) is True


def test_invite_create_get_use(oc, xc, owner, other, project):
    p = oc.project_invite.create(
        project.id, ProjectInviteCreateInput(email=None, role="stream:contributor", server_role=None, userId=other.id)
    )
    assert isinstance(p, ProjectWithTeam)
    assert p.id == project.id
    [pending] = p.invited_team
    assert pending.user is not None and pending.user.id == other.id
    assert pending.role == "stream:contributor"
    assert pending.project_name == project.name
    assert pending.projectId == project.id
    assert pending.invited_by is not None and pending.invited_by.id == owner.id
    assert pending.token is None, "the invite token is visible only to the invitee"
    assert [m.user.id for m in p.team] == [owner.id]

    # the invitee sees it, with its token, both ways specklepy offers
    mine = xc.active_user.get_project_invites()
    assert [i.invite_id for i in mine if i.projectId == project.id] == [pending.invite_id]
    inv = xc.project_invite.get(project.id, None)
    assert inv is not None
    assert inv.invite_id == pending.invite_id
    assert inv.project_name == project.name and inv.role == "stream:contributor"
    assert isinstance(inv.token, str) and inv.token

    # still no access before accepting
    raises_code(lambda: xc.project.get(project.id), "FORBIDDEN")

    assert xc.project_invite.use(ProjectInviteUseInput(accept=True, project_id=project.id, token=inv.token)) is True
    assert xc.project.get(project.id).role == "stream:contributor"
    team = oc.project.get_with_team(project.id)
    assert {(m.user.id, m.role) for m in team.team} == {(owner.id, "stream:owner"), (other.id, "stream:contributor")}
    assert team.invited_team == []
    assert xc.project_invite.get(project.id, None) is None

    # a contributor creates models and versions
    m = xc.model.create(CreateModelInput(name="by contributor", project_id=project.id))
    assert m.author is not None and m.author.id == other.id


def test_invite_declined_grants_nothing(oc, xc, other, project):
    oc.project_invite.create(project.id, ProjectInviteCreateInput(email=None, role="stream:owner", server_role=None, userId=other.id))
    inv = xc.project_invite.get(project.id, None)
    assert inv is not None and inv.role == "stream:owner"
    assert xc.project_invite.use(ProjectInviteUseInput(accept=False, project_id=project.id, token=inv.token)) is True
    raises_code(lambda: xc.project.get(project.id), "FORBIDDEN")
    assert xc.project_invite.get(project.id, None) is None
    assert oc.project.get_with_team(project.id).invited_team == []


def test_invite_cancel(server, oc, third, project):
    tc = client_for(server, third.token)
    p = oc.project_invite.create(
        project.id, ProjectInviteCreateInput(email=None, role="stream:reviewer", server_role=None, userId=third.id)
    )
    [pending] = p.invited_team
    after = oc.project_invite.cancel(project.id, pending.invite_id)
    assert isinstance(after, ProjectWithTeam)
    assert after.id == project.id
    assert after.invited_team == []
    assert tc.project_invite.get(project.id, None) is None
    assert project.id not in {i.projectId for i in tc.active_user.get_project_invites()}


def test_invite_by_email_of_a_registered_user(server, oc, project):
    user = make_user(server)
    c = client_for(server, user.token)
    p = oc.project_invite.create(
        project.id, ProjectInviteCreateInput(email=user.email, role="stream:reviewer", server_role=None, userId=None)
    )
    assert len(p.invited_team) == 1
    inv = c.project_invite.get(project.id, None)
    assert inv is not None and inv.role == "stream:reviewer"
    assert c.project_invite.use(ProjectInviteUseInput(accept=True, project_id=project.id, token=inv.token)) is True
    assert c.project.get(project.id).role == "stream:reviewer"


def test_reviewer_can_read_but_cannot_create_models_or_versions(server, oc, project):
    user = make_user(server)
    rc = client_for(server, user.token)
    invite_and_accept(oc, rc, project.id, user, "stream:reviewer")

    assert rc.project.get(project.id).role == "stream:reviewer"
    assert rc.model.get_models(project.id).total_count >= 1

    perms = rc.project.get_permissions(project.id)
    assert perms.can_load.authorized is True
    assert perms.can_create_model.authorized is False
    assert perms.can_create_model.code == "ProjectNotEnoughPermissions"
    assert perms.can_create_model.message
    assert perms.can_delete.authorized is False

    raises_code(lambda: rc.model.create(CreateModelInput(name="nope", project_id=project.id)), "FORBIDDEN")
    main = rc.project.get_with_models(project.id).models.items[0]
    raises_code(lambda: rc.model.update(UpdateModelInput(id=main.id, name="nope", project_id=project.id)), "FORBIDDEN")
    raises_code(lambda: rc.model.delete(DeleteModelInput(id=main.id, project_id=project.id)), "FORBIDDEN")
    obj = send_small(oc, project.id, "for-reviewer")
    raises_code(
        lambda: rc.version.create(CreateVersionInput(object_id=obj, model_id=main.id, project_id=project.id)),
        "FORBIDDEN",
    )
    raises_code(lambda: rc.project.delete(project.id), "FORBIDDEN")
    # but the reviewer may mark a version as received
    v = oc.version.create(CreateVersionInput(object_id=obj, model_id=main.id, project_id=project.id))
    assert rc.version.received(
        MarkReceivedVersionInput(version_id=v.id, project_id=project.id, source_application="pytest")
    ) is True


def test_token_without_streams_write_cannot_create_projects(server, admin_user):
    user = make_user(server, scopes=["streams:read", "profile:read"])
    c = client_for(server, user.token)
    raises_code(lambda: new_project(c), "FORBIDDEN")


# --- send / receive --------------------------------------------------------------------------


def test_small_model_round_trip_in_process(oc, project):
    root = Collection(name="small", elements=[])
    for i in range(20):
        root.elements.append(
            Mesh(vertices=[float(i), 0.0, 0.0, i + 1.0, 0.0, 0.0, i + 1.0, 1.0, 0.5], faces=[3, 0, 1, 2], units="mm")
        )
    b = Base(applicationId="props")
    b["text"] = "unicode ✓ \u2028 line separator / slash \t tab"
    b["numbers"] = [1, 2.5, -3]
    b["@(3)chunked"] = list(range(10))
    root.elements.append(b)
    before = content_digest(root)

    oid = operations.send(root, [ServerTransport(project.id, oc)], use_default_cache=False)
    assert HEX32.match(oid)
    got = operations.receive(oid, ServerTransport(project.id, oc), local_transport=MemoryTransport())
    assert got.id == oid
    after = content_digest(got)
    assert {k: v for k, v in after.items() if k != "ids"} == {k: v for k, v in before.items() if k != "ids"}
    assert got.elements[-1]["text"] == b["text"]
    assert got.elements[-1]["@(3)chunked"] == list(range(10))
    assert [m.vertices for m in got.elements[:-1]] == [m.vertices for m in root.elements[:-1]]

    # sending again uploads nothing new and still gives the same id
    assert operations.send(root, [ServerTransport(project.id, oc)], use_default_cache=False) == oid


def test_objects_are_scoped_per_project(oc, project):
    oid = send_small(oc, project.id, "scoped")
    other_project = new_project(oc)
    # the /single endpoint of the other project does not know the object
    r = requests.get(
        f"{oc.url}/objects/{other_project.id}/{oid}/single",
        headers={"Authorization": f"Bearer {oc.account.token}", "Accept": "text/plain"},
        timeout=30,
    )
    assert r.status_code == 404, (r.status_code, r.text[:200])
    main = oc.project.get_with_models(other_project.id).models.items[0]
    raises_code(
        lambda: oc.version.create(CreateVersionInput(object_id=oid, model_id=main.id, project_id=other_project.id)),
        "COMMIT_CREATE_ERROR",
    )


def run_receive(server, token: str, project_id: str, object_id: str) -> dict:
    """operations.receive in a fresh Python process (helpers_speckle_receive.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPECKLE_USERDATA")}
    cmd = [sys.executable, str(RECEIVE_SCRIPT), server.host, token, project_id, object_id]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, f"receive process failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def getobjects_probe(server, token: str, project_id: str, ids: list[str]) -> str:
    """What specklepy's receive asks for, made by hand: one POST /api/getobjects with every closure id
    (form field `objects`, Accept: text/plain). Describes the answer when it is not what specklepy
    can parse (200, one `id\tjson` line per id)."""
    r = requests.post(
        f"{server.url}/api/getobjects/{project_id}",
        data={"objects": json.dumps(ids)},
        headers={"Authorization": f"Bearer {token}", "Accept": "text/plain"},
        timeout=300,
    )
    lines = [ln for ln in r.text.split("\n") if ln]
    bad = [ln for ln in lines if ln.count("\t") != 1]
    return (
        f"POST /api/getobjects/{project_id} with {len(ids)} ids -> HTTP {r.status_code}, "
        f"{len(lines)} lines, {len(bad)} not `id<TAB>json`; first: {r.text[:300]!r}"
    )


@pytest.mark.slow
def test_send_100k_objects_then_receive_in_a_fresh_process(server, oc, owner, project):
    timings: dict[str, float] = {}
    plan = None
    try:
        t0 = time.perf_counter()
        root, plan = build_model()
        timings["build"] = time.perf_counter() - t0
        assert plan.detached >= 100_000, plan

        t0 = time.perf_counter()
        sent = content_digest(root)
        timings["digest"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        local = MemoryTransport()  # a second transport: the ids of everything that was sent
        oid = operations.send(root, [ServerTransport(project.id, oc), local], use_default_cache=False)
        timings["send"] = time.perf_counter() - t0
        assert HEX32.match(oid)
        assert len(local.objects) == plan.detached + 1
        base_ids = [k for k, v in local.objects.items() if '"speckle_type":"Speckle.Core.Models.DataChunk"' not in v[:120]]
        del local, root

        # the stored root lists every detached object, chunks included
        r = requests.get(
            f"{server.url}/objects/{project.id}/{oid}/single",
            headers={"Authorization": f"Bearer {owner.token}", "Accept": "text/plain"},
            timeout=120,
        )
        assert r.status_code == 200, r.text[:500]
        stored_root = r.json()
        assert stored_root["id"] == oid
        closure = list(stored_root["__closure"])
        assert len(closure) == plan.detached, (len(closure), plan)

        main = oc.project.get_with_models(project.id).models.items[0]
        version = oc.version.create(
            CreateVersionInput(object_id=oid, model_id=main.id, project_id=project.id, message="100k objects")
        )
        assert version.referenced_object == oid

        # a fresh process and client, an empty local cache: everything comes from the server
        t0 = time.perf_counter()
        try:
            got = run_receive(server, owner.token, project.id, version.referenced_object)
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- the same request by hand ---\n"
                                 f"{getobjects_probe(server, owner.token, project.id, closure)}") from None
        timings["receive_process"] = time.perf_counter() - t0
        timings.update({f"child_{k}": v for k, v in got.pop("seconds").items()})

        assert got["id"] == oid
        assert got["ids"] == ids_digest(base_ids), "every Base arrives with its id"
        assert got["counts"] == sent["counts"]
        assert got["sums"] == sent["sums"]
        assert got["digest"] == sent["digest"]
        assert got["counts"]["Objects.Geometry.Mesh"] == plan.small_meshes + plan.big_meshes
    finally:
        print(f"\n[{server.db_kind}] 100k send/receive: {plan.detached if plan else '?'} detached objects; "
              + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
