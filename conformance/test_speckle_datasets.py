"""Version analytics datasets with the real clients: the "SpecklePy Model Data Analytics" tutorial,
its code unchanged (conformance/tutorial/model_data_analytics.py), run against Atrium over HTTPS.

A version shaped like a Revit export from Speckle's v3 connectors is sent with specklepy (collections
per level and category → RevitObject DataObjects with `category`, nested `properties.Parameters…`,
Material Quantities and a detached Mesh each; the root carries `levelProxies` and
`renderMaterialProxies`). Then the tutorial runs in a subprocess with SPECKLE_HOST / SPECKLE_TOKEN /
SPECKLE_MODEL_URL pointing at the test server and REQUESTS_CA_BUNDLE trusting its self-signed
certificate; what it computed must equal what this test computed from the objects it sent:
object_count = the root's closure + the root, and the category and level counts. The downloaded
files are opened again here with the `duckdb` package from PyPI. The troubleshooting section's
answers (401/403/404) are checked with raw requests.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import requests
from specklepy.api import operations
from specklepy.api.client import SpeckleClient
from specklepy.core.api.inputs.project_inputs import ProjectCreateInput
from specklepy.core.api.inputs.version_inputs import CreateVersionInput
from specklepy.objects.data_objects import DataObject
from specklepy.objects.geometry import Mesh
from specklepy.objects.models.collections.collection import Collection
from specklepy.objects.other import RenderMaterial
from specklepy.objects.proxies import LevelProxy, RenderMaterialProxy
from specklepy.transports.memory import MemoryTransport
from specklepy.transports.server import ServerTransport

from conftest import ALL_SCOPES, TlsAtriumServer

HERE = Path(__file__).resolve().parent
TUTORIAL_DIR = HERE / "tutorial"
SEED = Path("/work/shared/seeds/003_008725bd77a360f1-specklepy-model-data-analytics.txt")
DATASET_TIMEOUT_S = 120
TUTORIAL_TIMEOUT_S = 300

LEVELS = ["Level 1", "Level 2", "Level 3"]
CATEGORIES = ["Walls", "Floors", "Doors", "Windows"]
MATERIALS = ["Concrete", "Glass", "Steel"]


@dataclass(kw_only=True)
class RevitObject(DataObject, speckle_type="Objects.Data.RevitObject"):
    """What Revit elements look like in v3 connector exports (speckle_type
    `Objects.Data.DataObject:Objects.Data.RevitObject`)."""


@dataclass
class SentVersion:
    project_id: str
    model_id: str
    version_id: str
    root_id: str
    object_count: int
    closure_size: int
    category_counts: dict[str, int]
    level_counts: dict[str, int]
    sent_seconds: float
    created_at: float


def revit_like_model(elements: int, seed: int):
    """A root Collection → Collection per level → Collection per category → RevitObjects with a Mesh
    each; levelProxies and renderMaterialProxies on the root list member applicationIds."""
    import random

    rnd = random.Random(seed)
    tree: dict[str, dict[str, list]] = {lv: {c: [] for c in CATEGORIES} for lv in LEVELS}
    level_members: dict[str, list[str]] = {lv: [] for lv in LEVELS}
    material_members: dict[str, list[str]] = {m: [] for m in MATERIALS}
    categories: Counter[str] = Counter()
    for i in range(elements):
        level, category, material = rnd.choice(LEVELS), rnd.choice(CATEGORIES), rnd.choice(MATERIALS)
        app_id = f"{rnd.getrandbits(64):016x}-{i:06d}-rvt"
        mesh = Mesh(vertices=[0, 0, 0, 1000, 0, 0, 1000, 1000, 0, 0, 1000, 0], faces=[4, 0, 1, 2, 3], units="mm")
        mesh.applicationId = f"{app_id}-mesh"
        element = RevitObject(
            name=f"{category} {i}",
            properties={
                "Element ID": str(100000 + i),
                "Parameters": {
                    "Instance Parameters": {
                        "Dimensions": {
                            "Length": {"name": "Length", "value": round(rnd.uniform(500, 9000), 2), "units": "mm", "internalDefinitionName": "CURVE_ELEM_LENGTH"},
                            "Area": {"name": "Area", "value": round(rnd.uniform(1, 40), 3), "units": "m²", "internalDefinitionName": "HOST_AREA_COMPUTED"},
                        },
                        "Constraints": {"Base Constraint": {"name": "Base Constraint", "value": level, "units": None, "internalDefinitionName": "WALL_BASE_CONSTRAINT"}},
                        "Identity Data": {"Mark": {"name": "Mark", "value": str(i), "units": None, "internalDefinitionName": "ALL_MODEL_MARK"}},
                    },
                    "Type Parameters": {"Construction": {"Function": {"name": "Function", "value": rnd.choice(["Exterior", "Interior"]), "units": None, "internalDefinitionName": "FUNCTION_PARAM"}}},
                },
                "Material Quantities": {material: {"materialName": material, "materialCategory": material, "area": {"name": "area", "value": round(rnd.uniform(1, 50), 2), "units": "m²"}, "volume": {"name": "volume", "value": round(rnd.uniform(0.1, 5), 3), "units": "m³"}}},
            },
            displayValue=[mesh],
        )
        element.applicationId = app_id
        element.category = category
        element.family = f"{category} family"
        element.type = f"{category} type {i % 5}"
        element.level = level
        element.units = "mm"
        tree[level][category].append(element)
        level_members[level].append(app_id)
        material_members[material].append(app_id)
        categories[category] += 1

    levels = []
    for level in LEVELS:
        by_category = [Collection(name=c, elements=tree[level][c]) for c in CATEGORIES if tree[level][c]]
        levels.append(Collection(name=level, elements=by_category))
    root = Collection(name="Revit model (synthetic)", elements=levels)
    root.levelProxies = [
        LevelProxy(objects=level_members[lv], value=DataObject(name=lv, properties={"elevation": i * 3000.0}, displayValue=[]), applicationId=f"level-{i}")
        for i, lv in enumerate(LEVELS)
    ]
    root.renderMaterialProxies = [
        RenderMaterialProxy(objects=material_members[m], value=RenderMaterial(name=m, diffuse=0xFF808080 - i))
        for i, m in enumerate(MATERIALS)
    ]
    level_counts = {lv: len(members) for lv, members in level_members.items() if members}
    return root, dict(categories), level_counts


def graphql(server: TlsAtriumServer, token: str | None, query: str, variables: dict) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    r = requests.post(server.url + "/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30, verify=str(server.ca_bundle))
    r.raise_for_status()
    body = r.json()
    assert not body.get("errors"), body
    return body["data"]


AVAILABILITY = """query DatasetAvailability($projectId: String!, $modelId: String!, $versionId: String!) {
  project(id: $projectId) { model(id: $modelId) { version(id: $versionId) { id objectKey packfileSize referencedObject createdAt } } } }"""


@pytest.fixture(scope="module")
def owner_token(tls_server: TlsAtriumServer) -> str:
    email = f"analyst-{secrets.token_hex(3)}@example.com"
    tls_server.cli("users", "create", "--email", email, "--name", "Analyst", "--password", "pw-" + secrets.token_hex(8), "--admin")
    return tls_server.create_token(ALL_SCOPES, user=email, name="analytics")


@pytest.fixture
def trust_server(tls_server: TlsAtriumServer, monkeypatch):
    """specklepy (requests) in this process trusts the server's certificate."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_server.ca_bundle))


