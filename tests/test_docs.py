"""The documentation covers the public API and the gallery follows its rules.

The docs build itself (``python -m sphinx -W ...``, run by ``.ci/run``) runs
every example; these checks are the fast, static part: every public object is
in the API reference, and every example is a valid sphinx-gallery script that
reads no data from the network.
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "doc"
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))

PUBLIC_MODULES = [
    "skmoe",
    "skmoe.gating",
    "skmoe.experts",
    "skmoe.sequence",
    "skmoe.neural",
    "skmoe.model_selection",
    "skmoe.datasets",
    "skmoe.exceptions",
    "skmoe.inspection",
    "skmoe.utils",
]


def _documented_objects():
    """Objects listed in the autosummary blocks of doc/api.rst."""
    module = None
    documented = {}
    in_autosummary = False
    for line in (DOC / "api.rst").read_text().splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line)
        if m:
            module = importlib.import_module(m.group(1))
            continue
        if line.startswith(".. autosummary::"):
            in_autosummary = True
            continue
        if in_autosummary:
            entry = line.strip()
            if not line.startswith("   ") and entry:
                in_autosummary = False
            elif entry and not entry.startswith(":"):
                name = entry.lstrip("~")
                documented[f"{module.__name__}.{name}"] = getattr(module, name)
    return documented


def _public_names(module):
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if n != "__version__"]
    # skmoe.exceptions has no __all__: its public classes are the API.
    return [
        n
        for n, obj in vars(module).items()
        if not n.startswith("_") and inspect.isclass(obj) and obj.__module__ == module.__name__
    ]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_object_is_in_the_api_reference(module_name):
    documented = _documented_objects()
    ids = {id(obj) for obj in documented.values()}
    module = importlib.import_module(module_name)
    names = _public_names(module)
    assert names, f"{module_name} exports nothing"
    # Re-exports (skmoe.SoftmaxGate is skmoe.gating.SoftmaxGate) count once.
    missing = [n for n in names if id(getattr(module, n)) not in ids]
    assert not missing, f"not in doc/api.rst: {module_name}.{missing}"


def test_api_reference_lists_no_object_twice():
    # Two autosummary pages for one object make Sphinx warn (duplicate object).
    objs = list(_documented_objects().items())
    seen = {}
    for name, obj in objs:
        assert id(obj) not in seen, f"{name} and {seen[id(obj)]} are the same object"
        seen[id(obj)] = name


def test_guide_chapters_are_in_a_toctree():
    text = (DOC / "user_guide.rst").read_text() + (DOC / "index.rst").read_text()
    for chapter in sorted((DOC / "guide").glob("*.rst")):
        assert f"guide/{chapter.stem}" in text, f"{chapter.name} is in no toctree"


def test_gallery_has_at_least_ten_examples():
    assert len(EXAMPLES) >= 10, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_gallery_script_on_offline_data(path):
    source = path.read_text()
    tree = ast.parse(source, filename=str(path))  # a syntax error fails here
    doc = ast.get_docstring(tree, clean=False)
    assert doc, "sphinx-gallery needs a module docstring with a title"
    lines = doc.strip("\n").splitlines()
    # reST title with over- and underline at least as long as the title.
    over, title, under = lines[0], lines[1], lines[2]
    assert set(over) == {"="} and set(under) == {"="}, lines[:3]
    assert len(over) >= len(title.rstrip()) and len(under) >= len(title.rstrip()), lines[:3]
    # Real data available offline: no downloaders (sklearn's fetch_*, URLs).
    for call in ast.walk(tree):
        if isinstance(call, ast.Call):
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert not name.startswith("fetch_"), f"{path.name} calls {name}"
            assert name not in {"urlopen", "urlretrieve", "read_csv_url"}, name
    assert "http://" not in source and "https://" not in source
