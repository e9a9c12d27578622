"""The "?" link of scikit-learn's estimator HTML boxes points to skmoe's API pages."""

import importlib
import inspect
import re
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator

from skmoe import MixtureOfExpertsRegressor
from skmoe._docs import DOC_URL
from skmoe.experts import LinearExpert
from skmoe.gating import SoftmaxGate

DOC = Path(__file__).resolve().parents[1] / "doc"


def _links(html):
    return re.findall(r'href="([^"]+)"', html)


@pytest.mark.parametrize(
    "est, page",
    [
        (MixtureOfExpertsRegressor(), "skmoe.MixtureOfExpertsRegressor"),
        (SoftmaxGate(alpha=0.1), "skmoe.gating.SoftmaxGate"),
        (LinearExpert(), "skmoe.experts.LinearExpert"),
    ],
)
def test_repr_html_links_to_api_page(est, page):
    url = f"{DOC_URL}gen_modules/{page}.html"
    assert url.startswith("https://skmoe.readthedocs.io/en/latest/")
    assert url in _links(est._repr_html_())


def test_parameter_links_point_to_skmoe_too():
    # The box's parameter table links each parameter into the same page.
    links = _links(MixtureOfExpertsRegressor(gate=SoftmaxGate())._repr_html_())
    page = f"{DOC_URL}gen_modules/skmoe.MixtureOfExpertsRegressor.html"
    assert any(link.startswith(page + "#") for link in links)
    assert not any("scikit-learn.org" in link for link in links)


def _api_pages():
    """The pages ``doc/api.rst``'s autosummary makes: each entry under its currentmodule.

    Read from the source, not from ``doc/gen_modules`` (which only a Sphinx
    build creates, so a fresh clone does not have it).
    """
    pages, module, in_summary = set(), None, False
    for line in (DOC / "api.rst").read_text().splitlines():
        if line.startswith(".. currentmodule::"):
            module = line.split("::")[1].strip()
        elif line.startswith(".. autosummary::"):
            in_summary = True
        elif in_summary and line.startswith("   ") and not line.strip().startswith(":"):
            pages.add(f"{module}.{line.strip()}")
        elif line and not line.startswith(" "):
            in_summary = False
    return pages


def test_api_pages_parser_reads_the_reference():
    pages = _api_pages()
    assert "skmoe.MixtureOfExpertsRegressor" in pages
    assert "skmoe.gating.SoftmaxGate" in pages
    assert not any(":" in p for p in pages)


def _public_estimators():
    for name in ("skmoe", "skmoe.gating", "skmoe.experts", "skmoe.sequence", "skmoe.neural"):
        mod = importlib.import_module(name)
        for attr in mod.__all__:
            obj = getattr(mod, attr)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
            ):
                yield obj


@pytest.mark.parametrize("cls", sorted(set(_public_estimators()), key=lambda c: c.__name__))
def test_every_public_estimator_links_an_api_page_of_the_docs(cls):
    # The page exists in the API reference the Sphinx build generates.
    link = cls()._get_doc_link()
    assert link.startswith(DOC_URL + "gen_modules/")
    page = link[len(DOC_URL + "gen_modules/") :].removesuffix(".html")
    assert page in _api_pages()
    assert page.endswith("." + cls.__name__)
