"""Neuron units: plain (``"rnn"``), GRU and LSTM, and the names of their
per-gate parameters (design section 8).

A gated neuron's in-edges carry one weight per gate and the neuron one bias
per gate. `Network` keeps each as an array aligned like ``weight`` or
``bias`` (``net.weight_z``, ``net.bias_f``, ...; None when no neuron has that
unit); the kernels read them as one 2-D array per kind, one row per gate
(`GATE_WEIGHTS`, `GATE_BIASES` give the row order), beside the one in-edge
table. A neuron has one unit, so a GRU's rows and an LSTM's rows share the
same three rows of the kernel arrays: row 0 is ``r`` or ``i``, row 1 ``z``
or ``f``, row 2 (biases: ``b_hn`` or ``b_o``; weights: unused or ``o``).

GRU neuron (``torch.nn.GRU``'s equations, written per neuron)::

    r  = sigma(A_r + b_r)
    z  = sigma(A_z + b_z)
    n  = phi((A_n - R_n) + b + r * (R_n + b_hn))
    h' = (1 - z) * n + z * h

LSTM neuron::

    i  = sigma(A_i + b_i)     f = sigma(A_f + b_f)     o = sigma(A_o + b_o)
    g  = phi(A_g + b)
    c' = f * c + i * g
    h' = o * phi(c')

``A_q`` sums gate q's weights times what each in-edge delivers, ``R_n`` the
same over the hidden -> hidden (one-step) edges only.
"""

from __future__ import annotations

__all__ = ["UNITS", "GATE_ACTIVATIONS", "GATE_WEIGHTS", "GATE_BIASES", "GATE_PARAMETERS", "RNN", "GRU", "LSTM",
           "GATE_NAMES"]

#: Unit name -> code (``Network.unit_codes``).
UNITS: dict[str, int] = {"rnn": 0, "gru": 1, "lstm": 2}
RNN, GRU, LSTM = UNITS["rnn"], UNITS["gru"], UNITS["lstm"]
#: The activations a gate may use (node attribute ``gate_activation``).
GATE_ACTIVATIONS: tuple[str, ...] = ("sigmoid", "hard_sigmoid")
#: Each gated unit's gate-weight edge attributes, in kernel row order.
GATE_WEIGHTS: dict[str, tuple[str, ...]] = {"gru": ("weight_r", "weight_z"),
                                           "lstm": ("weight_i", "weight_f", "weight_o")}
#: Each gated unit's gate-bias node attributes, in kernel row order.
GATE_BIASES: dict[str, tuple[str, ...]] = {"gru": ("bias_r", "bias_z", "bias_hn"),
                                          "lstm": ("bias_i", "bias_f", "bias_o")}
#: Every gate parameter name, weights then biases (``Network`` fields, ``with_params`` keywords,
#: ``Gradients`` fields, ``trainable`` kinds).
GATE_PARAMETERS: tuple[str, ...] = (*GATE_WEIGHTS["gru"], *GATE_WEIGHTS["lstm"],
                                    *GATE_BIASES["gru"], *GATE_BIASES["lstm"])
#: Keys of ``Result.gates``, in the order of the kernels' gate record.
GATE_NAMES: tuple[str, ...] = ("r", "z", "n", "i", "f", "g", "o")


def unit_of(parameter: str) -> str:
    """The unit (``"gru"`` or ``"lstm"``) that owns gate `parameter`."""
    for unit in ("gru", "lstm"):
        if parameter in GATE_WEIGHTS[unit] or parameter in GATE_BIASES[unit]:
            return unit
    raise KeyError(parameter)
