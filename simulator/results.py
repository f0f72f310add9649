"""`Result`: the recorded history of a run, with names attached."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import display, frames
from .network import Network

__all__ = ["Result"]


@dataclass(frozen=True, eq=False)
class Result:
    """The history of one run.

    Attributes
    ----------
    states : ndarray, shape (n_steps + 1, [batch,] n_neurons)
        ``states[0]`` is the initial state h[0].
    outputs : ndarray, shape (n_steps, [batch,] n_outputs)
        ``outputs[t]`` is read from ``states[t + 1]``.
    times : ndarray, shape (n_steps + 1,)
        The time of each row of `states`.
    inputs : ndarray, shape (n_steps, [batch,] n_inputs)
        The inputs the run was driven with.
    network : Network
        The network that ran (for names).
    info : dict
        How it ran: ``mode`` ("discrete", ...), ``update``, ``dt``, ``method``.
    cells : ndarray, shape (n_steps + 1, [batch,] n_lstm), or None
        The LSTM neurons' cell states (columns: ``network.cell_neurons``),
        ``cells[0]`` the initial c[0]; None without LSTM neurons.
    gates : dict of ndarray, or None
        With ``record_gates=True``: gate name (``"r"``, ``"z"``, ``"n"`` for
        GRUs; ``"i"``, ``"f"``, ``"g"``, ``"o"`` for LSTMs) -> values after
        the gate's sigma or phi at each step, shape (n_steps, [batch,]
        n_neurons), NaN for neurons without that gate.

    Examples
    --------
    >>> import numpy as np, networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("x", "h"), ("h", "y")])
    >>> net = sim.compile(G, inputs=["x"], outputs=["y"])
    >>> res = sim.run(net, np.ones((3, 1)))
    >>> res["h"].round(4)
    array([0.    , 0.7616, 0.7616, 0.7616])
    >>> res
    Result(discrete, 3 steps, 1 neuron, 1 output; states (4, 1), outputs (3, 1), float64)
    """

    states: np.ndarray
    outputs: np.ndarray
    times: np.ndarray
    inputs: np.ndarray
    network: Network = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)
    cells: np.ndarray | None = None
    gates: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def batched(self) -> bool:
        """Whether the run had a batch axis."""
        return self.states.ndim == 3

    @property
    def n_steps(self) -> int:
        """Number of steps (rows of `outputs`)."""
        return self.outputs.shape[0]

    def __getitem__(self, name: Hashable) -> np.ndarray:
        """The trace of one node by graph name.

        A neuron gives its column of `states` (n_steps + 1 rows), an output its
        column of `outputs` and an input its column of `inputs` (n_steps rows).

        Raises
        ------
        KeyError
            If the network has no node of that name.
        """
        group, i = self.network.locate(name)
        array = {"neurons": self.states, "outputs": self.outputs, "inputs": self.inputs}[group]
        return array[..., i]

    def to_xarray(self, what: str = "states") -> Any:
        """The history as labelled xarray data (needs the ``xarray`` extra).

        Parameters
        ----------
        what : {"states", "outputs", "inputs", "cells", "gates", "all"}
            ``"states"`` gives a DataArray with dims ``("time", ["batch",]
            "neuron")``, node names as the ``neuron`` coordinate and
            ``times`` as ``time``. ``"outputs"`` (dim ``output``) sits at
            ``times[1:]`` (read from the state after each step) and
            ``"inputs"`` (dim ``input``) at ``times[:-1]`` (the step each
            input drives). ``"cells"`` (a network with LSTM neurons): dims
            ``("time", ["batch",] "cell")``, the ``cell`` coordinate
            ``network.cell_neurons``, at ``times`` like the states.
            ``"gates"`` (a run with ``record_gates=True``): dims ``("gate",
            "time", ["batch",] "neuron")``, the ``gate`` coordinate the keys
            of `gates` (``"r"``, ``"z"``, ``"n"``, ``"i"``, ``"f"``, ``"g"``,
            ``"o"``), at ``times[1:]`` (computed in the step into each
            state), NaN for neurons without that gate. ``"all"`` gives a
            Dataset of states, outputs and inputs, and of cells and gates
            when the run has them, on the full time axis, NaN where an
            output, input or gate is undefined; a run without cells or gates
            gives the three alone.

        Examples
        --------
        >>> import numpy as np, networkx as nx, simulator as sim
        >>> net = sim.compile(nx.DiGraph([("x", "h"), ("h", "y")]), inputs=["x"], outputs=["y"])
        >>> da = sim.run(net, np.ones((3, 1))).to_xarray()
        >>> da.dims, da.sel(neuron="h").values.round(3).tolist()
        (('time', 'neuron'), [0.0, 0.762, 0.762, 0.762])

        A gated run's gates, one neuron's update gate:

        >>> import topologies as tp
        >>> net = sim.compile(tp.gru(1, 2, 1, seed=0))
        >>> res = sim.run(net, np.ones((3, 1)), record_gates=True)
        >>> gates = res.to_xarray("gates")
        >>> gates.dims, gates.sel(gate="z", neuron=net.neurons[0]).shape
        (('gate', 'time', 'neuron'), (3,))
        >>> sorted(res.to_xarray("all").data_vars)
        ['gates', 'inputs', 'outputs', 'states']

        Raises
        ------
        ValueError
            An unknown `what`, ``"gates"`` for a run without
            ``record_gates=True``, ``"cells"`` for a network without LSTM
            neurons.
        """
        return frames.to_xarray(self, what)

    def to_pandas(self, batch: int | None = None, inputs: bool = False) -> Any:
        """One batch element as a pandas DataFrame indexed by ``time``.

        Columns are the neurons, then the outputs (NaN at the first time,
        since ``outputs[t]`` sits at ``times[t + 1]``), then with
        ``inputs=True`` the inputs (NaN at the last time). A batched result
        needs ``batch=``.

        Examples
        --------
        >>> import numpy as np, networkx as nx, simulator as sim
        >>> net = sim.compile(nx.DiGraph([("x", "h"), ("h", "y")]), inputs=["x"], outputs=["y"])
        >>> sim.run(net, np.ones((2, 1))).to_pandas().round(3)  # doctest: +NORMALIZE_WHITESPACE
                  h      y
        time
        0.0   0.000    NaN
        1.0   0.762  0.762
        2.0   0.762  0.762
        """
        return frames.to_pandas(self, batch, inputs)

    def _repr_html_(self) -> str:
        return display.html_table(repr(self).split("(")[0], display.result_rows(self))

    def __repr__(self) -> str:
        net = self.network
        batch = f", batch {self.states.shape[1]}" if self.batched else ""
        mode = self.info.get("mode", "")
        if self.info.get("method") is not None:
            mode += f" {self.info['method']}"
        if self.info.get("dt") is not None:
            mode += f" dt={self.info['dt']}"
        return (
            f"Result({mode}, {display.count(self.n_steps, 'step')}{batch}, "
            f"{display.count(net.n_neurons, 'neuron')}, {display.count(net.n_outputs, 'output')}; states {self.states.shape}, outputs {self.outputs.shape}, "
            f"{self.states.dtype.name})"
        )
