"""AYON realtime `/ws` and the services/hosts registry, against the unmodified ayon-python-api.

A plain WebSocket listener (websocket-client, as AYON services and the web UI speak to `/ws`: the auth
message, then JSON pushes) receives the entity events caused by another client — ayon_api creating and
updating folders and tasks — and the dispatched/updated events of the events API with their progress;
a non-manager without access to a project never receives its events; an unauthorised socket is closed
(1000) after 3 s; heartbeats arrive when idle. On PostgreSQL, a listener on a second server process
receives what ayon_api writes on the first. Then ayon_api's services and hosts methods.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import requests
import websocket  # websocket-client
from ayon_api import ServerAPI
from ayon_api.exceptions import HTTPRequestError

from test_ayon_support import ayon, ayon_url, new_project, project, raw, uid  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]
MAIN_JS = REPO / "packages" / "server" / "dist" / "main.js"
NODE = os.environ.get("NODE", "node")


def tag() -> str:
    return uuid.uuid4().hex[:8]


class Listener:
    """A `/ws` client: collects JSON pushes in a thread; records the close code."""

    def __init__(self, base_url: str, token: str | None = None, subscribe: list[str] | None = None, project: str | None = None):
        self.url = base_url.replace("http", "ws", 1).rstrip("/") + "/ws"
        self.ws = websocket.create_connection(self.url, timeout=30)
        self.messages: list[dict] = []
        self.close_code: int | None = None
        self.closed = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if token is not None:
            self.auth(token, subscribe or ["*"], project)

    def auth(self, token: str, subscribe: list[str], project: str | None = None) -> None:
        msg = {"topic": "auth", "token": token, "subscribe": subscribe}
        if project:
            msg["project"] = project
        self.ws.send(json.dumps(msg))

    def _read(self) -> None:
        try:
            while True:
                opcode, data = self.ws.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                    break
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    with self._cond:
                        self.messages.append(json.loads(data.decode("utf-8")))
                        self._cond.notify_all()
        except Exception:
            if self.close_code is None:
                self.close_code = 1006
        finally:
            self.closed.set()
            with self._cond:
                self._cond.notify_all()

    def wait_for(self, pred, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching message in {timeout}s; got topics {[m.get('topic') for m in self.messages]}")
                self._cond.wait(left)

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


@pytest.fixture
def listeners():
    opened: list[Listener] = []

    def make(*args, **kwargs) -> Listener:
        lst = Listener(*args, **kwargs)
        opened.append(lst)
        return lst

    yield make
    for lst in opened:
        lst.close()


@pytest.fixture(scope="module")
def svc(ayon, ayon_url):
    """A service user's connection (API key): the writer, as processing services connect."""
    key = uid()
    name = f"rtsvc_{tag()}"
    ayon.create_user(name, api_key=key, data={"isService": True})
    api = ServerAPI(ayon_url, token=key)
    assert api.is_service_user()
    return {"api": api, "key": key, "name": name}


def settle() -> None:
    """The auth message has no reply: give the server a moment to process it."""
    time.sleep(0.3)


def test_listener_receives_entity_events_of_another_clients_writes(ayon, svc, ayon_url, project, listeners):
    lst = listeners(ayon_url, ayon.access_token, ["entity.folder", "entity.task"])
    settle()
    writer = svc["api"]
    folder_id = writer.create_folder(project, f"rt_{tag()}", folder_type="Asset")
    created = lst.wait_for(lambda m: m["topic"] == "entity.folder.created" and m["summary"].get("entityId") == folder_id)
    assert created["project"] == project
    assert created["user"] == svc["name"]
    assert created["status"] == "finished"
    assert {"id", "topic", "project", "user", "dependsOn", "description", "summary", "status", "sender", "senderType", "createdAt", "updatedAt"} <= set(created)
    assert "payload" not in created and "recipients" not in created

    writer.update_folder(project, folder_id, label="Renamed by ayon_api")
    lst.wait_for(lambda m: m["topic"].startswith("entity.folder.") and m["topic"] != "entity.folder.created" and m["summary"].get("entityId") == folder_id)

    task_id = writer.create_task(project, f"rtt_{tag()}", "Generic", folder_id)
    lst.wait_for(lambda m: m["topic"] == "entity.task.created" and m["summary"].get("entityId") == task_id)

    # a product is not under the subscribed prefixes
    writer.create_product(project, f"rtp{tag()}", "model", folder_id)
    marker = writer.create_folder(project, f"rtm_{tag()}", folder_type="Asset")
    lst.wait_for(lambda m: m["summary"].get("entityId") == marker)
    assert all(m["topic"].startswith(("entity.folder", "entity.task", "heartbeat")) for m in lst.messages)


