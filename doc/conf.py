"""Sphinx configuration for skmoe.

Build with warnings as errors (the command README.md and .ci/run use)::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

The build runs every ``examples/plot_*.py`` script through sphinx-gallery;
an example that raises fails the build.
"""

import os
import re
import warnings

import skmoe

# Examples draw with the non-interactive backend whatever the environment says.
os.environ.setdefault("MPLBACKEND", "Agg")

project = "skmoe"
author = "skmoe developers"
copyright = "skmoe developers"
release = skmoe.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_templates",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "sg_execution_times.rst",
]
autosummary_generate = True
autodoc_default_options = {"member-order": "alphabetical"}
# numpydoc renders the Parameters/Attributes sections; the class template
# (doc/_templates/autosummary/class.rst) documents the methods itself.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every example runs in the docs build (about 2-3 minutes on 2 cores).
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skmoe",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"skmoe": None},
    "remove_config_comments": True,
    "download_all_examples": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skmoe {release}"
html_theme_options = {"navigation_with_keys": False}

# Example scripts print their own warnings; Sphinx's -W is about the docs.
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")

# Methods inherited from scikit-learn carry references into scikit-learn's own
# documentation (``:ref:`User Guide <...>```, ``:term:`...```) whose targets do
# not exist here; they are shown as plain text.  skmoe's docstrings use neither.
_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^`>]*>)?`")

# Metadata-routing plumbing that every scikit-learn estimator inherits; it is
# documented by scikit-learn and adds nothing here.
_SKIP = re.compile(r"^(set_\w+_request|get_metadata_routing)$")


def _plain_roles(app, what, name, obj, options, lines):
    lines[:] = [_ROLE.sub(lambda m: m.group(1).strip(), line) for line in lines]


def _skip_member(app, what, name, obj, skip, options):
    if _SKIP.match(name):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _plain_roles)
    app.connect("autodoc-skip-member", _skip_member)
