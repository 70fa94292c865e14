"""AYON events and event jobs with the unmodified ayon-python-api.

dispatch_event → get_events with every filter kind → update_event → delete_event; the enroll state
machine (nothing to do, re-issue to the same sender, failed → retried, maxRetries exhausted,
sequential blocking, ignoreSenderTypes, filter); two and four concurrent worker *processes*
(ayon_api.enroll_event_job + update_event) processing each source event exactly once, also
sequentially and against two server processes sharing one database; a worker killed mid-job; and
bad input (unknown ids, non-service enroll, malformed filter, a body over the limit, events of
projects the caller cannot see).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
from ayon_api import ServerAPI
from ayon_api.exceptions import HTTPRequestError

from test_ayon_support import ayon, ayon_url, project, raw, uid  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]
MAIN_JS = REPO / "packages" / "server" / "dist" / "main.js"
NODE = os.environ.get("NODE", "node")


def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def svc(ayon, ayon_url):
    """A service user's connection (API key), as processing services connect."""
    key = uid()
    name = f"evsvc_{tag()}"
    ayon.create_user(name, api_key=key, data={"isService": True})
    api = ServerAPI(ayon_url, token=key)
    assert api.is_service_user()
    return {"api": api, "key": key, "name": name}


@pytest.fixture(scope="module")
def artist(ayon, ayon_url):
    name = f"evart_{tag()}"
    ayon.create_user(name, password="artist-password-1")
    api = ServerAPI(ayon_url)
    api.login(name, "artist-password-1")
    return {"api": api, "name": name}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(server, admin_user=None, **overrides) -> tuple[subprocess.Popen, str, Path]:
    """Another `atrium serve`: on PostgreSQL on the same database as `server` (another node of one
    deployment); on SQLite on a fresh data dir of its own, with the same admin (`admin_user`)."""
    tmp = Path(tempfile.mkdtemp(prefix="atrium-events-node-"))
    env = dict(server.env)
    port = _free_port()
    env.update(ATRIUM_PORT=str(port), ATRIUM_DATA_DIR=str(tmp / "data"), **overrides)
    if not server.database_url:
        env.pop("ATRIUM_DATABASE_URL", None)
        subprocess.run([NODE, str(MAIN_JS), "users", "create", "--email", admin_user["email"], "--name", "Admin",
                        "--password", admin_user["password"], "--admin"], cwd=REPO, env=env, check=True, capture_output=True, timeout=60)
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([NODE, str(MAIN_JS), "serve"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError((tmp / "server.log").read_text()[-3000:])
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return proc, url + "/ayon", tmp
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("second node did not start")


def _stop(proc: subprocess.Popen, tmp: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    shutil.rmtree(tmp, ignore_errors=True)


# A worker process: enrolls with the unmodified client until there has been nothing to do for a
# while, marks each job in_progress then finished, and prints "<time> <source id> <job id>" per job.
WORKER = r"""
import sys, time
from ayon_api import ServerAPI
url, key, source, target, sender, sequential, die = sys.argv[1:8]
api = ServerAPI(url, token=key)
idle_since = None
while True:
    job = api.enroll_event_job(source, target, sender, sequential=sequential == "1")
    if job is None:
        idle_since = idle_since or time.monotonic()
        if time.monotonic() - idle_since > 2.0:
            break
        time.sleep(0.05)
        continue
    idle_since = None
    print(f"{time.time():.6f} {job['dependsOn']} {job['id']}", flush=True)
    if die == "1":
        time.sleep(3600)  # killed here, after enroll and before finishing
    api.update_event(job["id"], status="in_progress")
    api.update_event(job["id"], progress=50)
    api.update_event(job["id"], status="finished")
"""


def _workers(urls: list[str], key: str, source: str, target: str, n: int, sequential: bool = False) -> list[tuple[float, str, str]]:
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, urls[i % len(urls)], key, source, target, f"w{i}-{tag()}", "1" if sequential else "0", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(n)
    ]
    lines = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-2000:]
        for line in out.splitlines():
            t, src, job = line.split()
            lines.append((float(t), src, job))
    return lines


# ---------------------------------------------------------------------------------------------- REST + GraphQL


def test_dispatch_get_events_every_filter_update_delete(ayon, svc, project):
    t = f"conf{tag()}"
    a = ayon.dispatch_event(f"{t}.alpha", sender="conf-sender", project_name=project, description="alpha zebra words",
                            summary={"k": 1}, payload={"p": [1, 2]}).data["id"]
    b = ayon.create_event(f"{t}.beta", description="beta thing", finished=False)
    c = ayon.create_event(f"{t}.beta", depends_on=a, description="child event")
    log_id = ayon.create_event(f"log.{t}", description="log line")

    ev = ayon.get_event(a)
    assert ev["topic"] == f"{t}.alpha" and ev["sender"] == "conf-sender" and ev["project"] == project
    assert ev["summary"] == {"k": 1} and ev["payload"] == {"p": [1, 2]} and ev["status"] == "finished"
    assert ayon.get_event(c)["dependsOn"] == a

    def ids(**kw):
        return [e["id"] for e in ayon.get_events(**kw)]

    assert ids(topics=[f"{t}.*"]) == [a, b, c]
    assert ids(topics=[f"{t}.beta"]) == [b, c]
    assert ids(event_ids=[b]) == [b]
    assert ids(topics=[f"{t}.*"], project_names=[project]) == [a]
    assert ids(topics=[f"{t}.*"], statuses=["pending"]) == [b]
    assert ids(topics=[f"{t}.*"], users=["nobody-at-all"]) == []
    assert ids(topics=[f"{t}.*"], users=[ayon.get_user()["name"]]) == [a, b, c]
    assert ids(topics=[f"{t}.*"], has_children=True) == [a]
    assert ids(topics=[f"{t}.*"], has_children=False) == [b, c]
    assert ids(text_filter=f"{t} zebra") == [a]
    assert ids(text_filter=t) == [a, b, c]
    assert ids(text_filter=t, include_logs=True) == [a, b, c, log_id]
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).isoformat()
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)).isoformat()
    assert ids(topics=[f"{t}.*"], newer_than=future) == []
    assert ids(topics=[f"{t}.*"], newer_than=past, older_than=future) == [a, b, c]
    assert ids(topics=[f"{t}.*"], order="desc") == [c, b, a]
    assert ids(topics=[f"{t}.*"], last=2) == [c, b]
    assert ids(topics=[f"{t}.*"], limit=2) == [a, b]
    assert ids(topics=[f"{t}.*"], statuses=[]) == []
    node = next(ayon.get_events(event_ids=[a], fields={"id", "summary", "payload", "senderType"}))
    assert node["summary"] == '{"k": 1}' or node["summary"] == '{"k":1}'
    default = next(ayon.get_events(event_ids=[a]))
    assert set(default) >= {"id", "hash", "createdAt", "dependsOn", "description", "project", "retries", "sender", "status", "topic", "updatedAt", "user"}

    svc["api"].update_event(b, status="in_progress", description="working", summary={"s": 2}, payload={"q": 3}, progress=40)
    got = ayon.get_event(b)
    assert got["status"] == "in_progress" and got["description"] == "working" and got["summary"] == {"s": 2} and got["payload"] == {"q": 3}
    ayon.delete_event(c)
    with pytest.raises(HTTPRequestError):
        ayon.get_event(c)


