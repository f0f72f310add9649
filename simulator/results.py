"""`Result`: the recorded history of a run, with names attached."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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

    Examples
    --------
    >>> import numpy as np, networkx as nx, simulator as sim
    >>> G = nx.DiGraph([("x", "h"), ("h", "y")])
    >>> net = sim.compile(G, inputs=["x"], outputs=["y"])
    >>> res = sim.run(net, np.ones((3, 1)))
    >>> res["h"].round(4)
    array([0.    , 0.7616, 0.7616, 0.7616])
    >>> res
    Result(discrete, 3 steps, 1 neurons, 1 outputs; states (4, 1), outputs (3, 1), float64)
    """

    states: np.ndarray
    outputs: np.ndarray
    times: np.ndarray
    inputs: np.ndarray
    network: Network = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

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

    def __repr__(self) -> str:
        net = self.network
        batch = f", batch {self.states.shape[1]}" if self.batched else ""
        mode = self.info.get("mode", "")
        if "dt" in self.info and self.info["dt"] is not None:
            mode += f" {self.info.get('method')} dt={self.info['dt']}"
        return (
            f"Result({mode}, {self.n_steps} steps{batch}, {net.n_neurons} neurons, "
            f"{net.n_outputs} outputs; states {self.states.shape}, outputs {self.outputs.shape}, "
            f"{self.states.dtype.name})"
        )
