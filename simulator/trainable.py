"""Which parameters train: the masks of `train`'s and `bptt`'s `trainable`
argument, shared by training, gradient clipping and the adjoint."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .network import Network

__all__ = ["trainable_masks", "trained_masks"]


def trainable_masks(net: Network, trainable: Iterable[str] | Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """Boolean masks of the parameters that train.

    Parameters
    ----------
    trainable : None, iterable of {"weight", "bias", "tau", "weight_r", ...}, or mapping
        None: weights and biases, every gate weight and bias the network
        has (tau has no effect in discrete time). Gate parameters
        (``weight_z``, ``bias_f``, ...) are kinds of their own. An
        iterable names the kinds that train. A mapping gives per kind
        ``True``/``False``, a list of edges ``(u, v)`` (weight) or node
        names (bias, tau) that train, or a boolean mask aligned with the
        parameter (``net.weight``, ``net.bias``, ``net.tau``); kinds left
        out are frozen.

    Raises
    ------
    ValueError
        An unknown kind, edge or node (named), or a mask of the wrong shape.

    Examples
    --------
    >>> import networkx as nx, simulator as sim
    >>> net = sim.compile(nx.DiGraph([("a", "b"), ("b", "a")]))
    >>> masks = trainable_masks(net, {"weight": [("a", "b")], "bias": [True, False]})
    >>> masks["weight"], masks["bias"], masks["tau"]
    (array([ True, False]), array([ True, False]), array([False, False]))
    """
    gate_kinds = tuple(net.gate_parameters())
    if trainable is None:
        trainable = {"weight": True, "bias": True, **{kind: True for kind in gate_kinds}}
    elif not isinstance(trainable, Mapping):
        if isinstance(trainable, str):
            raise TypeError(f"`trainable` must be a list of kinds or a mapping, got {trainable!r}")
        trainable = {kind: True for kind in trainable}
    sizes = {"weight": net.n_edges, "bias": net.n_neurons + net.n_outputs, "tau": net.n_neurons}
    sizes.update((kind, sizes["weight" if kind.startswith("weight") else "bias"]) for kind in gate_kinds)
    masks = {kind: np.zeros(size, dtype=bool) for kind, size in sizes.items()}
    for kind, spec in trainable.items():
        if kind not in sizes:
            raise ValueError(f"`trainable` has unknown kind {kind!r}: this network's kinds are {tuple(sizes)}")
        if spec is True or spec is False:
            masks[kind][:] = spec
            continue
        spec = list(spec)
        if spec and all(isinstance(item, (bool, np.bool_)) for item in spec):
            if len(spec) != sizes[kind]:
                raise ValueError(f"`trainable[{kind!r}]` as a mask must have one entry per parameter, "
                                 f"{sizes[kind]}; got {len(spec)}")
            masks[kind][:] = spec
            continue
        for item in spec:
            if kind.startswith("weight"):
                if not (isinstance(item, tuple) and len(item) == 2):
                    raise ValueError(f"`trainable[{kind!r}]` lists edges as (source, target) pairs, or is a boolean "
                                     f"mask aligned with net.edges; got {item!r}")
                masks[kind][net.edges.index(item)] = True
                continue
            group, i = net.locate(item)
            if group == "inputs" or (kind == "tau" and group == "outputs"):
                raise ValueError(f"node {item!r} is an {group[:-1]} and has no {kind}")
            masks[kind][i if group == "neurons" else net.n_neurons + i] = True
    return masks


def trained_masks(net: Network, trainable: Iterable[str] | Mapping[str, Any] | None,
                  continuous: bool) -> dict[str, np.ndarray]:
    """`trainable_masks` with the default of `train` and `bptt`: weights and
    biases, and time constants too in continuous time."""
    if trainable is None and continuous:
        trainable = ("weight", "bias", "tau", *net.gate_parameters())
    return trainable_masks(net, trainable)
