"""numpydoc validation of the docstrings of skmoe's public API.

After scikit-learn's ``sklearn/tests/test_docstrings.py``: every public class
(its docstring and those of its public methods and properties) and every
public function of skmoe's public modules is validated with
``numpydoc.validate``, ignoring the error codes scikit-learn ignores.  Methods
inherited from scikit-learn (``get_params``, ``set_fit_request``, ...) are
scikit-learn's docstrings and are not checked here.  There is no ignore list:
every public docstring conforms, and new public API is validated from the start.
"""

import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

numpydoc_validation = pytest.importorskip("numpydoc.validate")

# The public modules, as documented in doc/api.rst.
PUBLIC_MODULES = [
    "skmoe",
    "skmoe.gating",
    "skmoe.experts",
    "skmoe.sequence",
    "skmoe.neural",
    "skmoe.datasets",
    "skmoe.model_selection",
    "skmoe.inspection",
    "skmoe.utils",
]

# Documented modules whose docstrings are not validated, and why.
NOT_VALIDATED = {
    # As scikit-learn, which validates estimators, displays and functions but
    # not its exception classes: a warning or error class has no parameters,
    # returns or meaningful examples.
    "skmoe.exceptions": "exception and warning classes",
}

# Names that need torch to be loaded (skmoe.neural's lazy attribute).
_NEEDS_TORCH = {"SparseMoELayer"}


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:  # a module without __all__: everything defined there
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__
        ]
    return [name for name in names if not name.startswith("_")]


def _public_objects():
    seen = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in _public_names(module):
            if name in _NEEDS_TORCH and importlib.util.find_spec("torch") is None:
                continue
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or obj in seen:
                continue
            seen.add(obj)
            yield obj


def _defined_in_skmoe(Klass, name):
    """Whether ``Klass.name`` is written in skmoe (not inherited from scikit-learn, torch...)."""
    for klass in Klass.__mro__:
        if name in vars(klass):
            return klass.__module__.startswith("skmoe")
    return False


def get_all_methods():
    for Klass in _public_objects():
        if not inspect.isclass(Klass):
            continue
        methods = []
        for name in dir(Klass):
            if name.startswith("_") or not _defined_in_skmoe(Klass, name):
                continue
            method_obj = getattr(Klass, name)
            if callable(method_obj) or isinstance(method_obj, property):
                methods.append(name)
        methods.append(None)
        for method in sorted(methods, key=str):
            yield Klass, method


def get_all_functions_names():
    for func in _public_objects():
        if inspect.isfunction(func):
            yield f"{func.__module__}.{func.__name__}"


def filter_errors(errors, method, Klass=None):
    """Ignore the error codes scikit-learn ignores, for the reasons it gives.

    - RT02: the first line of the Returns section may name the returned object.
    - GL01 / GL02: summary on the line of the opening quotes; short property
      docstrings.
    - PR02 / GL08 on properties: their signature cannot be parsed.
    - EX01 / SA01 / ES01 (no Examples, See Also, extended summary) are only
      required of the class docstrings, not of every method.
    """
    for code, message in errors:
        if code in ["RT02", "GL01", "GL02"]:
            continue
        if code in ("PR02", "GL08") and Klass is not None and method is not None:
            if isinstance(getattr(Klass, method), property):
                continue
        if method is not None and code in ["EX01", "SA01", "ES01"]:
            continue
        yield code, message


def repr_errors(res, Klass=None, method=None):
    """The docstring and its errors, for the failure message."""
    if Klass is not None:
        method = method or "__init__"
        obj = getattr(Klass, method)
        try:
            obj_signature = str(inspect.signature(obj))
        except (TypeError, ValueError):
            obj_signature = "\nParsing of the method signature failed, possibly a property."
        obj_name = f"{Klass.__name__}.{method}"
    else:
        obj_signature = ""
        obj_name = method
    errors = "\n".join(f" - {code}: {message}" for code, message in res["errors"])
    return "\n\n" + "\n\n".join(
        [str(res["file"]), obj_name + obj_signature, res["docstring"], "# Errors", errors]
    )


def _method_id(param):
    return param.__name__ if inspect.isclass(param) else str(param)


@pytest.mark.parametrize("function_name", get_all_functions_names())
def test_function_docstring(function_name):
    res = numpydoc_validation.validate(function_name)
    res["errors"] = list(filter_errors(res["errors"], method="function"))
    if res["errors"]:
        raise ValueError(repr_errors(res, method=f"Tested function: {function_name}"))


@pytest.mark.parametrize("Klass, method", get_all_methods(), ids=_method_id)
def test_docstring(Klass, method):
    import_path = ".".join([Klass.__module__, Klass.__name__] + ([method] if method else []))
    res = numpydoc_validation.validate(import_path)
    res["errors"] = list(filter_errors(res["errors"], method, Klass=Klass))
    if res["errors"]:
        raise ValueError(repr_errors(res, Klass, method))


def test_every_public_module_is_validated():
    # A public module added to the API reference must be validated here too.
    api = Path(__file__).parents[1] / "doc" / "api.rst"
    if not api.exists():
        pytest.skip("doc/api.rst is not next to the tests")
    documented = {
        line.split("::")[1].strip()
        for line in api.read_text().splitlines()
        if line.startswith((".. currentmodule::", ".. automodule::"))
    }
    missing = documented - set(PUBLIC_MODULES) - set(NOT_VALIDATED)
    assert not missing, missing
