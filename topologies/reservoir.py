"""Echo state network (reservoir computing) topologies."""

from __future__ import annotations

import networkx as nx
import numpy as np

from ._util import (
    add_weighted_edges,
    as_rng,
    bernoulli_pairs,
    check_int,
    check_real,
    fan_in_weights,
    io_names,
    new_graph,
)
from .generators import _check_bool, _fixed_indegree_pairs
from .weights import _spectral_radius_arrays, _wire_io

__all__ = ["echo_state"]


def echo_state(
    n: int,
    n_inputs: int = 1,
    n_outputs: int = 1,
    spectral_radius: float = 0.9,
    in_degree: int | None = None,
    input_scaling: float = 1.0,
    leak: float | None = None,
    seed: int | np.random.Generator | None = None,
    *,
    density: float | None = None,
    self_loops: bool = False,
    input_density: float = 1.0,
) -> nx.DiGraph:
    """Sparse random reservoir scaled to a given spectral radius.

    Parameters
    ----------
    n : int
        Reservoir size, ``>= 2``; hidden neurons are the ints ``0 .. n-1``.
    n_inputs, n_outputs : int, default 1
        Inputs ``"in{k}"`` and outputs ``"out{k}"``.
    spectral_radius : float, default 0.9
        Spectral radius of the recurrent weight matrix, finite and ``> 0``.
    in_degree : int, optional
        Recurrent in-degree of every neuron, ``1 <= in_degree <= n - 1``
        (``<= n`` with ``self_loops``). Default ``min(10, n - 1)``
        (``min(10, n)`` with ``self_loops``): 10, or every candidate in a
        reservoir too small for 10. Ignored when ``density`` is given.
    input_scaling : float, default 1.0
        Input weight scale, ``>= 0``: a neuron fed by ``m`` inputs gets input
        weights ``N(0, input_scaling**2 / m)`` (with one input: standard
        deviation ``input_scaling``).
    leak : float, optional
        Leak rate in ``(0, 1]``; if given every hidden neuron gets
        ``tau = 1 / leak`` (see Notes). If ``None`` no ``tau`` is stored
        (the simulator's default 1 applies).
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    density : float, optional
        Keyword only. If given, wire the reservoir as Erdos-Renyi G(n, density)
        instead of with a fixed in-degree.
    self_loops : bool, default False
        Keyword only. Allow ``i -> i`` recurrent edges.
    input_density : float, default 1.0
        Keyword only. Probability that a given input feeds a given neuron.

    Returns
    -------
    networkx.DiGraph
        Nodes ``"in0" ..``, ``0 .. n-1``, ``"out0" ..``. Hidden activation is
        the simulator's default tanh (not stored); every neuron feeds every
        output with weight ``N(0, 1 / n)`` -- placeholders meant to be fitted,
        e.g. by ridge regression.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If a size or rate is out of range, or the sampled reservoir has
        spectral radius 0 (no recurrent cycle) and so cannot be scaled.

    Notes
    -----
    Recurrent weights are first drawn as ``N(0, 1 / k_i)`` (``k_i`` the
    in-degree of neuron ``i``) and then multiplied by
    ``spectral_radius / rho(W)``, with ``rho(W)`` computed like
    :func:`topologies.spectral_radius` -- dense eigenvalues up to 500 neurons,
    ARPACK (``scipy.sparse.linalg.eigs``) on a sparse matrix beyond, never a
    dense ``n x n`` matrix for ``n > 500``.

    With ``leak = a`` the continuous-time model of the simulator,
    ``tau dh/dt = -h + tanh(W h + U x)`` with ``tau = 1 / a``, integrated by
    Euler with ``dt = 1`` is the classic leaky-integrator ESN update
    ``h[t+1] = (1 - a) h[t] + a tanh(W h[t] + U x[t])``. In discrete mode
    ``tau`` is ignored and the network is the non-leaky ESN.

    Examples
    --------
    >>> from topologies import echo_state, spectral_radius
    >>> G = echo_state(200, n_inputs=2, n_outputs=1, spectral_radius=0.8, seed=0)
    >>> round(spectral_radius(G), 10)
    0.8
    >>> G.in_degree(0), G.in_degree("out0"), list(G)[:3]
    (12, 200, ['in0', 'in1', 0])
    >>> echo_state(50, in_degree=5, leak=0.25, seed=0).nodes[3]["tau"]
    4.0
    >>> echo_state(4, seed=0).in_degree(0)  # small: in_degree = n - 1 = 3, plus one input
    4
    """
    n = check_int("n", n, minimum=2)
    n_inputs = check_int("n_inputs", n_inputs, minimum=0)
    n_outputs = check_int("n_outputs", n_outputs, minimum=0)
    rho = check_real("spectral_radius", spectral_radius, low=0.0, low_open=True)
    self_loops = _check_bool("self_loops", self_loops)
    n_cand = n if self_loops else n - 1
    if in_degree is None:
        in_degree = min(10, n_cand)
    in_degree = check_int("in_degree", in_degree, minimum=1)
    input_scaling = check_real("input_scaling", input_scaling, low=0.0)
    if leak is not None:
        leak = check_real("leak", leak, low=0.0, high=1.0, low_open=True)
    input_density = check_real("input_density", input_density, low=0.0, high=1.0)
    if density is not None:
        density = check_real("density", density, low=0.0, high=1.0, low_open=True)
    elif in_degree > n_cand:
        rule = "n" if self_loops else "n - 1"
        raise ValueError(
            f"`in_degree` must be <= {rule} = {n_cand} when "
            f"self_loops={self_loops}, got {in_degree}; choose a smaller "
            "in_degree or a larger n"
        )
    rng = as_rng(seed)
    if density is None:
        src, dst = _fixed_indegree_pairs(rng, n, in_degree, self_loops)
    else:
        src, dst = bernoulli_pairs(rng, n, n, density, exclude_diagonal=not self_loops)
    weights = fan_in_weights(rng, dst, n, 1.0)
    rho0 = _spectral_radius_arrays(src, dst, weights, n)
    if rho0 == 0.0:
        raise ValueError(
            "the sampled reservoir has spectral radius 0 (no recurrent cycle), "
            "so it cannot be scaled to `spectral_radius`; increase `density` "
            "or `in_degree`"
        )
    weights *= rho / rho0
    hidden = list(range(n))
    inputs, outputs = io_names(n_inputs, n_outputs)
    attrs = None if leak is None else ({"tau": 1.0 / leak} for _ in range(n))
    G = new_graph(inputs, hidden, outputs, hidden_attrs=attrs)
    add_weighted_edges(G, hidden, hidden, src, dst, weights)
    _wire_io(G, rng, inputs, hidden, outputs, hidden, input_density, input_scaling)
    return G
