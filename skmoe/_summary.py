"""Results object returned by the estimators' ``summary`` method."""

import html
import textwrap

import numpy as np
from scipy.special import ndtr, ndtri


def _fmt(v, width=None):
    if v is None:
        s = ""
    elif isinstance(v, (bool, np.bool_)):
        s = str(bool(v))
    elif isinstance(v, (int, np.integer)):
        s = str(int(v))
    elif isinstance(v, (float, np.floating)):
        v = float(v)
        if np.isnan(v):
            s = "nan"
        elif v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            s = f"{v:.3e}"
        else:
            s = f"{v:.4f}"
    else:
        s = str(v)
    return s if width is None else s.rjust(width)


class SummaryResults:
    """Estimates, standard errors and a model header, as statsmodels reports them.

    Returned by ``summary(X, y)`` of the estimators that support it; not
    meant to be built by hand.  ``print(results)`` gives a text table,
    notebooks show an HTML table, :meth:`to_frame` gives pandas.  The names
    follow statsmodels: :attr:`params`, :attr:`bse`, :attr:`tvalues` (here
    z statistics), :attr:`pvalues`, :meth:`conf_int`, :meth:`cov_params`,
    :attr:`llf`, :attr:`nobs`, :attr:`aic`, :attr:`bic`.

    Parameters
    ----------
    model : str
        Name of the estimator.
    param_names : list of str
        One name per parameter.
    params : ndarray of shape (n_params,)
        Estimates.
    cov : ndarray of shape (n_params, n_params)
        Their covariance (NaN where a parameter is not identified).
    groups : list of (str, list of int)
        Titled blocks of parameters, the order the tables are printed in.
    header : dict
        Model-level facts printed above the tables; must hold ``nobs`` and
        ``llf`` (and ``n_params``).
    alpha : float, default=0.05
        Level of the confidence intervals shown (``1 - alpha`` coverage).
    no_test : list of str, default=()
        Parameters whose z test against zero means nothing (variances,
        probabilities): their z and p-value are NaN.
    notes : list of str, default=()
        Lines printed under the tables (how the covariance was computed).
    extra : dict, default=None
        Further attributes (e.g. ``expected_durations``).
    criteria : dict, default=None
        Further information criteria printed after AIC and BIC, by name
        (e.g. ``{"ICL": value}``); each is also an attribute, lower-cased
        (``results.icl``).

    Attributes
    ----------
    params, bse, tvalues, pvalues : ndarray of shape (n_params,)
    param_names : list of str
    nobs : int
    llf : float
        Log-likelihood of the data at the estimate.
    aic, bic : float
    criteria : dict
        The further criteria (e.g. ``ICL``), by name.
    alpha : float
    header : dict
    notes : list of str

    See Also
    --------
    skmoe.MixtureOfExpertsRegressor.summary : The summary of a mixture.
    skmoe.MarkovSwitchingRegressor.summary : The summary of a regime model.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    >>> res = moe.summary(X, y)
    >>> res.nobs, len(res.params) == len(res.bse)
    (133, True)
    """

    def __init__(
        self,
        model,
        param_names,
        params,
        cov,
        groups,
        header,
        alpha=0.05,
        no_test=(),
        notes=(),
        extra=None,
        criteria=None,
    ):
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
        self.model = model
        self.param_names = list(param_names)
        self.params = np.asarray(params, dtype=np.float64)
        self._cov = np.asarray(cov, dtype=np.float64)
        self.groups = groups
        self.header = dict(header)
        self.alpha = float(alpha)
        self.notes = list(notes)
        var = np.diag(self._cov)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.bse = np.where(var > 0, np.sqrt(np.where(var > 0, var, 1.0)), np.nan)
            z = self.params / self.bse
        z[[n in set(no_test) for n in self.param_names]] = np.nan
        self.tvalues = z
        self.pvalues = 2.0 * ndtr(-np.abs(z))
        self.nobs = int(self.header["nobs"])
        self.llf = float(self.header["llf"])
        k = int(self.header["n_params"])
        self.aic = -2.0 * self.llf + 2.0 * k
        self.bic = -2.0 * self.llf + np.log(self.nobs) * k
        self.criteria = {str(k): float(v) for k, v in (criteria or {}).items()}
        for key, value in self.criteria.items():
            setattr(self, key.lower(), value)
        for key, value in (extra or {}).items():
            setattr(self, key, value)

    def cov_params(self):
        """Covariance matrix of the estimates.

        Returns
        -------
        cov : ndarray of shape (n_params, n_params)
            Covariance of ``params``, in the order of ``param_names`` (NaN
            rows and columns for parameters that are not identified).
        """
        return self._cov.copy()

    def conf_int(self, alpha=None):
        """Normal (Wald) confidence intervals ``params -/+ z_{1-alpha/2} bse``.

        Parameters
        ----------
        alpha : float, default=None
            ``1 - alpha`` coverage; None uses the level of the summary.

        Returns
        -------
        intervals : ndarray of shape (n_params, 2)
            Lower and upper bounds.
        """
        alpha = self.alpha if alpha is None else float(alpha)
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
        q = ndtri(1.0 - alpha / 2.0)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])

    def _columns(self):
        lo = f"[{self.alpha / 2:g}"
        hi = f"{1 - self.alpha / 2:g}]"
        return ["coef", "std err", "z", "P>|z|", lo, hi]

    def _rows(self, idx):
        ci = self.conf_int()
        return [
            [self.params[i], self.bse[i], self.tvalues[i], self.pvalues[i], ci[i, 0], ci[i, 1]]
            for i in idx
        ]

    def _header_items(self):
        h = self.header
        items = [("Model:", self.model)]
        items += [(f"{k}:", v) for k, v in h.items() if k not in ("nobs", "llf", "n_params")]
        items += [
            ("No. Observations:", self.nobs),
            ("Log Likelihood:", self.llf),
            ("AIC:", self.aic),
            ("BIC:", self.bic),
        ]
        items += [(f"{k}:", v) for k, v in self.criteria.items()]
        return items

    def to_frame(self):
        """The estimates as a :class:`pandas.DataFrame`, one row per parameter.

        Columns ``group``, ``coef``, ``std err``, ``z``, ``P>|z|`` and the
        interval bounds, indexed by parameter name.

        Returns
        -------
        frame : pandas.DataFrame
            One row per parameter, indexed by ``param_names``.
        """
        import pandas as pd

        cols = self._columns()
        group = [""] * len(self.params)
        for title, idx in self.groups:
            for i in idx:
                group[i] = title
        ci = self.conf_int()
        data = {
            "group": group,
            cols[0]: self.params,
            cols[1]: self.bse,
            cols[2]: self.tvalues,
            cols[3]: self.pvalues,
            cols[4]: ci[:, 0],
            cols[5]: ci[:, 1],
        }
        return pd.DataFrame(data, index=pd.Index(self.param_names, name="parameter"))

    def __str__(self):
        cols = self._columns()
        wname = max([len(n) for n in self.param_names] + [12])
        wcol = 10
        width = wname + len(cols) * (wcol + 1)
        header = self._header_items()
        wk = max(len(k) for k, _ in header)
        lines = [f"{self.model} Results".center(width), "=" * width]
        for k, v in header:
            value = _fmt(v)
            lines.append(k.ljust(wk) + value.rjust(width - wk))
        for title, idx in self.groups:
            lines.append("=" * width)
            lines.append(title.center(width))
            lines.append("-" * width)
            lines.append(" " * wname + "".join(" " + c.rjust(wcol) for c in cols))
            lines.append("-" * width)
            for i, row in zip(idx, self._rows(idx), strict=True):
                name = self.param_names[i].ljust(wname)
                lines.append(name + "".join(" " + _fmt(v, wcol) for v in row))
        lines.append("=" * width)
        for note in self.notes:
            lines.extend(textwrap.wrap(note, width))
        return "\n".join(lines)

    def __repr__(self):
        return self.__str__()

    def _repr_html_(self):
        esc = html.escape
        out = ['<div class="skmoe-summary">', "<table>"]
        out.append(f"<caption>{esc(self.model)} Results</caption>")
        for k, v in self._header_items():
            out.append(f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v))}</td></tr>")
        out.append("</table>")
        cols = self._columns()
        for title, idx in self.groups:
            out.append("<table>")
            out.append(f"<caption>{esc(title)}</caption>")
            out.append("<thead><tr><th></th>" + "".join(f"<th>{esc(c)}</th>" for c in cols))
            out.append("</tr></thead><tbody>")
            for i, row in zip(idx, self._rows(idx), strict=True):
                cells = "".join(f"<td>{esc(_fmt(v))}</td>" for v in row)
                out.append(f"<tr><th>{esc(self.param_names[i])}</th>{cells}</tr>")
            out.append("</tbody></table>")
        for note in self.notes:
            out.append(f"<p>{esc(note)}</p>")
        out.append("</div>")
        return "\n".join(out)
