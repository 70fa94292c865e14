"""specklepy 3.2.8 SubscriptionResource (`client.subscription.*`) against Atrium's websocket /graphql.

speckle.md §7: legacy Apollo `graphql-ws` protocol (gql's WebsocketsTransport offers it first),
`connection_init.payload.Authorization = "Bearer <token>"`, subscriptions `userProjectsUpdated`,
`projectUpdated(id)`, `projectModelsUpdated(id, modelIds)`, `projectVersionsUpdated(id)`, each message
`{id, type, …}` validated by specklepy's pydantic models; the server filters per argument and per
authorisation.

Each test subscribes with one specklepy client (one websocket per subscription, as specklepy does),
triggers mutations with ANOTHER client of the same or another user (run in a thread so the event loop
keeps reading the socket), and waits at most a few seconds for the expected message.

The legacy protocol has no acknowledgement of a `start`; a subscription counts as registered once gql
has sent it (a listener exists) plus a short grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any, Callable

import pytest
from specklepy.api import operations
from specklepy.core.api.enums import (
    ProjectModelsUpdatedMessageType,
    ProjectUpdatedMessageType,
    ProjectVersionsUpdatedMessageType,
    ProjectVisibility,
    UserProjectsUpdatedMessageType,
)
from specklepy.core.api.inputs import (
    CreateModelInput,
    CreateVersionInput,
    DeleteModelInput,
    DeleteVersionsInput,
    ProjectCreateInput,
    ProjectInviteCreateInput,
    ProjectInviteUseInput,
    ProjectUpdateInput,
    UpdateModelInput,
    UpdateVersionInput,
)
from specklepy.core.api.models import (
    ProjectModelsUpdatedMessage,
    ProjectUpdatedMessage,
    ProjectVersionsUpdatedMessage,
    UserProjectsUpdatedMessage,
)
from specklepy.objects.base import Base
from specklepy.transports.server import ServerTransport

from helpers_speckle_data import client_for, make_user

MESSAGE_TIMEOUT_S = 5.0
SUBSCRIBE_TIMEOUT_S = 5.0
GRACE_S = 0.4
QUIET_S = 1.0  # how long "no message" is watched for


class Watcher:
    """One running specklepy subscription and the messages it delivered."""

    def __init__(self, client, start: Callable[[Callable[[Any], None]], Any]):
        self.client = client
        self.messages: list[Any] = []
        self._new = asyncio.Event()
        self.task = asyncio.create_task(start(self._on_message))

    def _on_message(self, msg: Any) -> None:
        self.messages.append(msg)
        self._new.set()

    async def started(self) -> "Watcher":
        transport = self.client.wsclient.transport
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT_S
        while not transport.listeners:
            if self.task.done():
                self.task.result()  # raises the subscription's error
                raise AssertionError("the subscription ended before it started")
            if time.monotonic() > deadline:
                raise AssertionError("specklepy did not start the subscription in time")
            await asyncio.sleep(0.02)
        await asyncio.sleep(GRACE_S)
        if self.task.done():
            self.task.result()
        return self

    async def next(self, match: Callable[[Any], bool], what: str, timeout: float = MESSAGE_TIMEOUT_S) -> Any:
        """The first delivered message (oldest first, consumed) that satisfies `match`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.messages):
                if match(m):
                    del self.messages[: i + 1]
                    return m
            if self.task.done():
                self.task.result()
                raise AssertionError(f"subscription ended without {what}; got {self.messages}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout}s; got {self.messages}")
            self._new.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new.wait(), left)

    async def quiet(self, seconds: float = QUIET_S) -> list[Any]:
        await asyncio.sleep(seconds)
        return list(self.messages)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


async def watch(client, start) -> Watcher:
    return await Watcher(client, start).started()


