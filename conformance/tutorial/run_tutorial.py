"""Runs the analytics tutorial (model_data_analytics.py, the page's code unchanged) in this process and
prints what it computed as one line `TUTORIAL-RESULT {json}` on stdout, for the conformance test.

The tutorial reads its settings from the environment (SPECKLE_HOST, SPECKLE_TOKEN, SPECKLE_MODEL_URL,
optional SPECKLE_VERSION_ID) and writes its downloads under ./packfiles of the working directory.
Before it runs, specklepy's usage metrics are switched off (they would try to reach Speckle's
analytics service); nothing else is added to or changed in the tutorial's own code.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

from specklepy.logging import metrics

metrics.disable()

TUTORIAL = Path(__file__).with_name("model_data_analytics.py")


def main() -> int:
    ns = runpy.run_path(str(TUTORIAL), run_name="__main__")
    summary = ns["summary"]
    result = {
        "project_id": ns["project_id"],
        "model_id": ns["model_id"],
        "version_id": ns["version_id"],
        "availability": ns["version"],
        "object_count": int(summary["object_count"].iloc[0]),
        "category_counts": {str(r.category): int(r.count) for r in ns["category_counts"].itertuples()},
        "level_counts": {str(r.level_name): int(r.count) for r in ns["level_counts"].itertuples()},
        "main_path": str(Path(ns["main_path"]).resolve()),
        "eav_path": str(Path(ns["eav_path"]).resolve()),
    }
    print("TUTORIAL-RESULT " + json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
