"""Graph builders for graphrnn: every generator returns a ``networkx.DiGraph``.

Conventions (the README's "The graph conventions"): node attribute ``role`` is ``"input"`` or
``"output"`` (absent on hidden neurons); every edge has a float ``weight``.
Inputs are named ``"in0", "in1", ...`` and outputs ``"out0", "out1", ...``;
node order is inputs, hidden neurons, outputs. Random generators take
``seed`` (int, ``numpy.random.Generator`` or ``None``).
"""

from .classic import delay_line, elman, four_neuron, layered
from .generators import (
    erdos_renyi,
    fixed_indegree,
    lattice_2d,
    ring,
    scale_free,
    small_world,
)
from .gated import gate, gru, lstm, stacked
from .hopfield import hopfield
from .reservoir import echo_state
from .weights import attach_io, init_weights, scale_spectral_radius, spectral_radius

__all__ = [
    "attach_io",
    "delay_line",
    "echo_state",
    "elman",
    "erdos_renyi",
    "fixed_indegree",
    "four_neuron",
    "gate",
    "gru",
    "hopfield",
    "init_weights",
    "lattice_2d",
    "layered",
    "lstm",
    "ring",
    "scale_free",
    "scale_spectral_radius",
    "small_world",
    "spectral_radius",
    "stacked",
]