def client_for(server: TlsAtriumServer, token: str) -> SpeckleClient:
    client = SpeckleClient(host=server.host, use_ssl=True)
    client.authenticate_with_token(token)
    return client


def send_revit_like_version(server: TlsAtriumServer, token: str, *, elements: int = 60, seed: int = 1, project_id: str | None = None) -> SentVersion:
    client = client_for(server, token)
    if project_id is None:
        project_id = client.project.create(ProjectCreateInput(name=f"analytics-{secrets.token_hex(3)}", description=None, visibility=None)).id
    model_id = client.model.get_models(project_id).items[0].id
    root, categories, levels = revit_like_model(elements, seed)
    memory = MemoryTransport()
    t0 = time.monotonic()
    root_id = operations.send(root, [ServerTransport(project_id, client), memory], use_default_cache=False)
    sent = time.monotonic() - t0
    closure = json.loads(memory.objects[root_id])["__closure"]
    version = client.version.create(CreateVersionInput(objectId=root_id, modelId=model_id, projectId=project_id, message="analytics"))
    return SentVersion(
        project_id=project_id, model_id=model_id, version_id=version.id, root_id=root_id,
        object_count=len(memory.objects), closure_size=len(closure), category_counts=categories,
        level_counts=levels, sent_seconds=sent, created_at=time.monotonic(),
    )


