"""Hypothesis strategies: random small graphs with every edge kind."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import strategies as st

#: Activations with a well-defined value everywhere (``sign`` is tested on its own).
SMOOTH = ["tanh", "sigmoid", "hard_sigmoid", "relu", "elu", "softplus", "identity"]


@st.composite
def graphs(draw, max_hidden=6, max_io=3, activations=SMOOTH, min_io=0):
    """A DiGraph with inputs, hidden neurons and outputs, edges of every
    kind drawn at random (and at least one of each kind the roles allow),
    random weights, biases, taus and activations, and the nodes inserted in
    a shuffled order (roles interleave in graph order). ``min_io=1`` leaves
    out the graphs without inputs or outputs."""
    n_in = draw(st.integers(min_io, max_io))
    n_hid = draw(st.integers(1, max_hidden))
    n_out = draw(st.integers(min_io, max_io))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.floats(0.1, 1.0))
    rng = np.random.default_rng(seed)
    names = [f"i{k}" for k in range(n_in)] + [f"h{k}" for k in range(n_hid)] + [f"o{k}" for k in range(n_out)]
    G = nx.DiGraph()
    for name in rng.permutation(names).tolist():
        if name[0] == "i":
            G.add_node(name, role="input")
        elif name[0] == "o":
            G.add_node(name, role="output", bias=float(rng.normal(0, 0.3)),
                       activation=str(rng.choice(activations)))
        else:
            G.add_node(name, bias=float(rng.normal(0, 0.3)), activation=str(rng.choice(activations)),
                       tau=float(rng.uniform(0.5, 2.0)))
    hidden = [n for n in names if n[0] == "h"]
    pairs = [(u, v) for u in names for v in hidden] + [(u, v) for u in names if u[0] != "o" for v in names if v[0] == "o"]
    for u, v in pairs:
        if rng.random() < density:
            G.add_edge(u, v, weight=float(rng.normal(0, 1.0)))
    for kind in ("ih", "hh", "oh", "ho", "io"):  # U, W, F, V, D: one edge each where the roles exist
        sources = [n for n in names if n[0] == kind[0]]
        targets = [n for n in names if n[0] == kind[1]]
        if sources and targets and not any(u[0] == kind[0] and v[0] == kind[1] for u, v in G.edges):
            G.add_edge(str(rng.choice(sources)), str(rng.choice(targets)), weight=float(rng.normal(0, 1.0)))
    return G
