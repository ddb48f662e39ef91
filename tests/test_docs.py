"""The documentation builds with warnings as errors, gallery included (quick mode)."""

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", ["sksnapshot", "sksnapshot.plotting", "sksnapshot.experiments"])
def test_every_public_name_is_in_the_api_reference(module):
    api = (ROOT / "docs" / "api.rst").read_text()
    names = importlib.import_module(module).__all__
    # Listed in an autosummary under ".. currentmodule:: <module>".
    sections = re.split(r"^\.\. currentmodule:: ", api, flags=re.M)
    listed = {
        line.strip()
        for section in sections
        if section.split("\n", 1)[0].strip() == module
        for line in section.splitlines()
        if line.startswith("   ") and not line.strip().startswith(":")
    }
    missing = sorted(set(names) - listed)
    assert not missing, f"not in docs/api.rst: {missing}"


@pytest.mark.slow
def test_sphinx_build_without_warnings(tmp_path):
    # sphinx-gallery and autosummary write into the source tree: build a copy.
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("_build"))
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "SKSNAPSHOT_QUICK": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(tmp_path / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    html = tmp_path / "html"
    pages = [
        "index",
        "getting_started",
        "user_guide",
        "when_does_it_help",
        "scaling",
        "performance",
        "robustness",
        "api",
        "changelog",
        "auto_examples/index",
    ]
    for page in pages:
        assert (html / f"{page}.html").exists(), page
    # The user guide's learning-rate figure, drawn at build time by the plot directive.
    guide = (html / "user_guide.html").read_text()
    figures = re.findall(r'<img[^>]+src="(_images/user_guide-[^"]+\.png)"', guide)
    assert figures, "the user guide has no learning-rate figure"
    assert all((html / figure).is_file() for figure in figures)
    assert "reference_tutorial_settings.png" in guide  # the ensemble curve
    for name in ["SnapshotEnsembleClassifier", "SnapshotEnsembleRegressor"]:
        assert (html / "generated" / f"sksnapshot.{name}.html").exists(), name
    for example in ["plot_reference_experiment", "plot_compare_estimators", "plot_grid_search"]:
        assert (html / "auto_examples" / f"{example}.html").exists(), example
        figures = list((html / "_images").glob(f"sphx_glr_{example}_*.png"))
        assert figures, f"{example} produced no figure"
