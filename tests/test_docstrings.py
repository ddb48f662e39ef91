"""numpydoc validation of the public API, without Sphinx (the docs build checks the same codes)."""

import importlib
import inspect
import re
import runpy
import textwrap
from pathlib import Path

import pytest

from sksnapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor
from sksnapshot._docstrings import DOCS

validate = pytest.importorskip("numpydoc.validate").validate

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("sksnapshot", "sksnapshot.plotting", "sksnapshot.experiments")


def _checked_codes():
    """The codes ``docs/conf.py`` has numpydoc validate during the build."""
    pytest.importorskip("matplotlib")  # sksnapshot.plotting
    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    return set(conf["numpydoc_validation_checks"])


def _is_member(value):
    """Methods, class and static methods, properties and other descriptors
    (``available_if``), not plain class attributes."""
    return callable(value) or hasattr(value, "__get__")


def public_objects():
    """Dotted names of every public object: the modules' ``__all__`` and, for a class,
    its ``__init__`` and public methods and properties (its own and those of its
    sksnapshot bases; those it inherits from scikit-learn or Keras are not ours)."""
    names = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not hasattr(obj, "__qualname__"):  # a constant
                continue
            qualname = f"{obj.__module__}.{obj.__qualname__}"
            names.add(qualname)
            if not inspect.isclass(obj):
                continue
            ours = [cls for cls in obj.__mro__ if cls.__module__.startswith("sksnapshot")]
            if any("__init__" in vars(cls) for cls in ours):
                names.add(f"{qualname}.__init__")
            for cls in ours:
                for attr, value in vars(cls).items():
                    if not attr.startswith("_") and _is_member(value):
                        names.add(f"{qualname}.{attr}")
    return sorted(names)


def violations(names, codes):
    found = []
    for name in names:
        for code, message in validate(name)["errors"]:
            if code in codes:
                found.append(f"{name}: {code} {message}")
    return found


def test_public_api_docstrings_pass_numpydoc_validation():
    codes = _checked_codes()
    assert {"GL08", "PR01", "PR02", "RT01", "SS03"} <= codes
    found = violations(public_objects(), codes)
    assert not found, f"{len(found)} numpydoc violations:\n" + "\n".join(found)


def test_public_objects_cover_the_estimators_and_their_methods():
    names = public_objects()
    for cls in (SnapshotEnsembleClassifier, SnapshotEnsembleRegressor):
        qualname = f"{cls.__module__}.{cls.__qualname__}"
        for member in (
            "",
            ".__init__",
            ".fit",
            ".partial_fit",
            ".predict",
            ".get_params",
            ".set_params",
            ".n_members_",
        ):
            assert qualname + member in names
    assert "sksnapshot.experiments._compare.CompareResult.summary" in names
    assert "sksnapshot.plotting.LearningRateDisplay.from_params" in names


@pytest.mark.parametrize("cls", [SnapshotEnsembleClassifier, SnapshotEnsembleRegressor])
def test_shared_texts_are_filled_in(cls):
    doc = cls.__doc__
    assert "%(" not in doc
    # Every shared entry appears in both estimators' docstrings, word for word, with the
    # estimator's own default (the classifier's n_networks is "auto", the regressor's 1).
    defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
    for name, text in DOCS.items():
        if name in defaults:
            default = defaults[name]
            shown = f'"{default}"' if isinstance(default, str) else repr(default)
            text = re.sub(r"default=.*$", f"default={shown}", text, count=1, flags=re.M)
        assert textwrap.indent(text, "    ") in doc, name


@pytest.mark.parametrize("cls", [SnapshotEnsembleClassifier, SnapshotEnsembleRegressor])
def test_parameters_documented_in_signature_order(cls):
    doc = cls.__doc__
    section = doc.split("    Parameters\n    ----------\n", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^    (\*{0,2}\w+)(?: :|$)", section, flags=re.M)
    signature = [
        ("**" if p.kind is p.VAR_KEYWORD else "") + p.name
        for p in inspect.signature(cls).parameters.values()
    ]
    assert documented == signature
