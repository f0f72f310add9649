"""Plots for exploring runs in Jupyter (matplotlib, imported on first use).

Every function draws into `ax` (a new figure when it is None) and returns the
matplotlib Axes, so a picture can be adjusted afterwards; `animate` returns an
animation that a notebook shows inline. Nodes are named as in the graph (the
names of ``res.network`` or `net`).

=====================  =======================================================
`activity`             heat map of the states: neurons x time
`traces`               line traces of chosen neurons (or outputs, inputs)
`graph`                the graph, nodes coloured by activity at one step
`animate`              `graph` over time, as an inline HTML/JavaScript player
`gradient_flow`        norm of dL/dh[t] against t (vanishing, exploding)
`training`             loss per epoch, gradient norm on a twin axis
`gates`                a GRU or LSTM neuron's gates, state and cell over time
`trajectories`         one neuron at several fixed steps dt beside the ODE
`phase_portrait`       two neurons against each other, with the vector field
`eigenvalues`          eigenvalues in the complex plane, stability boundary
`lyapunov`             a Lyapunov spectrum and its convergence
`fixed_points`         fixed points on principal components, runs through them
=====================  =======================================================

Alignment in time: row ``s`` of ``res.states`` is at ``res.times[s]``;
``res.outputs[s - 1]`` reads ``states[s]`` and ``res.inputs[s - 1]`` is the
input that drove the step into it, so wherever a picture shows a node at row
``s`` (`activity`, `graph`), inputs and outputs show those values and have none
at row 0 (drawn neutral grey).

Colours: activity uses a diverging map centred on zero (``"RdBu_r"``: red
positive, blue negative, white zero); edges are red for positive weights and
blue for negative ones, wider for larger magnitudes. Inputs are drawn as
squares, hidden neurons as circles and outputs as diamonds.
"""

# The functions, and the named colours, shapes and limits they use (``NEUTRAL``,
# ``LAYOUTS``, ...).
from ._common import NEUTRAL
from .analysis import SLOW, STABLE, UNSTABLE, eigenvalues, fixed_points, lyapunov
from .continuous import FIELDS, NULLCLINE, phase_portrait, trajectories
from .drawing import LAYOUTS, NEGATIVE, POSITIVE, SHAPES, SPRING_MAX, ZERO, animate, graph
from .gated import GATES, gates
from .learning import gradient_flow, training
from .timeseries import activity, traces

__all__ = [
    "activity",
    "animate",
    "eigenvalues",
    "fixed_points",
    "gates",
    "gradient_flow",
    "graph",
    "lyapunov",
    "phase_portrait",
    "trajectories",
    "training",
    "traces",
]