def test_dispatch_rules_hash_conflict_and_store_false(ayon, artist):
    t = f"rules.{tag()}"
    h = f"hash-{tag()}"
    ayon.dispatch_event(t, event_hash=h)
    with pytest.raises(HTTPRequestError) as e:
        ayon.dispatch_event(t, event_hash=h)
    assert e.value.response.status_code == 409
    fid = ayon.dispatch_event(t, store=False).data["id"]
    with pytest.raises(HTTPRequestError) as e:
        ayon.get_event(fid)
    assert e.value.response.status_code == 404
    with pytest.raises(HTTPRequestError) as e:
        artist["api"].dispatch_event(t)
    assert e.value.response.status_code == 403


def test_update_status_rules_and_bad_values(ayon, svc):
    t = f"upd.{tag()}"
    plain = ayon.create_event(t)
    r = raw(ayon, "PATCH", f"/api/events/{plain}", json={"status": "nonsense"})
    assert r.status_code == 400
    r = raw(svc["api"], "PATCH", f"/api/events/{plain}", json={"progress": 250})
    assert r.status_code == 400
    # status of an event that is not a job: services only
    r = raw(ayon, "PATCH", f"/api/events/{plain}", json={"status": "failed"})
    assert r.status_code == 403
    svc["api"].update_event(plain, status="failed")
    assert ayon.get_event(plain)["status"] == "failed"
    r = raw(ayon, "PATCH", f"/api/events/{uid()}", json={"status": "finished"})
    assert r.status_code == 404 and r.json() == {"code": 404, "detail": "Event not found"}


