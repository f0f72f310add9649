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

#: An edge table's rows interleaved eight at a time, slot-major
#: (`simulator.interleave`): segment ``q`` of chunk ``c`` holds slot ``s``
#: of lane ``l`` at ``start[c, q] + 8 s + l`` (``start`` uint64 of
#: shape (n_chunks, n_parts + 1)), the lanes' slot counts at ``count[(c *
#: n_parts + q) * 8 + l]`` (uint32), the slots' ``index`` (uint32) and
#: ``weight``, zero where a lane is padded, ``slot``: each value's slot of
#: the table (int64, -1 where padded), and ``rows`` (uint32): the row of
#: each lane (``rows[8 c + l]``), then the rows left to the table. Lane
#: ``l`` of chunk ``c`` is row ``8 c + l`` in the forward's table, and any
#: row, ``rows[8 c + l]``, in the backward's (ordered by out-degree).
Interleaved = namedtuple("Interleaved", "start count index weight slot rows")

#: Everything the forward pass needs: the in-edge tables of the hidden
#: neurons (``hidden``, parts `HIDDEN`, `INPUT`, `FED`; and interleaved,
#: ``hidden_lanes``) and of the outputs (``outputs``, parts `HIDDEN`,
#: `INPUT`), activation codes and biases of hidden neurons (``act_h``,
#: ``bias_h``) and of outputs (``act_o``, ``bias_o``), and ``uniform_h``:
#: the code every hidden neuron shares, or -1 when they differ.
Wiring = namedtuple("Wiring", "hidden outputs act_h act_o bias_h bias_o uniform_h hidden_lanes")

#: The transposed tables for the backward pass: ``hidden``, each hidden
#: neuron's out-edges (parts `HIDDEN`: W, `TO_OUTPUT`: V; and interleaved,
#: ``hidden_lanes``), and ``fed``, each output's feedback edges (one part: F).
Transposed = namedtuple("Transposed", "hidden fed hidden_lanes")

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
