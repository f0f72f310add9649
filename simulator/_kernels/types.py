"""The array bundles kernels receive (namedtuples: Numba types them as tuples)."""

from __future__ import annotations

from collections import namedtuple

#: An edge table, one row per node (`simulator.layout.Rows` with its
#: per-slot values): row ``r`` owns slots ``ptr[r, 0]:ptr[r, -1]`` (uint64
#: ``ptr`` of shape (n_rows, n_parts + 1)); segment ``q``,
#: ``ptr[r, q]:ptr[r, q + 1]``, holds the slots whose other end is row
#: ``index[k]`` (uint32) of part ``q`` of the row's source vector, with
#: weight ``weight[k]``. Per-gate weights or a per-slot delay would be
#: further arrays over the same slots.
Table = namedtuple("Table", "ptr index weight")

#: The parts of a hidden neuron's source vector, in segment order: hidden
#: states h (W edges), inputs x (U), fed-back outputs yhat (F). An output's
#: source vector is (h, x): its V and D edges. The transposed tables'
#: parts: a hidden neuron sends to hidden neurons (W) and outputs (V); a
#: fed-back output to hidden neurons (F).
HIDDEN, INPUT, FED = 0, 1, 2
#: Part of a hidden neuron's out-edges into outputs (`Transposed.hidden`).
TO_OUTPUT = 1

#: Everything the forward pass needs: the in-edge tables of the hidden
#: neurons (``hidden``, parts `HIDDEN`, `INPUT`, `FED`) and of the outputs
#: (``outputs``, parts `HIDDEN`, `INPUT`), activation codes and biases of
#: hidden neurons (``act_h``, ``bias_h``) and of outputs (``act_o``,
#: ``bias_o``), and ``uniform_h``: the code every hidden neuron shares, or
#: -1 when they differ.
Wiring = namedtuple("Wiring", "hidden outputs act_h act_o bias_h bias_o uniform_h")

#: The transposed tables for the backward pass: ``hidden``, each hidden
#: neuron's out-edges (parts `HIDDEN`: W, `TO_OUTPUT`: V), and ``fed``,
#: each output's feedback edges (one part: F).
Transposed = namedtuple("Transposed", "hidden fed")

#: The units and gate parameters of a network with gated neurons
#: (`simulator.units`): ``unit`` (int8, per neuron: 0 plain, 1 GRU, 2 LSTM),
#: ``act`` (int8, each neuron's gate activation code), ``cell`` (int64, each
#: neuron's column of the cell state, -1 for a neuron that is not an LSTM),
#: ``weight`` (3, n_slots): the gate weights over the slots of
#: ``Wiring.hidden`` (rows r, z, - for a GRU target; i, f, o for an LSTM),
#: ``bias`` (3, n_neurons): b_r, b_z, b_hn (GRU) or b_i, b_f, b_o (LSTM),
#: and ``weight_out`` / ``weight_fed``: the gate weights over the slots of
#: `Transposed.hidden` and `Transposed.fed`, for the backward pass.
Gates = namedtuple("Gates", "unit act cell weight bias weight_out weight_fed")