def test_unknown_ids_and_project_visibility(ayon, artist, project):
    with pytest.raises(HTTPRequestError) as e:
        ayon.get_event(uid())
    assert e.value.response.status_code == 404
    with pytest.raises(HTTPRequestError) as e:
        ayon.delete_event(uid())
    assert e.value.response.status_code == 404
    secret = ayon.create_event(f"secret.{tag()}", project_name=project)
    public = ayon.create_event(f"public.{tag()}")
    # non-managers: nothing of others without ids; with ids only events of projects they can see
    assert [e["id"] for e in artist["api"].get_events(topics=["secret.*", "public.*"])] == []
    assert [e["id"] for e in artist["api"].get_events(event_ids=[secret, public])] == [public]
    with pytest.raises(HTTPRequestError) as e:
        artist["api"].get_event(secret)
    assert e.value.response.status_code == 404
    with pytest.raises(HTTPRequestError) as e:
        artist["api"].delete_event(public)
    assert e.value.response.status_code == 403


def test_body_over_the_limit_is_413_and_stores_nothing(server, ayon, admin_user):
    proc, url, tmp = _spawn(server, admin_user, ATRIUM_MAX_REQUEST_BODY_MB="1")
    try:
        api = ServerAPI(url)
        api.login(admin_user["email"], admin_user["password"])
        t = f"huge.{tag()}"
        with pytest.raises(HTTPRequestError) as e:
            api.dispatch_event(t, payload={"blob": "x" * 1_200_000})
        assert e.value.response.status_code == 413
        assert list(api.get_events(topics=[t])) == []
    finally:
        _stop(proc, tmp)


def test_entity_changes_emit_events(ayon, project):
    folder = ayon.create_folder(project, f"evf_{tag()}", folder_type="Folder")
    ayon.update_folder(project, folder, status="In progress")
    ayon.delete_folder(project, folder)
    evs = [e for e in ayon.get_events(topics=["entity.folder.*"], project_names=[project], fields={"topic", "summary", "user"})]
    mine = [e for e in evs if folder in e["summary"]]
    assert [e["topic"] for e in mine] == ["entity.folder.created", "entity.folder.status_changed", "entity.folder.deleted"]


# ---------------------------------------------------------------------------------------------- enroll


def test_enroll_state_machine(ayon, svc):
    api = svc["api"]
    s = f"src.{tag()}"
    t = f"tgt.{tag()}"
    assert api.enroll_event_job(s, t, "w1") is None  # 204
    a = ayon.create_event(s, summary={"kind": "x"})
    b = ayon.create_event(s, summary={"kind": "y"})
    j1 = api.enroll_event_job(s, t, "w1", max_retries=1)
    assert j1["dependsOn"] == a and j1["status"] == "pending"
    # re-issued to the same sender, skipped by another
    assert api.enroll_event_job(s, t, "w1", max_retries=1)["id"] == j1["id"]
    j2 = api.enroll_event_job(s, t, "w2", max_retries=1)
    assert j2["dependsOn"] == b
    assert api.enroll_event_job(s, t, "w3", max_retries=1) is None
    # failed → pending with retries + 1, for any sender
    api.update_event(j1["id"], status="failed")
    r = api.enroll_event_job(s, t, "w3", max_retries=1)
    assert r["id"] == j1["id"] and r["status"] == "pending"
    assert ayon.get_event(j1["id"])["retries"] == 1 and ayon.get_event(j1["id"])["sender"] == "w3"
    api.update_event(j1["id"], status="failed")
    assert api.enroll_event_job(s, t, "w3", max_retries=1)["id"] == j1["id"]
    api.update_event(j1["id"], status="failed")
    # retries 2 > maxRetries 1: exhausted
    assert api.enroll_event_job(s, t, "w3", max_retries=1) is None
    api.update_event(j2["id"], status="finished")
    assert api.enroll_event_job(s, t, "w2", max_retries=1) is None

    # sequential: a held job blocks the others
    s2 = f"seq.{tag()}"
    t2 = f"seqt.{tag()}"
    ayon.create_event(s2)
    second = ayon.create_event(s2)
    h = api.enroll_event_job(s2, t2, "w1", sequential=True)
    assert api.enroll_event_job(s2, t2, "w2", sequential=True) is None
    assert api.enroll_event_job(s2, t2, "w2", sequential=False)["dependsOn"] == second
    api.update_event(h["id"], status="finished")

    # ignoreSenderTypes and filter
    s3 = f"ist.{tag()}"
    robot = raw(ayon, "POST", "/api/events", json={"topic": s3}, headers={"x-sender-type": "robot"}).json()["id"]
    human = ayon.create_event(s3, summary={"kind": "y"}, payload={"deep": {"n": 5}})
    assert api.enroll_event_job(s3, f"t1.{tag()}", "w", ignore_sender_types=["robot"])["dependsOn"] == human
    assert api.enroll_event_job(s3, f"t2.{tag()}", "w")["dependsOn"] == robot
    flt = {"conditions": [{"key": "payload/deep/n", "value": 4, "operator": "gt"}], "operator": "and"}
    assert api.enroll_event_job(s3, f"t3.{tag()}", "w", events_filter=flt)["dependsOn"] == human
    assert api.enroll_event_job(s3, f"t4.{tag()}", "w", events_filter={"conditions": [{"key": "summary.kind", "value": "zzz"}]}) is None
    assert api.enroll_event_job(s3, f"t5.{tag()}", "w", ignore_older_than="1")["dependsOn"] == robot