def test_non_manager_without_access_gets_no_events_of_other_projects(ayon, svc, ayon_url, project, listeners):
    other = new_project(ayon, "rtother")
    try:
        name = f"rtart_{tag()}"
        ayon.create_user(name, password="rt-artist-password", data={"accessGroups": {project: ["artist"]}})
        artist = ServerAPI(ayon_url)
        artist.login(name, "rt-artist-password")
        lst = listeners(ayon_url, artist.access_token, ["*"])
        settle()
        hidden = svc["api"].create_folder(other, f"hid_{tag()}", folder_type="Asset")
        seen = svc["api"].create_folder(project, f"vis_{tag()}", folder_type="Asset")
        lst.wait_for(lambda m: m["summary"].get("entityId") == seen)
        time.sleep(0.5)
        assert not any(m.get("project") == other for m in lst.messages)
        assert not any(m["summary"].get("entityId") == hidden for m in lst.messages if isinstance(m.get("summary"), dict))
    finally:
        ayon.delete_project(other)


def test_project_filter_and_dispatched_events_with_progress(ayon, svc, ayon_url, project, listeners):
    lst = listeners(ayon_url, svc["key"], ["rt."], project=project)  # an API key, accepted directly
    settle()
    topic = f"rt.job.{tag()}"
    api = svc["api"]
    elsewhere = api.dispatch_event(topic, sender="rt-test", project_name=None, description="server-wide").data["id"]
    other_project = new_project(ayon, "rtpf")
    try:
        skipped = api.dispatch_event(topic, sender="rt-test", project_name=other_project, description="other project").data["id"]
        event_id = api.dispatch_event(topic, sender="rt-test", project_name=project, description="job", finished=False).data["id"]
        first = lst.wait_for(lambda m: m["id"] == event_id)
        assert first["status"] == "pending" and first["progress"] == 0 and first["store"] is True and first["sender"] == "rt-test"
        api.update_event(event_id, status="in_progress", progress=50)
        lst.wait_for(lambda m: m["id"] == event_id and m.get("progress") == 50 and m["status"] == "in_progress")
        api.update_event(event_id, status="finished")
        lst.wait_for(lambda m: m["id"] == event_id and m["status"] == "finished")
        lst.wait_for(lambda m: m["id"] == elsewhere)  # no project: not filtered out
        time.sleep(0.3)
        assert not any(m.get("id") == skipped for m in lst.messages)
    finally:
        ayon.delete_project(other_project)


def test_unauthorised_sockets_are_closed_after_3_seconds(ayon_url, listeners):
    silent = listeners(ayon_url)
    bad = listeners(ayon_url, "0" * 64, ["*"])
    started = time.monotonic()
    assert silent.closed.wait(8) and bad.closed.wait(8)
    assert 2.5 <= time.monotonic() - started <= 7.5
    assert silent.close_code == 1000 and bad.close_code == 1000
    assert silent.messages == [] and bad.messages == []


