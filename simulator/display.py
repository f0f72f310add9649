"""Rich displays for Jupyter: compact HTML tables for `Network` and `Result`.

Both classes keep a plain ``repr``; their ``_repr_html_`` calls `html_table`
with rows computed here, so a notebook shows sizes, edge kinds, activations,
the time mode and a few statistics at a glance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from .layout import KIND_NAMES, KINDS

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from .network import Network
    from .results import Result

__all__ = ["count", "html_table", "network_rows", "result_rows"]

_STYLE = (
    "border-collapse:collapse;font-family:monospace;font-size:12px;"
    "text-align:left;margin:2px 0"
)


def count(n: int, noun: str) -> str:
    """``"1 output"``, ``"2 outputs"``: a number and its noun, singular for one.

    Examples
    --------
    >>> count(1, "neuron"), count(0, "edge"), count(3, "step")
    ('1 neuron', '0 edges', '3 steps')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def html_table(title: str, rows: Iterable[tuple[str, str]]) -> str:
    """An HTML table with a caption and one ``name | value`` row per item.

    Every piece of text is escaped (node names may contain ``<``).

    Examples
    --------
    >>> print(html_table("T", [("a", "<1>")]))  # doctest: +NORMALIZE_WHITESPACE
    <table style="..."><caption ...><b>T</b></caption>
    <tr><th ...>a</th><td ...>&lt;1&gt;</td></tr></table>
    """
    cell = "padding:1px 8px;border-bottom:1px solid #ddd"
    body = "\n".join(
        f'<tr><th style="{cell};font-weight:normal;color:#555">{escape(str(k))}</th>'
        f'<td style="{cell}">{escape(str(v))}</td></tr>'
        for k, v in rows
    )
    return (
        f'<table style="{_STYLE}"><caption style="text-align:left"><b>{escape(title)}</b></caption>\n'
        f"{body}</table>"
    )


def _names(names: Sequence, limit: int = 6) -> str:
    """The first `limit` names, then how many more."""
    shown = ", ".join(repr(n) if not isinstance(n, str) else n for n in names[:limit])
    more = len(names) - limit
    return shown + (f", ... ({more} more)" if more > 0 else "") if names else "none"


def _stats(a: np.ndarray) -> str:
    """min / mean / max of an array (or "none" when empty)."""
    if a.size == 0:
        return "none"
    a = np.asarray(a, dtype=np.float64)
    return f"min {a.min():.4g}, mean {a.mean():.4g}, max {a.max():.4g}"


def network_rows(net: Network) -> list[tuple[str, str]]:
    """The rows of a network's HTML table."""
    counts = np.bincount(net.edge_kind, minlength=len(KINDS))
    kinds = "; ".join(f"{k} ({name}) {c}" for k, name, c in zip(KINDS, KIND_NAMES, counts) if c)
    acts = Counter(net.activations[: net.n_neurons])
    out_acts = Counter(net.activations[net.n_neurons:])
    in_degree = np.bincount(net.edge_dst[net.edge_kind == 0], minlength=net.n_neurons)
    rows = [
        ("inputs", f"{net.n_inputs}: {_names(net.inputs)}"),
        ("neurons", f"{net.n_neurons}: {_names(net.neurons)}"),
        ("outputs", f"{net.n_outputs}: {_names(net.outputs)}"),
        ("edges", f"{net.n_edges}: {kinds or 'none'}"),
        ("recurrent in-degree", _stats(in_degree) if net.n_neurons else "none"),
        ("activations", ", ".join(f"{a} {c}" for a, c in acts.items()) or "none"),
        ("output activations", ", ".join(f"{a} {c}" for a, c in out_acts.items()) or "none"),
        ("weight", _stats(net.weight)),
        ("bias", _stats(net.bias)),
        ("tau (continuous time)", _stats(net.tau)),
        ("dtype", net.dtype.name),
    ]
    return rows


def _mode(info: dict) -> str:
    mode = info.get("mode", "")
    if mode == "discrete":
        return f"discrete, {info.get('update', 'sync')} update"
    if mode == "continuous":
        return f"continuous, fixed step: {info.get('method')} dt={info.get('dt')}"
    if mode == "ode":
        held = f", inputs held for dt={info['dt']}" if info.get("dt") is not None else ""
        return f"continuous, ODE solver {info.get('method')}{held}"
    return str(mode)


def result_rows(res: Result) -> list[tuple[str, str]]:
    """The rows of a result's HTML table."""
    net = res.network
    info = res.info
    rows = [
        ("time mode", _mode(info)),
        ("steps", f"{res.n_steps}, t = {float(res.times[0]):.4g} .. {float(res.times[-1]):.4g}"),
        ("batch", str(res.states.shape[1]) if res.batched else "unbatched"),
        ("network", f"{count(net.n_inputs, 'input')}, {count(net.n_neurons, 'neuron')}, "
                    f"{count(net.n_outputs, 'output')}, {count(net.n_edges, 'edge')}"),
        ("states", f"{res.states.shape}: {_stats(res.states)}"),
        ("outputs", f"{res.outputs.shape}: {_stats(res.outputs)}"),
        ("final |h| (mean over neurons)", f"{float(np.mean(np.abs(res.states[-1]))):.4g}"
         if res.states.size else "none"),
    ]
    if info.get("mode") == "ode":
        counts = ", ".join(f"{k} {info[k]}" for k in ("nfev", "njev", "nlu") if k in info)
        rows.append(("solver", f"{counts}; jacobian {info.get('jacobian')}; {info.get('message', '')}"))
    rows.append(("dtype", res.states.dtype.name))
    return rows