def test_enroll_bad_input(ayon, svc, artist):
    s = f"bad.{tag()}"
    ayon.create_event(s)
    assert artist["api"].enroll_event_job(s, f"t.{tag()}", "w") is None  # the client hides the 403…
    r = raw(artist["api"], "POST", "/api/enroll", json={"sourceTopic": s, "targetTopic": "x.y", "sender": "w"})
    assert r.status_code == 403 and r.json()["detail"] == "Only services can enroll for jobs"
    r = raw(ayon, "POST", "/api/enroll", json={"sourceTopic": s, "targetTopic": "x.y", "sender": "w"})
    assert r.status_code == 403  # admins are not services
    r = raw(svc["api"], "POST", "/api/enroll", json={"sourceTopic": s, "targetTopic": "x.*", "sender": "w"})
    assert r.status_code == 400
    r = raw(svc["api"], "POST", "/api/enroll", json={"sourceTopic": s, "targetTopic": "x.y", "sender": "w",
                                                     "filter": {"conditions": [{"key": "a", "operator": "sometimes", "value": 1}]}})
    assert r.status_code == 400
    r = raw(svc["api"], "POST", "/api/enroll", json={"sourceTopic": s, "targetTopic": "x.y", "sender": "w", "filter": {"conditions": [{"value": 1}]}})
    assert r.status_code == 400


@pytest.mark.parametrize("n,sequential", [(2, False), (4, False), (4, True)])
def test_concurrent_worker_processes_take_each_source_once(ayon, svc, ayon_url, n, sequential):
    s = f"cw.{tag()}"
    t = f"cwt.{tag()}"
    count = 16 if sequential else 40
    sources = [ayon.create_event(s, summary={"i": i}) for i in range(count)]
    lines = _workers([ayon_url], svc["key"], s, t, n, sequential)
    assert sorted(src for _, src, _ in lines) == sorted(sources)
    assert len({job for _, _, job in lines}) == count
    if sequential:
        # one at a time, in creation order
        assert [src for _, src, _ in sorted(lines)] == sources
    jobs = list(ayon.get_events(topics=[t]))
    assert len(jobs) == count and all(j["status"] == "finished" for j in jobs)


@pytest.mark.parametrize("sequential", [False, True])
def test_workers_on_two_server_processes_sharing_the_database(server, ayon, svc, ayon_url, sequential):
    if server.db_kind != "postgres":
        pytest.skip("several server processes on one database is a PostgreSQL deployment")
    proc, url2, tmp = _spawn(server)
    try:
        s = f"node.{tag()}"
        t = f"nodet.{tag()}"
        count = 12 if sequential else 30
        sources = [ayon.create_event(s) for _ in range(count)]
        lines = _workers([ayon_url, url2], svc["key"], s, t, 4, sequential)
        assert sorted(src for _, src, _ in lines) == sorted(sources)
        if sequential:
            assert [src for _, src, _ in sorted(lines)] == sources
    finally:
        _stop(proc, tmp)


def test_worker_killed_mid_job_gets_it_back_and_failed_frees_it(ayon, svc, ayon_url):
    s = f"die.{tag()}"
    t = f"diet.{tag()}"
    src = ayon.create_event(s)
    sender = f"dying-{tag()}"
    p = subprocess.Popen([sys.executable, "-c", WORKER, ayon_url, svc["key"], s, t, sender, "0", "1"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    p.kill()
    p.wait(timeout=10)
    assert line[1] == src
    job = line[2]
    api = svc["api"]
    # the job is held: others skip it, the same sender (a restarted worker) gets it back
    assert api.enroll_event_job(s, t, f"other-{tag()}") is None
    assert api.enroll_event_job(s, t, sender)["id"] == job
    # marked failed (e.g. by a supervisor), it is available again to anyone
    api.update_event(job, status="failed")
    again = api.enroll_event_job(s, t, f"other-{tag()}")
    assert again["id"] == job and ayon.get_event(job)["retries"] == 1
