"""A small column table returned by the model-selection and inference helpers."""

import html

import numpy as np


class ResultTable(dict):
    """Columns of equal length, keyed by name; a plain ``dict`` of arrays.

    Columns are also readable as attributes (``table.std_error``), like
    :class:`sklearn.utils.Bunch`; anything else a function attaches (a
    covariance matrix, the chosen index...) is an ordinary attribute and is
    not a column.  ``pandas.DataFrame(table)`` and :meth:`to_frame` give a
    data frame; ``print(table)`` needs no pandas, and notebooks show an
    HTML table (``_repr_html_``).
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

    @staticmethod
    def _fmt(v):
        if isinstance(v, (bool, np.bool_)):
            return str(bool(v))
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.6g}"
        return str(v)

    def _cells(self):
        return [[self._fmt(v) for v in self[name]] for name in self]

    def __repr__(self):
        names = list(self)
        cells = self._cells()
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

    def _repr_html_(self):
        """The table as HTML, shown by notebooks; cells as in the text form.

        A table with a ``best_index`` attribute (``select_n_experts``) shows
        that row in bold.
        """
        esc = html.escape
        best = getattr(self, "best_index", None)
        names = list(self)
        cells = self._cells()
        left = [np.asarray(self[name]).dtype.kind in "OUS" for name in names]
        out = ['<table class="skmoe-result-table">', "<thead><tr>"]
        out += [f"<th>{esc(str(n))}</th>" for n in names]
        out.append("</tr></thead><tbody>")
        for i in range(self.n_rows):
            row = "".join(
                f'<td style="text-align: {"left" if lft else "right"}">{esc(col[i])}</td>'
                for col, lft in zip(cells, left, strict=True)
            )
            mark = ' class="skmoe-best" style="font-weight: bold"' if i == best else ""
            out.append(f"<tr{mark}>{row}</tr>")
        out.append("</tbody></table>")
        return "".join(out)
