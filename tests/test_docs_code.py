"""The Python examples of the README and the documentation pages run as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

# What a page assumes the reader already has (the pages say "your X, y").
GIVEN = {
    "docs/scaling.md": (
        "from sklearn.datasets import make_blobs\n"
        "X, y = make_blobs(n_samples=300, centers=3, cluster_std=2.0, random_state=2)\n"
    ),
    "docs/robustness.md": (
        "from sklearn.datasets import make_blobs\n"
        "from sksnapshot import SnapshotEnsembleClassifier\n"
        "X, y = make_blobs(n_samples=100, centers=3, random_state=0)\n"
        "clf = SnapshotEnsembleClassifier(n_cycles=2, epochs=4, random_state=0).fit(X, y)\n"
    ),
}
# Pages whose blocks build on each other run as one script; the others block by block
# (scaling.md's dask recipe starts worker processes that import its script).
JOINED = {"README.md", "docs/getting_started.md", "docs/user_guide.md", "docs/robustness.md"}
PAGES = ["README.md", "docs/getting_started.md", "docs/user_guide.md", "docs/scaling.md",
         "docs/robustness.md"]  # fmt: skip


def _scripts(page):
    blocks = BLOCK.findall((ROOT / page).read_text())
    assert blocks, f"{page} has no Python example"
    given = GIVEN.get(page, "")
    if page in JOINED:
        return [given + "\n".join(blocks)]
    return [given + block for block in blocks]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_python_examples_of_the_page_run(page, tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    for number, code in enumerate(_scripts(page)):
        script = tmp_path / f"example_{number}.py"
        script.write_text(code)
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,  # whatever an example writes stays in the temporary directory
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert result.returncode == 0, f"{page}, example {number}:\n{result.stderr[-4000:]}"