def run(coro) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def do(fn, *args, **kwargs):
    """Runs a blocking specklepy call without blocking the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def send_small(client, project_id: str, label: str) -> str:
    b = Base(applicationId=f"sub-{label}")
    b["label"] = label
    return operations.send(b, [ServerTransport(project_id, client)], use_default_cache=False)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def owner(server, admin_user):
    return make_user(server, name=f"SubOwner {secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def member(server, admin_user):
    return make_user(server, name=f"SubMember {secrets.token_hex(3)}")


@pytest.fixture
def oc(server, owner):
    return client_for(server, owner.token)


@pytest.fixture
def project(oc):
    return oc.project.create(
        ProjectCreateInput(name=f"sub {secrets.token_hex(3)}", description=None, visibility=ProjectVisibility.PRIVATE)
    )


def share(oc, project_id: str, user, role: str, server) -> None:
    oc.project_invite.create(project_id, ProjectInviteCreateInput(email=None, role=role, server_role=None, userId=user.id))
    uc = client_for(server, user.token)
    inv = uc.project_invite.get(project_id, None)
    assert inv is not None
    assert uc.project_invite.use(ProjectInviteUseInput(accept=True, project_id=project_id, token=inv.token)) is True


# --- projectVersionsUpdated ------------------------------------------------------------------


def test_project_versions_updated_created_updated_deleted(server, oc, owner, member, project):
    share(oc, project.id, member, "stream:reviewer", server)
    model = oc.model.create(CreateModelInput(name="subscribed", project_id=project.id))
    obj = send_small(oc, project.id, "v")
    sub = client_for(server, member.token)  # another user, a reviewer of the project

    async def scenario():
        w = await watch(sub, lambda cb: sub.subscription.project_versions_updated(cb, project.id))
        try:
            v = await do(oc.version.create, CreateVersionInput(
                object_id=obj, model_id=model.id, project_id=project.id, message="hello"))
            created = await w.next(lambda m: m.id == v.id, "CREATED message")
            assert isinstance(created, ProjectVersionsUpdatedMessage)
            assert created.type == ProjectVersionsUpdatedMessageType.CREATED
            assert created.model_id == model.id
            assert created.version is not None
            assert created.version.id == v.id
            assert created.version.referenced_object == obj
            assert created.version.message == "hello"
            assert created.version.author_user is not None and created.version.author_user.id == owner.id
            assert created.version.preview_url == f"{server.url}/preview/{project.id}/commits/{v.id}"

            await do(oc.version.update, UpdateVersionInput(version_id=v.id, project_id=project.id, message="edited"))
            updated = await w.next(lambda m: m.id == v.id, "UPDATED message")
            assert updated.type == ProjectVersionsUpdatedMessageType.UPDATED
            assert updated.model_id == model.id
            assert updated.version is not None and updated.version.message == "edited"

            await do(oc.version.delete, DeleteVersionsInput(version_ids=[v.id], project_id=project.id))
            deleted = await w.next(lambda m: m.id == v.id, "DELETED message")
            assert deleted.type == ProjectVersionsUpdatedMessageType.DELETED
            assert deleted.model_id == model.id
        finally:
            await w.stop()

    run(scenario())


def test_project_versions_updated_is_filtered_by_project(server, oc, project):
    elsewhere = oc.project.create(ProjectCreateInput(name="elsewhere", description=None, visibility=None))
    main_here = oc.project.get_with_models(project.id).models.items[0]
    main_there = oc.project.get_with_models(elsewhere.id).models.items[0]
    obj_here = send_small(oc, project.id, "here")
    obj_there = send_small(oc, elsewhere.id, "there")
    sub = client_for(server, oc.account.token)

    async def scenario():
        w = await watch(sub, lambda cb: sub.subscription.project_versions_updated(cb, project.id))
        try:
            other_v = await do(oc.version.create, CreateVersionInput(
                object_id=obj_there, model_id=main_there.id, project_id=elsewhere.id))
            mine = await do(oc.version.create, CreateVersionInput(
                object_id=obj_here, model_id=main_here.id, project_id=project.id))
            first = await w.next(lambda m: True, "a message")
            assert first.id == mine.id, f"a version of another project was delivered: {first}"
            assert first.model_id == main_here.id
            assert other_v.id not in {m.id for m in await w.quiet(0.5)}
        finally:
            await w.stop()

    run(scenario())


# --- projectModelsUpdated --------------------------------------------------------------------


def test_project_models_updated_created_updated_deleted(server, oc, owner, project):
    sub = client_for(server, oc.account.token)

    async def scenario():
        w = await watch(sub, lambda cb: sub.subscription.project_models_updated(cb, project.id))
        try:
            m = await do(oc.model.create, CreateModelInput(name="Walls/North", description="d", project_id=project.id))
            created = await w.next(lambda x: x.id == m.id, "CREATED message")
            assert isinstance(created, ProjectModelsUpdatedMessage)
            assert created.type == ProjectModelsUpdatedMessageType.CREATED
            assert created.model is not None
            assert (created.model.id, created.model.name, created.model.display_name) == (m.id, "walls/north", "north")
            assert created.model.author is not None and created.model.author.id == owner.id

            await do(oc.model.update, UpdateModelInput(id=m.id, name="walls/south", description=None, project_id=project.id))
            updated = await w.next(lambda x: x.id == m.id, "UPDATED message")
            assert updated.type == ProjectModelsUpdatedMessageType.UPDATED
            assert updated.model is not None and updated.model.name == "walls/south"

            await do(oc.model.delete, DeleteModelInput(id=m.id, project_id=project.id))
            deleted = await w.next(lambda x: x.id == m.id, "DELETED message")
            assert deleted.type == ProjectModelsUpdatedMessageType.DELETED
            assert deleted.model is None
        finally:
            await w.stop()

    run(scenario())


def test_project_models_updated_honours_model_ids(server, oc, project):
    a = oc.model.create(CreateModelInput(name="watched", project_id=project.id))
    b = oc.model.create(CreateModelInput(name="ignored", project_id=project.id))
    sub = client_for(server, oc.account.token)

    async def scenario():
        w = await watch(sub, lambda cb: sub.subscription.project_models_updated(cb, project.id, model_ids=[a.id]))
        try:
            await do(oc.model.update, UpdateModelInput(id=b.id, name="ignored 2", project_id=project.id))
            await do(oc.model.update, UpdateModelInput(id=a.id, name="watched 2", project_id=project.id))
            first = await w.next(lambda x: True, "a message")
            assert first.id == a.id, f"an update of a model not in modelIds was delivered: {first}"
            assert first.type == ProjectModelsUpdatedMessageType.UPDATED
            assert first.model is not None and first.model.name == "watched 2"
            assert b.id not in {m.id for m in await w.quiet(0.5)}
        finally:
            await w.stop()

    run(scenario())


# --- projectUpdated --------------------------------------------------------------------------


def test_project_updated_updated_then_deleted(server, oc, project):
    sub = client_for(server, oc.account.token)

    async def scenario():
        w = await watch(sub, lambda cb: sub.subscription.project_updated(cb, project.id))
        try:
            await do(oc.project.update, ProjectUpdateInput(id=project.id, name="renamed by another client"))
            updated = await w.next(lambda x: True, "UPDATED message")
            assert isinstance(updated, ProjectUpdatedMessage)
            assert updated.id == project.id
            assert updated.type == ProjectUpdatedMessageType.UPDATED
            assert updated.project is not None
            assert updated.project.id == project.id
            assert updated.project.name == "renamed by another client"

            await do(oc.project.delete, project.id)
            deleted = await w.next(lambda x: x.type == ProjectUpdatedMessageType.DELETED, "DELETED message")
            assert deleted.id == project.id
        finally:
            await w.stop()

    run(scenario())


# --- userProjectsUpdated ---------------------------------------------------------------------


def test_user_projects_updated_added_and_removed(server, oc, admin_user):
    user = make_user(server)
    uc = client_for(server, user.token)  # triggers
    sub = client_for(server, user.token)  # listens

    async def scenario():
        w = await watch(sub, lambda cb: sub.subscription.user_projects_updated(cb))
        try:
            # the user creates a project (another client of theirs)
            mine = await do(uc.project.create, ProjectCreateInput(name="my own", description=None, visibility=None))
            added = await w.next(lambda x: x.id == mine.id, "ADDED for a created project")
            assert isinstance(added, UserProjectsUpdatedMessage)
            assert added.type == UserProjectsUpdatedMessageType.ADDED
            assert added.project is not None and added.project.name == "my own"

            # someone shares a project with them
            theirs = await do(oc.project.create, ProjectCreateInput(name="shared with", description=None, visibility=None))
            await do(share, oc, theirs.id, user, "stream:contributor", server)
            shared = await w.next(lambda x: x.id == theirs.id, "ADDED for an accepted invite")
            assert shared.type == UserProjectsUpdatedMessageType.ADDED
            assert shared.project is not None and shared.project.id == theirs.id

            # their project is deleted
            await do(uc.project.delete, mine.id)
            removed = await w.next(lambda x: x.id == mine.id, "REMOVED for a deleted project")
            assert removed.type == UserProjectsUpdatedMessageType.REMOVED
        finally:
            await w.stop()

    run(scenario())


def test_user_projects_updated_only_reaches_the_user(server, oc, admin_user):
    user = make_user(server)
    sub = client_for(server, user.token)

    async def scenario():
        w = await watch(sub, lambda cb: sub.subscription.user_projects_updated(cb))
        try:
            await do(oc.project.create, ProjectCreateInput(name="not yours", description=None, visibility=None))
            assert await w.quiet() == [], "another user's new project was announced"
        finally:
            await w.stop()

    run(scenario())


# --- authorisation ---------------------------------------------------------------------------


def test_subscribing_to_another_users_private_project_is_refused(server, project, admin_user):
    stranger = make_user(server)
    sub = client_for(server, stranger.token)

    async def scenario():
        task = asyncio.create_task(sub.subscription.project_versions_updated(lambda m: None, project.id))
        done, _ = await asyncio.wait({task}, timeout=MESSAGE_TIMEOUT_S)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise AssertionError("the subscription to a private project of another user was not refused")
        exc = task.exception()
        assert exc is not None, "the subscription ended without an error"
        text = f"{exc!r} {getattr(exc, 'errors', '')}"
        assert "FORBIDDEN" in text or "do not have access" in text.lower(), text

    run(scenario())


def test_strangers_get_no_events_of_a_private_project(server, oc, project, admin_user):
    stranger = make_user(server)
    sub = client_for(server, stranger.token)

    async def scenario():
        w = Watcher(sub, lambda cb: sub.subscription.user_projects_updated(cb))
        await w.started()
        try:
            await do(oc.project.update, ProjectUpdateInput(id=project.id, name="secret rename"))
            await do(oc.model.create, CreateModelInput(name="secret", project_id=project.id))
            assert await w.quiet() == []
        finally:
            await w.stop()

    run(scenario())
