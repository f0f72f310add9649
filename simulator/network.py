"""The compiled network: names, index arrays and parameters, immutable.

`Network` is what every front door takes. It is built by `simulator.compile`
from a NetworkX graph, and holds

* the names: ``neurons`` (state order), ``inputs`` and ``outputs`` (column
  order) and ``edges`` (``(source, target)`` pairs, in the graph's edge order);
* the parameters: ``weight`` (one per edge, aligned with ``edges``), ``bias``
  (one per neuron then one per output), ``tau`` (one per neuron);
* the index structure (`simulator.layout.Layout`), built once and shared by
  every network that differs only in its parameters;
* the graph's other attributes, so that `Network.to_networkx` gives back the
  graph that was compiled, with the current parameters written onto it.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._kernels.activations import SIGMOID
from ._kernels.types import Gates, Table, Transposed, Wiring
from .activations import ACTIVATIONS, NAMES
from .units import GATE_ACTIVATIONS, GATE_BIASES, GATE_PARAMETERS, GATE_WEIGHTS, UNITS
from .display import count, html_table, network_rows
from .delays import Schedule, check_delays, default_delays, same_step_levels
from .layout import KIND_NAMES, KIND_ROLES, KINDS, Layout, build_layout

__all__ = ["Network", "GraphAttributes", "EdgeList", "detached"]

DTYPES: dict[str, type] = {"float64": np.float64, "float32": np.float32}


def as_dtype(dtype: Any) -> np.dtype:
    """Return the NumPy dtype for `dtype` ("float64" or "float32").

    Raises
    ------
    ValueError
        For any other dtype; the message lists the valid ones.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"`dtype` must be 'float64' or 'float32', got {dtype!r}")
    return dt


@dataclass(frozen=True, eq=False)
class GraphAttributes:
    """What a graph carried beyond the model's own attributes.

    Attributes
    ----------
    graph : dict
        ``G.graph``.
    nodes : dict
        Node name -> attributes the model does not own (labels, ``pos``, ...).
    edges : dict
        Edge position (in ``Network.edges``) -> attributes other than ``weight``.
    node_order : tuple
        The graph's node order.
    """

    graph: dict = field(default_factory=dict)
    nodes: dict = field(default_factory=dict)
    edges: dict = field(default_factory=dict)
    node_order: tuple = ()


#: Attribute values that cannot change in place (shared without a copy).
_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, range, np.generic)


def detached(attrs: dict) -> dict:
    """A copy of the attribute dictionary `attrs` that shares no value that
    could change in place (lists, dicts, arrays are deep-copied; numbers,
    strings and tuples of them are shared), so that a network and the
    graphs it is compiled from or exported to never change one another.
    A value that cannot be copied is shared.

    Examples
    --------
    >>> tags = ["a"]; d = detached({"tags": tags, "pos": (0.0, 1.0)})
    >>> tags.append("b"); d
    {'tags': ['a'], 'pos': (0.0, 1.0)}
    """
    out = {}
    for key, value in attrs.items():
        if not (isinstance(value, _IMMUTABLE)
                or (type(value) in (tuple, frozenset) and all(isinstance(v, _IMMUTABLE) for v in value))):
            try:
                value = copy.deepcopy(value)
            except Exception:  # noqa: BLE001 - an object that refuses copying is kept as it is
                pass
        out[key] = value
    return out