def test_heartbeat_when_idle(ayon, ayon_url, listeners):
    lst = listeners(ayon_url, ayon.access_token, ["nothing.matches.this"])
    hb = lst.wait_for(lambda m: m["topic"] == "heartbeat", timeout=8)
    assert hb == {"topic": "heartbeat"}
    assert not lst.closed.is_set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_listener_on_another_server_process_receives_events(server, ayon, svc, project, listeners):
    if not server.database_url:
        pytest.skip("nodes share events through PostgreSQL; a SQLite deployment is one process")
    tmp = Path(tempfile.mkdtemp(prefix="atrium-rt-node-"))
    env = dict(server.env)
    port = _free_port()
    env.update(ATRIUM_PORT=str(port), ATRIUM_DATA_DIR=str(tmp / "data"), ATRIUM_DATABASE_URL=server.database_url)
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([NODE, str(MAIN_JS), "serve"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    try:
        url2 = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp / "server.log").read_text()[-3000:]
            try:
                if requests.get(url2 + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "second node did not start"
            time.sleep(0.2)
        lst = listeners(url2 + "/ayon", ayon.access_token, ["entity.folder"])  # the session is in the shared database
        settle()
        got = None
        for _ in range(20):  # the second node's relay connection comes up asynchronously
            fid = svc["api"].create_folder(project, f"node_{tag()}", folder_type="Asset")
            try:
                got = lst.wait_for(lambda m: m["summary"].get("entityId") == fid, timeout=1)
                break
            except AssertionError:
                continue
        assert got is not None and got["topic"] == "entity.folder.created" and got["project"] == project
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def test_services_and_hosts_with_the_unmodified_client(ayon, svc, ayon_url, tmp_path):
    # the addon whose services run: its package.py declares them (AYON copies the image from there)
    zpath = tmp_path / "rtftrack.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("package.py", 'name = "rtftrack"\nversion = "1.2.3"\n'
                   'services = {"leecher": {"image": "ynput/ayon-ftrack-leecher:1.2.3"}}\n')
    ayon.upload_addon_zip(str(zpath))

    host = f"ash-{tag()}"
    hb = raw(svc["api"], "POST", "/api/hosts/heartbeat", json={"hostname": host, "health": {"cpu": 5, "mem": 50}, "services": []})
    assert hb.status_code == 200 and hb.json() == {"services": []}
    hosts = {h["name"]: h for h in ayon.get_hosts()}
    assert hosts[host]["health"] == {"cpu": 5, "mem": 50} and hosts[host]["lastSeen"]

    name = f"ftrack-{tag()}"
    ayon.spawn_service(name, "rtftrack", "1.2.3", "leecher", host, config={"env": {"A": "1"}, "memLimit": "1g"})
    ayon.update_service(name, config={"ports": ["8080:80"]})
    services = {s["name"]: s for s in ayon.get_services()}
    s = services[name]
    assert (s["addonName"], s["addonVersion"], s["service"], s["hostname"]) == ("rtftrack", "1.2.3", "leecher", host)
    assert s["data"]["image"] == "ynput/ayon-ftrack-leecher:1.2.3"
    assert s["shouldRun"] is True and s["isRunning"] is False
    assert s["data"]["env"] == {"A": "1"} and s["data"]["memLimit"] == "1g" and s["data"]["ports"] == ["8080:80"]

    hb = raw(svc["api"], "POST", "/api/hosts/heartbeat", json={"hostname": host, "health": {"cpu": 5, "mem": 50}, "services": [name]})
    assert [x["name"] for x in hb.json()["services"]] == [name]
    assert {x["name"]: x for x in ayon.get_services()}[name]["isRunning"] is True
    ayon.update_service(name, should_run=False)
    hb = raw(svc["api"], "POST", "/api/hosts/heartbeat", json={"hostname": host, "health": {"cpu": 5, "mem": 50}, "services": []})
    assert hb.json() == {"services": []}

    # non-admins: an empty list, and no writes
    art = f"rtsvcart_{tag()}"
    ayon.create_user(art, password="rt-artist-password")
    artist = ServerAPI(ayon_url)
    artist.login(art, "rt-artist-password")
    assert artist.get_services() == []
    with pytest.raises(HTTPRequestError):
        artist.spawn_service(f"x-{tag()}", "rtftrack", "1.2.3", "leecher", host)
    with pytest.raises(HTTPRequestError):
        artist.delete_service(name)
    # a user cannot send host heartbeats; bad bodies are AYON's 400
    assert raw(artist, "POST", "/api/hosts/heartbeat", json={"hostname": host, "health": {}}).status_code == 403
    assert raw(svc["api"], "POST", "/api/hosts/heartbeat", json={"hostname": host}).status_code == 400
    # refused: a host that never sent a heartbeat, an addon version not installed, a service the addon does not have
    for args in [("rtftrack", "1.2.3", "leecher", f"nohost-{tag()}"), ("rtftrack", "9.9.9", "leecher", host), ("rtftrack", "1.2.3", "nope", host)]:
        with pytest.raises(HTTPRequestError):
            ayon.spawn_service(f"y-{tag()}", *args)
    r = raw(ayon, "PUT", f"/api/services/y-{tag()}", json={"addonName": "rtftrack", "addonVersion": "1.2.3", "service": "nope", "hostname": host})
    assert r.status_code == 404 and r.json()["detail"] == "This addon does not have this service"

    ayon.delete_service(name)
    assert name not in {s["name"] for s in ayon.get_services()}
