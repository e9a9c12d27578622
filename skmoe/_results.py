"""A small column table returned by the model-selection and inference helpers."""

import numpy as np


class ResultTable(dict):
    """Columns of equal length, keyed by name; a plain ``dict`` of arrays.

    Columns are also readable as attributes (``table.std_error``), like
    :class:`sklearn.utils.Bunch`; anything else a function attaches (a
    covariance matrix, the chosen index...) is an ordinary attribute and is
    not a column.  ``pandas.DataFrame(table)`` and :meth:`to_frame` give a
    data frame; ``print(table)`` needs no pandas.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self):
        return list(super().__dir__()) + [k for k in self if isinstance(k, str)]

    @property
    def n_rows(self):
        """Number of rows."""
        return len(next(iter(self.values()))) if self else 0

    def to_frame(self):
        """The table as a :class:`pandas.DataFrame` (needs pandas).

        Returns
        -------
        frame : pandas.DataFrame
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - pandas is a test dependency
            raise ImportError(
                "to_frame needs pandas: pip install pandas (or use the table as a dict of arrays)."
            ) from exc
        return pd.DataFrame({k: np.asarray(v) for k, v in self.items()})

    def __repr__(self):
        def fmt(v):
            if isinstance(v, (bool, np.bool_)):
                return str(bool(v))
            if isinstance(v, (int, np.integer)):
                return str(int(v))
            if isinstance(v, (float, np.floating)):
                return f"{float(v):.6g}"
            return str(v)

        names = list(self)
        cells = [[fmt(v) for v in self[name]] for name in names]
        widths = [
            max([len(str(n))] + [len(c) for c in col]) for n, col in zip(names, cells, strict=False)
        ]
        # Text columns left-aligned, numbers right-aligned.
        left = [np.asarray(self[name]).dtype.kind in "OUS" for name in names]

        def row(items):
            return "  ".join(
                s.ljust(w) if lft else s.rjust(w)
                for s, w, lft in zip(items, widths, left, strict=False)
            ).rstrip()

        lines = [row([str(n) for n in names])]
        lines += [row([col[i] for col in cells]) for i in range(self.n_rows)]
        return "\n".join(lines)

    __str__ = __repr__