def wait_for_datasets(server: TlsAtriumServer, token: str, v: SentVersion) -> tuple[dict, float]:
    """Polls GraphQL until objectKey is set, then the EAV download until it answers; returns the
    availability and the seconds from version creation to objectKey."""
    deadline = time.monotonic() + DATASET_TIMEOUT_S
    variables = {"projectId": v.project_id, "modelId": v.model_id, "versionId": v.version_id}
    while True:
        version = graphql(server, token, AVAILABILITY, variables)["project"]["model"]["version"]
        if version["objectKey"]:
            ready_after = time.monotonic() - v.created_at
            break
        assert time.monotonic() < deadline, "objectKey stayed null"
        time.sleep(0.1)
    eav = f"{server.url}/api/v1/projects/{v.project_id}/models/{v.model_id}/versions/{v.version_id}/eav/download"
    while requests.head(eav, headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=str(server.ca_bundle)).status_code != 200:
        assert time.monotonic() < deadline, "the EAV dataset was not built"
        time.sleep(0.1)
    return version, ready_after


def run_tutorial(server: TlsAtriumServer, token: str, model_url: str, workdir: Path, version_id: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPECKLE_", "ATRIUM_"))}
    env.update(
        SPECKLE_HOST=server.url,
        SPECKLE_TOKEN=token,
        SPECKLE_MODEL_URL=model_url,
        REQUESTS_CA_BUNDLE=str(server.ca_bundle),
        SPECKLE_USERDATA_PATH=str(workdir / "speckle-userdata"),
    )
    if version_id:
        env["SPECKLE_VERSION_ID"] = version_id
    workdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, str(TUTORIAL_DIR / "run_tutorial.py")],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=TUTORIAL_TIMEOUT_S,
    )
    assert done.returncode == 0, f"the tutorial failed:\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    line = next((l for l in done.stdout.splitlines() if l.startswith("TUTORIAL-RESULT ")), None)
    assert line, done.stdout
    return json.loads(line[len("TUTORIAL-RESULT "):])


# ---------------------------------------------------------------------------------------------


def test_tutorial_script_is_the_seed_code_verbatim():
    """conformance/tutorial/model_data_analytics.py holds the page's code blocks, unchanged, in order."""
    if not SEED.exists():
        pytest.skip(f"the tutorial page is not available at {SEED}")
    blocks = re.findall(r"```python theme=\{null\}\n(.*?)```", SEED.read_text(), re.S)
    assert len(blocks) == 5
    script = (TUTORIAL_DIR / "model_data_analytics.py").read_text()
    body = script[script.index("import os\nfrom specklepy.api.client import SpeckleClient"):]
    assert all(line.startswith("#") or not line for line in script[: len(script) - len(body)].splitlines())
    assert body == "\n".join(blocks)


def test_the_tutorial_runs_unchanged_over_https(tls_server: TlsAtriumServer, owner_token: str, trust_server, tmp_path: Path):
    sent = send_revit_like_version(tls_server, owner_token, elements=60, seed=3)
    assert sent.object_count == sent.closure_size + 1
    availability, ready_after = wait_for_datasets(tls_server, owner_token, sent)
    print(f"\n[{tls_server.db_kind}] {sent.object_count} objects sent in {sent.sent_seconds:.2f}s; objectKey after {ready_after:.2f}s")

    model_url = f"{tls_server.url}/projects/{sent.project_id}/models/{sent.model_id}"
    result = run_tutorial(tls_server, owner_token, model_url, tmp_path)

    # step 2: the latest version of the model, resolved and available
    assert (result["project_id"], result["model_id"], result["version_id"]) == (sent.project_id, sent.model_id, sent.version_id)
    assert result["availability"]["objectKey"] == availability["objectKey"]
    assert result["availability"]["referencedObject"] == sent.root_id
    # step 3: the files as the tutorial saved them
    main_path, eav_path = Path(result["main_path"]), Path(result["eav_path"])
    assert main_path == (tmp_path / "packfiles" / sent.project_id / sent.model_id / sent.version_id / f"{sent.version_id}.duckdb").resolve()
    assert main_path.stat().st_size == availability["packfileSize"]
    assert eav_path.name == f"{sent.version_id}.eav.duckdb"
    # steps 4-5: what the tutorial computed equals what was sent
    assert result["object_count"] == sent.object_count
    assert result["category_counts"] == sent.category_counts
    assert result["level_counts"] == sent.level_counts

    # the files open with the duckdb package from PyPI, and hold the rest of what the workflow expects
    con = duckdb.connect()
    con.execute(f"ATTACH '{main_path.as_posix()}' AS main_pf (READ_ONLY)")
    con.execute(f"ATTACH '{eav_path.as_posix()}' AS eav_pf (READ_ONLY)")
    assert con.execute("SELECT id FROM main_pf.root").fetchall() == [(sent.root_id,)]
    assert con.execute("SELECT id FROM main_pf.objects ORDER BY rowid DESC LIMIT 1").fetchone() == (sent.root_id,)
    assert con.execute("SELECT COUNT(*) FROM main_pf.blobs").fetchone() == (0,)
    types = dict(con.execute("SELECT speckle_type, COUNT(*) FROM main_pf.objects GROUP BY 1").fetchall())
    assert types["Objects.Data.DataObject:Objects.Data.RevitObject"] == 60
    property_rows, proxy_rows = con.execute("SELECT (SELECT COUNT(*) FROM eav_pf.properties), (SELECT COUNT(*) FROM eav_pf.proxies)").fetchone()
    assert property_rows > 60 * 10
    assert proxy_rows == 60 * 2  # each element is in one level and one material proxy
    lengths = con.execute(
        "SELECT COUNT(*), COUNT(value_num), MIN(units), MIN(internal_definition_name) FROM eav_pf.properties "
        "WHERE path = 'properties.Parameters.Instance Parameters.Dimensions.Length'"
    ).fetchone()
    assert lengths == (60, 60, "mm", "CURVE_ELEM_LENGTH")
    materials = dict(con.execute("SELECT name, COUNT(*) FROM eav_pf.proxies WHERE proxy_type = 'renderMaterial' GROUP BY 1").fetchall())
    assert sum(materials.values()) == 60 and set(materials) <= set(MATERIALS)


