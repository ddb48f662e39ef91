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
# numpydoc validates every docstring the build renders; the build runs with -W, so a
# violation fails it. tests/test_docstrings.py checks the same codes on the whole public
# API without Sphinx. Not checked: ES01 (extended summary), EX01 (examples), RT02 and
# RT03 (named / described single returns), SA01 and SA03 (See Also), SS05 (summary verb).
numpydoc_validation_checks = {
    *("GL01", "GL02", "GL03", "GL05", "GL06", "GL07", "GL08", "GL09", "GL10"),
    *("PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR08", "PR09", "PR10"),
    *("RT01", "RT04", "RT05", "SA02", "SA04", "YD01"),
    *("SS01", "SS02", "SS03", "SS04", "SS06"),
}
# Docstrings that are not ours: the module constants' (numpydoc reads those of their types,
# dict and tuple) and Keras' ``LearningRateSchedule.from_config``.
numpydoc_validation_exclude = {
    r"^sksnapshot\.experiments\.[A-Z][A-Z_]*$",
    r"^sksnapshot\.SnapshotLearningRateSchedule\.from_config$",
}
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = "sksnapshot"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False}

# The method tables of the estimators list scikit-learn's ``score``, whose summary links
# to labels of scikit-learn's own documentation: point them at it.
_SKLEARN_LABELS = {
    "accuracy_score": "modules/model_evaluation.html#accuracy-score",
    "r2_score": "modules/model_evaluation.html#r2-score",
}


def _sklearn_label(app, env, node, contnode):
    target = node.get("reftarget")
    if node.get("reftype") == "ref" and target in _SKLEARN_LABELS:
        from docutils import nodes

        uri = "https://scikit-learn.org/stable/" + _SKLEARN_LABELS[target]
        reference = nodes.reference("", "", internal=False, refuri=uri)
        reference += contnode
        return reference
    return None


def setup(app):
    app.connect("missing-reference", _sklearn_label)


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}
