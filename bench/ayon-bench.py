"""AYON face benchmark, driven by the real ayon-python-api.

Seeds one project with FOLDERS folders (sequences of shots) and TASKS_PER_FOLDER tasks per folder
through the batch operations endpoint, then measures:
  - a GraphQL page of 300 folders with attributes (the exact query get_folders generates, with
    allAttrib and ownAttrib), at random positions: p50 / p99;
  - a full get_folders() iteration over the project;
  - get_folder_by_path(): p50 / p99;
  - a POST /operations batch of 1,000 folder creates: p50 / p99 (and one OperationsSession.commit(),
    which uses the background variant and its polling).
Prints one JSON object at the end. Usage: ayon-bench.py URL LOGIN PASSWORD [FOLDERS] [TASKS_PER_FOLDER]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
import uuid

import requests
from ayon_api import ServerAPI
from ayon_api.operations import OperationsSession

URL, LOGIN, PASSWORD = sys.argv[1:4]
FOLDERS = int(sys.argv[4]) if len(sys.argv) > 4 else 100_000
TASKS_PER_FOLDER = int(sys.argv[5]) if len(sys.argv) > 5 else 3
SHOTS_PER_SEQUENCE = 99
BATCH = 5000

FOLDERS_QUERY = """query FoldersQuery($projectName: String!) {
  project(name: $projectName) {
    folders(first: 300%s) {
      edges { node { id name label folderType path parentId active thumbnailId data status tags allAttrib ownAttrib } }
      pageInfo { endCursor hasNextPage }
    }
  }
}"""


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100 * (len(v) - 1)))))
    return round(v[k], 2)


def main() -> None:
    api = ServerAPI(URL)
    api.login(LOGIN, PASSWORD)
    project = "bench_" + uuid.uuid4().hex[:6]
    api.create_project(project, project[:10])
    out: dict = {"url": URL, "folders": 0, "tasks": 0}

    # ---- seed
    sequences = max(1, FOLDERS // (SHOTS_PER_SEQUENCE + 1))
    ops: list[dict] = []
    paths: list[str] = []
    t0 = time.perf_counter()
    sent = 0

    def flush(force: bool = False) -> None:
        nonlocal ops, sent
        if ops and (force or len(ops) >= BATCH):
            api.send_batch_operations(project, ops)
            sent += len(ops)
            ops = []

    task_types = ["Compositing", "Lighting", "Animation", "Modeling", "FX"]
    for s in range(sequences):
        seq_id = uuid.uuid4().hex
        ops.append({"type": "create", "entityType": "folder", "entityId": seq_id,
                    "data": {"name": f"sq{s:04d}", "folderType": "Sequence", "attrib": {"fps": 24 + s % 3, "frameStart": 1001}}})
        out["folders"] += 1
        for t in range(TASKS_PER_FOLDER):
            ops.append({"type": "create", "entityType": "task", "data": {"name": f"task{t}", "taskType": task_types[t % 5], "folderId": seq_id}})
            out["tasks"] += 1
        for h in range(SHOTS_PER_SEQUENCE):
            if out["folders"] >= FOLDERS:
                break
            shot_id = uuid.uuid4().hex
            attrib = {"frameEnd": 1001 + h} if h % 4 == 0 else {}
            ops.append({"type": "create", "entityType": "folder", "entityId": shot_id,
                        "data": {"name": f"sh{h:03d}", "folderType": "Shot", "parentId": seq_id, "attrib": attrib, "tags": ["hot"] if h % 10 == 0 else []}})
            paths.append(f"/sq{s:04d}/sh{h:03d}")
            out["folders"] += 1
            for t in range(TASKS_PER_FOLDER):
                ops.append({"type": "create", "entityType": "task", "data": {"name": f"task{t}", "taskType": task_types[t % 5], "folderId": shot_id}})
                out["tasks"] += 1
            flush()
    flush(force=True)
    seed_s = time.perf_counter() - t0
    out["seed_seconds"] = round(seed_s, 1)
    out["seed_entities_per_second"] = round(sent / seed_s)
    print(f"seeded {out['folders']} folders and {out['tasks']} tasks in {seed_s:.1f} s ({sent / seed_s:.0f}/s)", flush=True)

    # ---- full get_folders iteration (also collects the cursors of every page)
    t0 = time.perf_counter()
    n = sum(1 for _ in api.get_folders(project))
    out["get_folders_full_seconds"] = round(time.perf_counter() - t0, 2)
    out["get_folders_count"] = n
    print(f"get_folders: {n} folders in {out['get_folders_full_seconds']} s", flush=True)

    session = requests.Session()
    session.headers.update(api.get_headers())
    cursors = [None]
    after = None
    while True:
        q = FOLDERS_QUERY % (f', after: "{after}"' if after else "")
        r = session.post(URL + "/graphql", json={"query": q, "variables": {"projectName": project}}).json()
        info = r["data"]["project"]["folders"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
        cursors.append(after)

    # ---- GraphQL page of 300 folders with attributes
    times = []
    for _ in range(100):
        c = random.choice(cursors)
        q = FOLDERS_QUERY % (f', after: "{c}"' if c else "")
        t = time.perf_counter()
        r = session.post(URL + "/graphql", json={"query": q, "variables": {"projectName": project}})
        r.json()
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    out["page300_ms_p50"] = pct(times, 50)
    out["page300_ms_p99"] = pct(times, 99)
    print(f"GraphQL page of 300 folders with attributes: p50 {out['page300_ms_p50']} ms, p99 {out['page300_ms_p99']} ms", flush=True)

    # ---- get_folder_by_path
    times = []
    for p in random.sample(paths, min(200, len(paths))):
        t = time.perf_counter()
        f = api.get_folder_by_path(project, p)
        times.append((time.perf_counter() - t) * 1000)
        assert f and f["path"] == p
    out["folder_by_path_ms_p50"] = pct(times, 50)
    out["folder_by_path_ms_p99"] = pct(times, 99)
    print(f"get_folder_by_path: p50 {out['folder_by_path_ms_p50']} ms, p99 {out['folder_by_path_ms_p99']} ms", flush=True)

    # ---- operations batch of 1,000 creates
    times = []
    for i in range(10):
        parent = uuid.uuid4().hex
        batch = [{"type": "create", "entityType": "folder", "entityId": parent, "data": {"name": f"batch{i:02d}", "folderType": "Folder"}}]
        batch += [{"type": "create", "entityType": "folder", "data": {"name": f"b{j:04d}", "folderType": "Shot", "parentId": parent, "attrib": {"fps": 25}}} for j in range(999)]
        t = time.perf_counter()
        api.send_batch_operations(project, batch)
        times.append((time.perf_counter() - t) * 1000)
    out["batch1000_ms_p50"] = pct(times, 50)
    out["batch1000_ms_p99"] = pct(times, 99)
    print(f"operations batch of 1,000 creates: p50 {out['batch1000_ms_p50']} ms, p99 {out['batch1000_ms_p99']} ms", flush=True)

    s = OperationsSession(con=api)
    parent = s.create_folder(project, "session_batch", folder_type="Folder")
    for j in range(999):
        s.create_folder(project, f"s{j:04d}", folder_type="Shot", parent_id=parent["id"])
    t = time.perf_counter()
    s.commit()
    out["session_commit_1000_ms"] = round((time.perf_counter() - t) * 1000, 1)
    print(f"OperationsSession.commit() of 1,000 creates (background + polling): {out['session_commit_1000_ms']} ms", flush=True)

    # a project this size takes longer to delete than the client's 10 s timeout: a plain request with a long one
    t = time.perf_counter()
    r = requests.delete(f"{URL}/api/projects/{project}", headers=api.get_headers(), timeout=900)
    out["delete_project_seconds"] = round(time.perf_counter() - t, 1)
    print(f"delete project: HTTP {r.status_code} in {out['delete_project_seconds']} s", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
