"""Sphinx configuration of the sksnapshot documentation."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The gallery runs the examples in their quick mode (see examples/*.py) so that the whole
# build stays within a few minutes on 2 cores.
os.environ.setdefault("SKSNAPSHOT_QUICK", "1")

import sksnapshot  # noqa: E402

project = "sksnapshot"
author = "sksnapshot developers"
copyright = "2026, sksnapshot developers"
version = release = sksnapshot.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = "sksnapshot"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}
