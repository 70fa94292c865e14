"""Lets conformance/conftest.py load in the PySpeckle v1 virtualenv (.venv-v1). No tests here.

scripts/test-all.sh runs the v1 suite as `.venv-v1/bin/python -m pytest -p test_speckle_v1_env …`
(with conformance/ on PYTHONPATH), so this module is imported before conftest.py. The v1 client
needs pydantic 1 and specklepy needs pydantic 2, so .venv-v1 has no specklepy; conftest.py imports
`specklepy.logging.metrics` only to switch specklepy's analytics off. Here that module is given an
empty stand-in (its `disable()` does nothing: without specklepy there is nothing to switch off).
In the main .venv specklepy is importable and this module changes nothing.
"""

from __future__ import annotations

import sys
import types

try:
    import specklepy.logging.metrics  # noqa: F401  (the main venv: the real module)
except ImportError:
    _pkg = types.ModuleType("specklepy")
    _pkg.__path__ = []  # a package, so `specklepy.logging` can be imported from it
    _logging = types.ModuleType("specklepy.logging")
    _logging.__path__ = []
    _metrics = types.ModuleType("specklepy.logging.metrics")
    _metrics.disable = lambda: None  # type: ignore[attr-defined]
    _logging.metrics = _metrics  # type: ignore[attr-defined]
    _pkg.logging = _logging  # type: ignore[attr-defined]
    sys.modules.setdefault("specklepy", _pkg)
    sys.modules.setdefault("specklepy.logging", _logging)
    sys.modules.setdefault("specklepy.logging.metrics", _metrics)
