"""``import groundscore`` stays light: no torch, spaCy or transformers, even after a schema-only verify.

Checked in a fresh interpreter (this test process has imported everything
already). The heavy libraries are installed in the test environment, so an
accidental top-level import anywhere would show up here.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "spacy", "transformers", "open_clip", "sentence_transformers", "sklearn", "numpy")

PROBE = """
import json, sys
import groundscore
after_import = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
report = groundscore.verify(
    {"query": "water left", "completion": '[{"bbox_2d": [45, 36, 137, 209], "label": "water left"}]',
     "image_size": [640, 480]},
    config={"verifiers": ["schema"]},
)
after_verify = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(json.dumps({"after_import": after_import, "after_verify": after_verify,
                  "decision": report.decision, "plugins_loaded_on_import": None}))
"""


def _probe(code: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + code], capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_and_schema_verify_load_no_heavy_library() -> None:
    out = _probe(PROBE)
    heavy_core = {"torch", "spacy", "transformers"}
    assert not [m for m in out["after_import"] if m.split(".")[0] in heavy_core]
    assert not [m for m in out["after_verify"] if m.split(".")[0] in heavy_core]
    assert out["decision"] == "accept"


def test_import_does_not_load_plugins() -> None:
    out = _probe(
        "import json, sys\nimport groundscore\nfrom groundscore.plugins import manager\n"
        "print(json.dumps({'registry': manager._registry is not None,"
        " 'builtins': sorted(m for m in manager.DEFAULT_PLUGINS if m in sys.modules),"
        " 'other': sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'json_repair'))}))"
    )
    assert out == {"registry": False, "builtins": [], "other": []}, "import groundscore must not load plugins"
