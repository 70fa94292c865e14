"""Receives one object with specklepy in a FRESH process and prints what it got, as one JSON line.

    python helpers_speckle_receive.py <host:port> <token> <projectId> <objectId>

A new SpeckleClient (use_ssl=False), `operations.receive(objectId, ServerTransport(projectId, client),
local_transport=MemoryTransport())` — so nothing can come from a local cache — then the canonical
content digest of helpers_speckle_data.content_digest (numbers compared by value: the server
stores JSON.stringify of the parsed object, so 2.0 comes back as 2 and a re-serialised id would
differ — speckle.md §8.3).

Output: {"digest": …, "counts": …, "sums": …, "ids": …, "id": …, "seconds": {…}}.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, token, project_id, object_id = argv[:4]

    # a throwaway account directory, analytics off: nothing shared with the parent process
    userdata = tempfile.mkdtemp(prefix="atrium-receive-")
    os.environ["SPECKLE_USERDATA_PATH"] = userdata
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from specklepy.logging import metrics

        metrics.disable()
        from specklepy.api import operations
        from specklepy.api.client import SpeckleClient
        from specklepy.transports.memory import MemoryTransport
        from specklepy.transports.server import ServerTransport

        from helpers_speckle_data import content_digest

        seconds: dict[str, float] = {}
        client = SpeckleClient(host=host, use_ssl=False)
        client.authenticate_with_token(token)
        t0 = time.perf_counter()
        obj = operations.receive(
            object_id, ServerTransport(project_id, client), local_transport=MemoryTransport()
        )
        seconds["receive"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        out = content_digest(obj)
        seconds["digest"] = round(time.perf_counter() - t0, 2)
        out["id"] = getattr(obj, "id", None)
        out["seconds"] = seconds
        print(json.dumps(out, sort_keys=True))
        return 0
    finally:
        shutil.rmtree(userdata, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