def test_the_tutorial_reads_a_given_version_and_each_version_has_its_own_files(tls_server: TlsAtriumServer, owner_token: str, trust_server, tmp_path: Path):
    first = send_revit_like_version(tls_server, owner_token, elements=12, seed=11)
    second = send_revit_like_version(tls_server, owner_token, elements=20, seed=12, project_id=first.project_id)
    for v in (first, second):
        wait_for_datasets(tls_server, owner_token, v)
    # `@versionId` in the model URL picks the older version; without it the latest one is used
    older = run_tutorial(tls_server, owner_token, f"{tls_server.url}/projects/{first.project_id}/models/{first.model_id}@{first.version_id}", tmp_path / "a")
    assert older["version_id"] == first.version_id
    assert (older["object_count"], older["category_counts"], older["level_counts"]) == (first.object_count, first.category_counts, first.level_counts)
    latest = run_tutorial(tls_server, owner_token, f"{tls_server.url}/projects/{first.project_id}/models/{first.model_id}", tmp_path / "b")
    assert latest["version_id"] == second.version_id
    assert latest["object_count"] == second.object_count


def test_downloads_answer_as_the_troubleshooting_section_says(tls_server: TlsAtriumServer, owner_token: str, trust_server):
    sent = send_revit_like_version(tls_server, owner_token, elements=4, seed=21)
    wait_for_datasets(tls_server, owner_token, sent)
    base = f"{tls_server.url}/api/v1/projects/{sent.project_id}/models/{sent.model_id}/versions"
    verify = str(tls_server.ca_bundle)

    def get(url: str, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(url, headers=headers, timeout=30, verify=verify)

    ok = get(f"{base}/{sent.version_id}/download", owner_token)
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/octet-stream"
    assert ok.headers["Content-Disposition"] == f'attachment; filename="{sent.version_id}.duckdb"'
    assert int(ok.headers["Content-Length"]) == len(ok.content)
    # 401 without a token, 403 with a token that has no access to the project, 404 for wrong ids
    assert get(f"{base}/{sent.version_id}/download").status_code == 401
    stranger_email = f"stranger-{secrets.token_hex(3)}@example.com"
    tls_server.cli("users", "create", "--email", stranger_email, "--name", "Stranger", "--password", "pw-" + secrets.token_hex(8))
    stranger = tls_server.create_token(["streams:read", "profile:read"], user=stranger_email)
    assert get(f"{base}/{sent.version_id}/download", stranger).status_code == 403
    assert get(f"{base}/{sent.version_id}/eav/download", stranger).status_code == 403
    assert get(f"{base}/0000000000/download", owner_token).status_code == 404
    wrong_model = f"{tls_server.url}/api/v1/projects/{sent.project_id}/models/0000000000/versions/{sent.version_id}/download"
    assert get(wrong_model, owner_token).status_code == 404
    err = get(f"{base}/0000000000/eav/download", owner_token).json()
    assert err["error"]["code"] == "NOT_FOUND_ERROR"
    # a partial download (what a resuming client asks for)
    part = requests.get(f"{base}/{sent.version_id}/download", headers={"Authorization": f"Bearer {owner_token}", "Range": "bytes=0-15"}, timeout=30, verify=verify)
    assert part.status_code == 206 and part.content == ok.content[:16]
