"""The address of skmoe's documentation, and the HTML repr's link to it."""

import itertools

#: The documentation's address once hosted (Read the Docs, latest version).
#: The "?" link of an estimator's HTML box (Jupyter) points to its API page
#: under it: ``DOC_URL + "gen_modules/<module>.<Class>.html"``, as the Sphinx
#: build lays the pages out (``doc/api.rst``'s autosummary).
DOC_URL = "https://skmoe.readthedocs.io/en/latest/"

#: The API page of a class: its public module and name.
API_PAGE = DOC_URL + "gen_modules/{estimator_module}.{estimator_name}.html"


class DocLinkMixin:
    """Points the "?" link of scikit-learn's estimator HTML repr to skmoe's API page.

    scikit-learn's mechanism for third-party estimators
    (``sklearn.utils._repr_html.base``): ``_doc_link_module`` names the
    package, ``_doc_link_template`` the URL, and
    ``_doc_link_url_param_generator`` fills it.  The page's module is the
    class's module up to its first private part (``skmoe.gating._softmax``:
    ``skmoe.gating``), or the class attribute ``_doc_module`` where the API
    reference documents it elsewhere.  Put it before ``BaseEstimator`` in the
    bases.
    """

    _doc_link_module = "skmoe"
    _doc_link_template = API_PAGE

    def _doc_link_url_param_generator(self):
        cls = type(self)
        module = getattr(cls, "_doc_module", None)
        if module is None:
            parts = cls.__module__.split(".")
            module = ".".join(itertools.takewhile(lambda p: not p.startswith("_"), parts))
        return {"estimator_module": module, "estimator_name": cls.__name__}