class EdgeList(Sequence):
    """A read-only sequence of ``(source, target)`` names, aligned with
    ``Network.weight``; built on demand from the index arrays.

    ``edges.index((u, v))`` is a dictionary look-up after the first call.
    """

    def __init__(self, net: Network):
        self._net = net
        self._lookup: dict | None = None

    def __len__(self) -> int:
        return len(self._net.weight)

    def _pair(self, e: int) -> tuple:
        net = self._net
        src_role, dst_role = KIND_ROLES[net.edge_kind[e]]
        groups = (net.inputs, net.neurons, net.outputs)
        return (groups[src_role][net.edge_src[e]], groups[dst_role][net.edge_dst[e]])

    def __getitem__(self, e):
        if isinstance(e, slice):
            return [self._pair(i) for i in range(*e.indices(len(self)))]
        n = len(self)
        if not -n <= e < n:
            raise IndexError(f"edge position {e} out of range for {n} edges")
        return self._pair(e % n)

    def __iter__(self) -> Iterator[tuple]:
        return (self._pair(e) for e in range(len(self)))

    def index(self, edge, start=0, stop=None) -> int:  # noqa: D102 - Sequence.index
        if self._lookup is None:
            self._lookup = {pair: e for e, pair in enumerate(self)}
        try:
            e = self._lookup[tuple(edge)]
        except (KeyError, TypeError):
            raise ValueError(f"edge {edge!r} is not in the network") from None
        if e < start or (stop is not None and e >= stop):
            raise ValueError(f"edge {edge!r} is not in the network between {start} and {stop}")
        return e

    def __contains__(self, edge) -> bool:
        try:
            self.index(edge)
        except ValueError:
            return False
        return True

    def __eq__(self, other) -> bool:
        if isinstance(other, (EdgeList, list, tuple)):
            return len(self) == len(other) and all(a == tuple(b) for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        n = len(self)
        head = ", ".join(repr(p) for p in self[: min(n, 4)])
        return f"EdgeList([{head}{', ...' if n > 4 else ''}], {n} edges)"


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class Network:
    """A compiled recurrent network (immutable; arrays are read-only).

    Build one with `simulator.compile`; change parameters with
    `Network.with_params`, which shares the index structure.

    Attributes
    ----------
    neurons : tuple
        Hidden-neuron names, in state order.
    inputs, outputs : tuple
        Input and output node names, in column order.
    edge_kind : ndarray of int8, shape (n_edges,)
        Kind code of each edge: 0 hidden->hidden (W), 1 input->hidden (U),
        2 output->hidden (F), 3 hidden->output (V), 4 input->output (D).
    edge_src, edge_dst : ndarray of int32, shape (n_edges,)
        Position of each edge's source and target within their role group
        (``inputs``, ``neurons`` or ``outputs``).
    weight : ndarray, shape (n_edges,)
        Edge weights, aligned with `edges`.
    bias : ndarray, shape (n_neurons + n_outputs,)
        Biases of the neurons, then of the outputs.
    tau : ndarray, shape (n_neurons,)
        Time constants of the neurons (continuous time), > 0.
    activation_codes : ndarray of int8, shape (n_neurons + n_outputs,)
        Activation of each neuron then output, as codes of
        `simulator.activations.ACTIVATIONS`.
    attributes : GraphAttributes
        The graph's other attributes, for `to_networkx`.
    unit_codes : ndarray of int8, shape (n_neurons,), optional
        Each neuron's unit as a code of `simulator.units.UNITS` (default:
        every neuron plain); `units` gives the names.
    gate_codes : ndarray of int8, shape (n_neurons,), optional
        Each neuron's gate activation (``sigmoid``, the default, or
        ``hard_sigmoid``) as an activation code; read for gated neurons only.
    weight_r, weight_z : ndarray, shape (n_edges,), or None
        GRU gate weights aligned with `edges`, 0 on edges into neurons that
        are not GRUs; None when no neuron is a GRU.
    weight_i, weight_f, weight_o : ndarray, shape (n_edges,), or None
        LSTM gate weights, likewise.
    bias_r, bias_z, bias_hn : ndarray, shape (n_neurons + n_outputs,), or None
        GRU gate biases aligned with `bias` (0 elsewhere); None without GRUs.
    bias_i, bias_f, bias_o : ndarray, shape (n_neurons + n_outputs,), or None
        LSTM gate biases, likewise.
    delay : ndarray of int64, shape (n_edges,), optional
        The steps a signal takes along each edge (design section 9), aligned
        with `edges`; default: each kind's default (`simulator.delays`:
        1 for W and F edges, 0 for U, V and D), section 3's timing.
    layout : Layout
        The index structure. Built (and the edges validated) when not given;
        only a network with the same edges may pass its own
        (`with_params`, `astype`).

    Examples
    --------
    >>> import networkx as nx
    >>> import simulator as sim
    >>> G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")])
    >>> G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    >>> net = sim.compile(G)
    >>> net.neurons, net.inputs, net.outputs
    (('h',), ('x',), ('y',))
    >>> list(net.edges), net.weight.tolist()
    ([('x', 'h'), ('h', 'h'), ('h', 'y')], [1.0, 1.0, 1.0])
    """

    neurons: tuple
    inputs: tuple
    outputs: tuple
    edge_kind: NDArray[np.int8]
    edge_src: NDArray[np.int32]
    edge_dst: NDArray[np.int32]
    weight: NDArray[np.floating]
    bias: NDArray[np.floating]
    tau: NDArray[np.floating]
    activation_codes: NDArray[np.int8]
    attributes: GraphAttributes = field(default_factory=GraphAttributes, repr=False)
    layout: Layout | None = field(default=None, repr=False)
    unit_codes: NDArray[np.int8] | None = field(default=None, repr=False)
    gate_codes: NDArray[np.int8] | None = field(default=None, repr=False)
    weight_r: NDArray[np.floating] | None = field(default=None, repr=False)
    weight_z: NDArray[np.floating] | None = field(default=None, repr=False)
    weight_i: NDArray[np.floating] | None = field(default=None, repr=False)
    weight_f: NDArray[np.floating] | None = field(default=None, repr=False)
    weight_o: NDArray[np.floating] | None = field(default=None, repr=False)
    bias_r: NDArray[np.floating] | None = field(default=None, repr=False)
    bias_z: NDArray[np.floating] | None = field(default=None, repr=False)
    bias_hn: NDArray[np.floating] | None = field(default=None, repr=False)
    bias_i: NDArray[np.floating] | None = field(default=None, repr=False)
    bias_f: NDArray[np.floating] | None = field(default=None, repr=False)
    bias_o: NDArray[np.floating] | None = field(default=None, repr=False)
    delay: NDArray[np.int64] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ checks
    def __post_init__(self) -> None:
        object.__setattr__(self, "_cache", {})
        for name in ("neurons", "inputs", "outputs"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self._check_names()
        dtype = as_dtype(np.asarray(self.weight).dtype)
        n, n_out, n_edges = len(self.neurons), len(self.outputs), len(self.weight)
        arrays = {
            "edge_kind": (np.int8, (n_edges,)),
            "edge_src": (np.int32, (n_edges,)),
            "edge_dst": (np.int32, (n_edges,)),
            "weight": (dtype, (n_edges,)),
            "bias": (dtype, (n + n_out,)),
            "tau": (dtype, (n,)),
            "activation_codes": (np.int8, (n + n_out,)),
        }
        for name, (dt, shape) in arrays.items():
            a = np.asarray(getattr(self, name))
            if a.shape != shape:
                raise ValueError(f"`{name}` must have shape {shape}, got {a.shape}")
            if np.issubdtype(dt, np.floating) and not np.issubdtype(a.dtype, np.floating):
                raise ValueError(f"`{name}` must hold floats, got dtype {a.dtype}")
            a = np.array(a, dtype=dt, copy=not (a.dtype == dt and not a.flags.writeable))
            object.__setattr__(self, name, _readonly(a))
        self._check_units(dtype)
        self._check_parameters()
        checked = self.layout is not None
        if self.layout is None:
            # A given layout comes from a validated network with the same
            # structure (with_params, astype): its edges were checked then.
            self._check_edges()
            object.__setattr__(
                self, "layout", build_layout(self.edge_kind, self.edge_src, self.edge_dst, self.sizes)
            )
        self._check_delay(checked)

    def _check_delay(self, checked: bool) -> None:
        """Fill or validate `delay`; refuse a cycle of delay-0 edges. A
        read-only int64 array beside a given layout comes from a validated
        network (`with_params`, `astype`) and is taken as it is."""
        value = self.delay
        if value is None:
            object.__setattr__(self, "delay", _readonly(default_delays(self.edge_kind)))
            self._cache["has_delays"] = False  # type: ignore[attr-defined]
            return
        trusted = (checked and isinstance(value, np.ndarray) and value.dtype == np.int64
                   and not value.flags.writeable and value.shape == (self.n_edges,))
        if not trusted:
            value = check_delays(value, self.n_edges, self.edges.__getitem__)
            object.__setattr__(self, "delay", value)
        if self.has_delays and not trusted:
            self.schedule()  # refuses a cycle of delay-0 edges, naming its nodes

    def _check_names(self) -> None:
        seen: dict = {}
        for group in ("inputs", "neurons", "outputs"):
            for name in getattr(self, group):
                if not isinstance(name, Hashable):
                    raise TypeError(f"node name {name!r} in `{group}` is not hashable")
                if name in seen:
                    raise ValueError(f"node {name!r} appears in both `{seen[name]}` and `{group}`"
                                     if seen[name] != group else
                                     f"node {name!r} appears twice in `{group}`")
                seen[name] = group

    def _check_edges(self) -> None:
        kind = self.edge_kind
        bad = np.flatnonzero((kind < 0) | (kind >= len(KINDS)))
        if bad.size:
            raise ValueError(f"`edge_kind[{bad[0]}]` is {kind[bad[0]]}: kinds are 0..{len(KINDS) - 1}")
        sizes = self.sizes
        for code, (src_role, dst_role) in enumerate(KIND_ROLES):
            sel = kind == code
            for end, arr, role in (("source", self.edge_src, src_role), ("target", self.edge_dst, dst_role)):
                vals = arr[sel]
                wrong = np.flatnonzero((vals < 0) | (vals >= sizes[role]))
                if wrong.size:
                    e = np.flatnonzero(sel)[wrong[0]]
                    raise ValueError(
                        f"edge {e} ({KIND_NAMES[code]}) has {end} index {arr[e]}, "
                        f"outside 0..{sizes[role] - 1}"
                    )
        key = (kind.astype(np.int64) << 58) | (self.edge_src.astype(np.int64) << 29) | self.edge_dst.astype(np.int64)
        uniq, first = np.unique(key, return_index=True)
        if uniq.size != key.size:
            dup = np.setdiff1d(np.arange(key.size), first)[0]
            raise ValueError(f"edge {self.edges[dup]!r} appears more than once")

    def _check_units(self, dtype: np.dtype) -> None:
        """Validate the units, gate activations and gate parameters: a
        unit's parameters are present exactly when a neuron has that unit,
        finite, and 0 where their edge's target (their node) has no such gate."""
        n, n_edges = self.n_neurons, len(self.weight)
        for name, default in (("unit_codes", 0), ("gate_codes", SIGMOID)):
            value = getattr(self, name)
            a = np.full(n, default, dtype=np.int8) if value is None else np.asarray(value)
            if a.shape != (n,):
                raise ValueError(f"`{name}` must have shape ({n},), got {a.shape}")
            a = np.array(a, dtype=np.int8, copy=not (a.dtype == np.int8 and not a.flags.writeable))
            object.__setattr__(self, name, _readonly(a))
        units, gates = self.unit_codes, self.gate_codes
        bad = np.flatnonzero((units < 0) | (units >= len(UNITS)))
        if bad.size:
            raise ValueError(f"node {self.neurons[bad[0]]!r} has unknown unit code {units[bad[0]]}")
        allowed = [ACTIVATIONS[a] for a in GATE_ACTIVATIONS]
        bad = np.flatnonzero((units > 0) & ~np.isin(gates, allowed))
        if bad.size:
            raise ValueError(f"node {self.neurons[bad[0]]!r} has gate activation code {gates[bad[0]]}: "
                             f"gates use {', '.join(map(repr, GATE_ACTIVATIONS))}")
        into_hidden = self.edge_kind < 3
        for unit, code in UNITS.items():
            if code == 0:
                continue
            has = units == code
            edge_has = np.zeros(n_edges, dtype=bool)
            edge_has[into_hidden] = has[self.edge_dst[into_hidden]]
            node_has = np.concatenate([has, np.zeros(self.n_outputs, dtype=bool)])
            for names, size, mask, what in ((GATE_WEIGHTS[unit], n_edges, edge_has, "edge of net.edges"),
                                            (GATE_BIASES[unit], len(self.bias), node_has,
                                             "node of net.neurons + net.outputs")):
                for name in names:
                    value = getattr(self, name)
                    if value is None:
                        if has.any():
                            first = self.neurons[int(np.flatnonzero(has)[0])]
                            raise ValueError(f"`{name}` is missing: node {first!r} is a {unit.upper()} neuron")
                        continue
                    if not has.any():
                        raise ValueError(f"`{name}` must be None: no neuron is a {unit.upper()}")
                    a = np.asarray(value)
                    if a.shape != (size,):
                        raise ValueError(f"`{name}` must have shape ({size},), one per {what}; got {a.shape}")
                    if not np.issubdtype(a.dtype, np.floating):
                        raise ValueError(f"`{name}` must hold floats, got dtype {a.dtype}")
                    a = np.array(a, dtype=dtype, copy=not (a.dtype == dtype and not a.flags.writeable))
                    wrong = np.flatnonzero(~np.isfinite(a))
                    if wrong.size:
                        where = (f"edge {self.edges[wrong[0]]!r}" if size == n_edges and name.startswith("weight")
                                 else f"node {(self.neurons + self.outputs)[wrong[0]]!r}")
                        raise ValueError(f"{where} has non-finite {name} {a[wrong[0]]}")
                    wrong = np.flatnonzero(~mask & (a != 0))
                    if wrong.size:
                        where = (f"edge {self.edges[wrong[0]]!r}" if name.startswith("weight")
                                 else f"node {(self.neurons + self.outputs)[wrong[0]]!r}")
                        raise ValueError(f"{where} has {name} {a[wrong[0]]}, but its "
                                         f"{'target' if name.startswith('weight') else 'node'} is not a "
                                         f"{unit.upper()} neuron: `{name}` must be 0 there")
                    object.__setattr__(self, name, _readonly(a))

    def _check_parameters(self) -> None:
        bad = np.flatnonzero(~np.isfinite(self.weight))
        if bad.size:
            raise ValueError(f"edge {self.edges[bad[0]]!r} has non-finite weight {self.weight[bad[0]]}")
        names = self.neurons + self.outputs
        bad = np.flatnonzero(~np.isfinite(self.bias))
        if bad.size:
            raise ValueError(f"node {names[bad[0]]!r} has non-finite bias {self.bias[bad[0]]}")
        bad = np.flatnonzero(~(np.isfinite(self.tau) & (self.tau > 0)))
        if bad.size:
            raise ValueError(f"node {self.neurons[bad[0]]!r} has tau {self.tau[bad[0]]}: tau must be finite and > 0")
        codes = self.activation_codes
        bad = np.flatnonzero((codes < 0) | (codes >= len(NAMES)))
        if bad.size:
            raise ValueError(f"node {names[bad[0]]!r} has unknown activation code {codes[bad[0]]}")

    # ------------------------------------------------------------ properties
    @property
    def dtype(self) -> np.dtype:
        """The floating-point type of every parameter and result."""
        return self.weight.dtype

    @property
    def sizes(self) -> tuple[int, int, int]:
        """``(n_inputs, n_neurons, n_outputs)``."""
        return (len(self.inputs), len(self.neurons), len(self.outputs))

    @property
    def n_neurons(self) -> int:
        """Number of hidden neurons (the state size)."""
        return len(self.neurons)

    @property
    def n_inputs(self) -> int:
        """Number of input nodes (columns of ``x``)."""
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        """Number of output nodes (columns of ``outputs``)."""
        return len(self.outputs)

    @property
    def n_edges(self) -> int:
        """Number of edges (entries of ``weight``)."""
        return len(self.weight)

    @property
    def edges(self) -> EdgeList:
        """``(source, target)`` names of every edge, aligned with `weight`."""
        cache = self._cache  # type: ignore[attr-defined]
        if "edges" not in cache:
            cache["edges"] = EdgeList(self)
        return cache["edges"]

    @property
    def activations(self) -> tuple[str, ...]:
        """Activation names of the neurons, then the outputs."""
        return tuple(NAMES[c] for c in self.activation_codes)

    @property
    def units(self) -> tuple[str, ...]:
        """Unit of each neuron of `neurons`: ``"rnn"``, ``"gru"`` or ``"lstm"``."""
        names = tuple(UNITS)
        return tuple(names[c] for c in self.unit_codes)

    @property
    def gate_activations(self) -> tuple[str, ...]:
        """Gate activation of each neuron (read for gated neurons only)."""
        return tuple(NAMES[c] for c in self.gate_codes)

    @property
    def has_delays(self) -> bool:
        """Whether any edge's delay differs from its kind's default."""
        cache = self._cache  # type: ignore[attr-defined]
        if "has_delays" not in cache:
            cache["has_delays"] = bool((self.delay != default_delays(self.edge_kind)).any())
        return cache["has_delays"]

    def schedule(self) -> Schedule:
        """The kernels' view of the delays (built once per network): the
        per-slot delays of the in-edge tables and the levels of a step
        (`simulator.delays.Schedule`).

        Raises
        ------
        ValueError
            When edges of delay 0 form a directed cycle (the message lists
            its nodes in order).
        """
        cache = self._cache  # type: ignore[attr-defined]
        if "schedule" not in cache:
            names = self.neurons + self.outputs
            order, level_ptr = same_step_levels(self.edge_kind, self.edge_src, self.edge_dst, self.delay,
                                                self.n_neurons, self.n_outputs, names.__getitem__)
            lay = self.layout
            cache["schedule"] = Schedule(
                hidden=np.ascontiguousarray(self.delay[lay.hidden_in.edge]),
                outputs=np.ascontiguousarray(self.delay[lay.outputs_in.edge]),
                order=order, level_ptr=level_ptr,
            )
        return cache["schedule"]

    @property
    def gated(self) -> bool:
        """Whether any neuron is a GRU or an LSTM."""
        return bool(self.unit_codes.any())

    @property
    def cell_neurons(self) -> tuple:
        """Names of the LSTM neurons: the column order of cell states
        (found once per network)."""
        cache = self._cache  # type: ignore[attr-defined]
        if "cell_neurons" not in cache:
            cache["cell_neurons"] = tuple(self.neurons[i] for i in np.flatnonzero(self.unit_codes == UNITS["lstm"]))
        return cache["cell_neurons"]

    def gate_parameters(self) -> dict[str, np.ndarray]:
        """The gate parameters the network has (name -> array), in
        `simulator.units.GATE_PARAMETERS` order."""
        return {name: getattr(self, name) for name in GATE_PARAMETERS if getattr(self, name) is not None}

    def edge_counts(self) -> dict[str, int]:
        """Number of edges of each kind, by readable kind name."""
        counts = np.bincount(self.edge_kind, minlength=len(KINDS))
        return {name: int(c) for name, c in zip(KIND_NAMES, counts)}

    def locate(self, name: Hashable) -> tuple[str, int]:
        """Return ``(group, position)`` of node `name`.

        ``group`` is ``"inputs"``, ``"neurons"`` or ``"outputs"``.

        Raises
        ------
        KeyError
            If no node has that name.
        """
        cache = self._cache  # type: ignore[attr-defined]
        if "nodes" not in cache:
            cache["nodes"] = {
                n: (group, i)
                for group in ("inputs", "neurons", "outputs")
                for i, n in enumerate(getattr(self, group))
            }
        try:
            return cache["nodes"][name]
        except KeyError:
            raise KeyError(f"no node named {name!r} in the network") from None

    # ------------------------------------------------------------ parameters
    def with_params(
        self,
        weight: ArrayLike | None = None,
        bias: ArrayLike | None = None,
        tau: ArrayLike | None = None,
        delay: ArrayLike | None = None,
        **gates: ArrayLike,
    ) -> Network:
        """Return a copy with new parameters (same names and index structure).

        Parameters
        ----------
        weight : array_like, shape (n_edges,), optional
        bias : array_like, shape (n_neurons + n_outputs,), optional
        tau : array_like, shape (n_neurons,), optional
            Converted to the network's dtype and validated like at compile time.
        delay : array_like of int, shape (n_edges,), optional
            New edge delays (whole numbers >= 0), validated like at compile
            time: a cycle of delay-0 edges is refused.
        **gates : array_like, optional
            Gate parameters by name (``weight_r``, ``weight_z``, ``weight_i``,
            ``weight_f``, ``weight_o`` of shape (n_edges,); ``bias_r``,
            ``bias_z``, ``bias_hn``, ``bias_i``, ``bias_f``, ``bias_o`` of
            shape (n_neurons + n_outputs,)), for a network that has them;
            0 wherever the target (node) has no such gate.

        Raises
        ------
        ValueError
            An array of the wrong shape (the message gives the right one) or
            a value that is not allowed (named by its edge or node).

        Examples
        --------
        >>> import networkx as nx, simulator as sim
        >>> net = sim.compile(nx.DiGraph([("a", "b"), ("b", "a")]))
        >>> net.with_params(weight=[0.5, -0.5]).weight
        array([ 0.5, -0.5])
        >>> net.with_params(weight=0.5)
        Traceback (most recent call last):
        ...
        ValueError: `weight` must have shape (2,), one per edge of net.edges; got ()
        """
        new = {}
        sizes = {"weight": (self.n_edges, "edge of net.edges"),
                 "bias": (self.n_neurons + self.n_outputs, "node of net.neurons + net.outputs"),
                 "tau": (self.n_neurons, "neuron of net.neurons")}
        for name in gates:
            if name not in GATE_PARAMETERS:
                raise TypeError(f"with_params() got an unexpected keyword argument {name!r}: parameters are "
                                f"weight, bias, tau, delay, {', '.join(GATE_PARAMETERS)}")
            if getattr(self, name) is None:
                raise ValueError(f"`{name}` is not a parameter of this network: no neuron has that gate")
            sizes[name] = sizes["weight" if name.startswith("weight") else "bias"]
        for name, value in (("weight", weight), ("bias", bias), ("tau", tau), *gates.items()):
            if value is not None:
                a = np.array(value, dtype=self.dtype)
                size, each = sizes[name]
                if a.shape != (size,):
                    raise ValueError(f"`{name}` must have shape ({size},), one per {each}; got {a.shape}")
                new[name] = a
        if delay is not None:
            new["delay"] = check_delays(delay, self.n_edges, self.edges.__getitem__)
            new["delay"].flags.writeable = True  # validated again, cycles included, by the new network
        return replace(self, **new, layout=self.layout)

    def astype(self, dtype: Any) -> Network:
        """Return the network with parameters converted to `dtype`."""
        dt = as_dtype(dtype)
        if dt == self.dtype:
            return self
        return replace(
            self,
            weight=self.weight.astype(dt),
            bias=self.bias.astype(dt),
            tau=self.tau.astype(dt),
            layout=self.layout,
            **{name: a.astype(dt) for name, a in self.gate_parameters().items()},
        )

    def _table(self, rows) -> Table:
        """The kernels' `Table` of the layout's `rows`, with this network's weights."""
        return Table(rows.ptr, rows.index, np.ascontiguousarray(self.weight[rows.edge]))

    def wiring(self) -> Wiring:
        """The kernels' view of the network (built once per network)."""
        cache = self._cache  # type: ignore[attr-defined]
        if "wiring" not in cache:
            n = self.n_neurons
            act_h = self.activation_codes[:n]
            uniform = int(act_h[0]) if n and (act_h == act_h[0]).all() else -1
            hidden = self._table(self.layout.hidden_in)
            cache["wiring"] = Wiring(
                hidden=hidden,
                outputs=self._table(self.layout.outputs_in),
                act_h=act_h,
                act_o=self.activation_codes[n:],
                bias_h=self.bias[:n],
                bias_o=self.bias[n:],
                uniform_h=uniform,
                hidden_lanes=self.layout.hidden_in_lanes.with_weights(hidden.weight),
            )
        return cache["wiring"]

    def gates(self) -> Gates:
        """The kernels' view of the units and gate parameters (built once
        per network): per-slot gate weights as 2-D arrays, one row per gate
        (`simulator.units`), over the slots of the in-edge table and of the
        transposed tables, and the gate biases as a (3, n_neurons) array."""
        cache = self._cache  # type: ignore[attr-defined]
        if "gates" not in cache:
            n, lay = self.n_neurons, self.layout
            per_edge = np.zeros((3, self.n_edges), dtype=self.dtype)
            bias = np.zeros((3, n), dtype=self.dtype)
            for unit in ("gru", "lstm"):
                for row, name in enumerate(GATE_WEIGHTS[unit]):
                    if getattr(self, name) is not None:
                        per_edge[row] += getattr(self, name)
                for row, name in enumerate(GATE_BIASES[unit]):
                    if getattr(self, name) is not None:
                        bias[row] += getattr(self, name)[:n]
            cell = np.full(n, -1, dtype=np.int64)
            lstm = np.flatnonzero(self.unit_codes == UNITS["lstm"])
            cell[lstm] = np.arange(lstm.size)
            cache["gates"] = Gates(
                unit=self.unit_codes, act=self.gate_codes, cell=cell,
                weight=np.ascontiguousarray(per_edge[:, lay.hidden_in.edge]), bias=bias,
                weight_out=np.ascontiguousarray(per_edge[:, lay.hidden_out.edge]),
                weight_fed=np.ascontiguousarray(per_edge[:, lay.fed_out.edge]),
            )
        return cache["gates"]

    def dense_w(self) -> np.ndarray:
        """The hidden->hidden weights as a dense C-contiguous (n, n) matrix,
        ``W[i, j]`` for edge ``j -> i`` (built once per network)."""
        cache = self._cache  # type: ignore[attr-defined]
        if "dense_w" not in cache:
            n = self.n_neurons
            W = np.zeros((n, n), dtype=self.dtype)
            sel = self.edge_kind == 0
            W[self.edge_dst[sel], self.edge_src[sel]] = self.weight[sel]
            cache["dense_w"] = W
        return cache["dense_w"]

    def run_delays(self) -> tuple:
        """The delayed run kernels' view of the delays (built once per
        network): where each slot reads in the history, laid out as the
        interleaved table too, and the levels of neurons in order
        (`simulator._kernels.delayed.run_offsets`)."""
        cache = self._cache  # type: ignore[attr-defined]
        if "run_delays" not in cache:
            from ._kernels.delayed import run_offsets

            cache["run_delays"] = run_offsets(self.wiring(), self.schedule(), self.n_neurons, self.n_inputs,
                                              self.n_outputs)
        return cache["run_delays"]

    def back_delays(self) -> tuple[np.ndarray, np.ndarray, tuple]:
        """The backward kernels' view of the delays (built once per
        network): the per-slot delays of the out-edge tables of `wiring_t`
        (``hidden`` then ``fed``) and where their slots read
        (`simulator._kernels.delayed_backward.back_offsets`)."""
        cache = self._cache  # type: ignore[attr-defined]
        if "back_delays" not in cache:
            from ._kernels.delayed_backward import back_offsets

            lay = self.layout
            out_delay = np.ascontiguousarray(self.delay[lay.hidden_out.edge])
            fed_delay = np.ascontiguousarray(self.delay[lay.fed_out.edge])
            cache["back_delays"] = (out_delay, fed_delay,
                                    back_offsets(self.wiring(), self.wiring_t(), self.schedule(), out_delay, fed_delay,
                                                 self.n_inputs, self.n_outputs))
        return cache["back_delays"]

    def wiring_t(self) -> Transposed:
        """The kernels' view of the transposed tables (rows = sources), for
        the backward pass; its kernels accumulate weight gradients in the
        slot order of `wiring` (``layout.slot_edges``)."""
        cache = self._cache  # type: ignore[attr-defined]
        if "wiring_t" not in cache:
            hidden = self._table(self.layout.hidden_out)
            cache["wiring_t"] = Transposed(hidden, self._table(self.layout.fed_out),
                                           self.layout.hidden_out_lanes.with_weights(hidden.weight))
        return cache["wiring_t"]

    # --------------------------------------------------------------- export
    def to_networkx(self) -> nx.DiGraph:
        """The compiled graph with the current parameters as attributes.

        Every attribute the original graph carried (graph, node and edge
        attributes, as copies) and the node order are kept, except that
        inputs and outputs appear in their column order; ``role``,
        ``weight``, ``bias``, ``activation`` and ``tau`` are written from
        the network, and ``delay`` on the edges whose delay differs from
        their kind's default (only there).

        Returns
        -------
        networkx.DiGraph
            Compiling it again gives an identical network.
        """
        return self._graph(columns_first=True)

    def _graph(self, columns_first: bool) -> nx.DiGraph:
        """`to_networkx`, with the inputs and outputs in their column order
        (`columns_first`) or in the original graph's node order (for the
        files, which record the columns themselves)."""
        G = nx.DiGraph()
        G.graph.update(detached(self.attributes.graph))
        n = self.n_neurons
        acts = self.activations
        model: dict = {}
        for i, name in enumerate(self.inputs):
            model[name] = {"role": "input"}
        units = self.units
        for i, name in enumerate(self.neurons):
            model[name] = {"bias": float(self.bias[i]), "activation": acts[i], "tau": float(self.tau[i])}
            if units[i] != "rnn":
                model[name]["unit"] = units[i]
                model[name]["gate_activation"] = NAMES[self.gate_codes[i]]
                model[name].update((b, float(getattr(self, b)[i])) for b in GATE_BIASES[units[i]])
        for o, name in enumerate(self.outputs):
            model[name] = {"role": "output", "bias": float(self.bias[n + o]), "activation": acts[n + o]}
        order = list(self.attributes.node_order or model)
        # The inputs (outputs) take the places of the graph's inputs (outputs)
        # in column order, so that compiling the graph again without
        # `inputs=`/`outputs=` gives the same columns.
        for group in (self.inputs, self.outputs) if columns_first else ():
            members = set(group)
            for k, name in zip([k for k, name in enumerate(order) if name in members], group):
                order[k] = name
        extra = self.attributes.nodes
        G.add_nodes_from((name, {**detached(extra.get(name, {})), **model[name]}) for name in order)
        edge_extra = self.attributes.edges
        G.add_edges_from(
            (u, v, {**detached(edge_extra[e]), "weight": w} if e in edge_extra else {"weight": w})
            for e, ((u, v), w) in enumerate(zip(self.edges, self.weight.tolist()))
        )
        if self.has_delays:
            for e in np.flatnonzero(self.delay != default_delays(self.edge_kind)).tolist():
                G.edges[self.edges[e]]["delay"] = int(self.delay[e])
        if self.gated:
            into_hidden = np.flatnonzero(self.edge_kind < 3)
            codes = self.unit_codes[self.edge_dst[into_hidden]]
            for unit, code in (("gru", UNITS["gru"]), ("lstm", UNITS["lstm"])):
                for name in GATE_WEIGHTS[unit]:
                    values = getattr(self, name)
                    if values is None:
                        continue
                    for e in into_hidden[codes == code].tolist():
                        G.edges[self.edges[e]][name] = float(values[e])
        return G

    # ---------------------------------------------------------------- display
    def _repr_html_(self) -> str:
        return html_table("Network", network_rows(self))

    def __repr__(self) -> str:
        kinds = ", ".join(f"{k} {c}" for k, c in zip(KINDS, np.bincount(self.edge_kind, minlength=5)))
        return (
            f"Network({count(self.n_inputs, 'input')}, {count(self.n_neurons, 'neuron')}, "
            f"{count(self.n_outputs, 'output')}; {count(self.n_edges, 'edge')}: {kinds}; {self.dtype.name})"
        )

