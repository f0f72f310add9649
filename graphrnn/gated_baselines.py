"""PyTorch baselines for networks of gated neurons (benchmarks and
``graphrnn bench``): a GRU network on its own sparse wiring written for
autograd (gather, multiply and ``index_add`` per gate), and ``torch.nn.GRU``
/ ``torch.nn.LSTM`` holding a fully connected network's parameters.

Edge kinds and parameters as `simulator.Network` keeps them (design
sections 3 and 8); torch is passed in, so importing this needs no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["torch_gru_sparse", "torch_gru_loss", "torch_dense"]

#: The main weight's name and each gate's, in ``torch.nn.GRU`` / ``nn.LSTM`` row order.
TORCH_GATES = {"gru": ("weight_r", "weight_z", "weight"), "lstm": ("weight_i", "weight_f", "weight", "weight_o")}


def torch_gru_sparse(net, torch) -> tuple[dict, dict]:
    """A network of GRU neurons (hidden -> hidden ``W`` and input ``U``
    edges, a linear readout ``V``) as float64 autograd leaves: per edge kind
    ``(src, dst, {weight name: values})``, and the biases by name
    (``bias``, ``bias_r``, ``bias_z``, ``bias_hn`` over the neurons, ``c``
    over the outputs)."""
    n = net.n_neurons
    kinds = {}
    for code, name in ((0, "W"), (1, "U"), (3, "V")):
        sel = net.edge_kind == code
        names = ("weight",) if name == "V" else ("weight", "weight_r", "weight_z")
        kinds[name] = (torch.as_tensor(net.edge_src[sel].astype(np.int64)),
                       torch.as_tensor(net.edge_dst[sel].astype(np.int64)),
                       {q: torch.tensor(getattr(net, q)[sel], dtype=torch.float64, requires_grad=True)
                        for q in names})
    biases = {q: torch.tensor(getattr(net, q)[:n], dtype=torch.float64, requires_grad=True)
              for q in ("bias", "bias_r", "bias_z", "bias_hn")}
    biases["c"] = torch.tensor(net.bias[n:], dtype=torch.float64, requires_grad=True)
    return kinds, biases


def torch_gru_loss(net, kinds: dict, biases: dict, x: np.ndarray, y: np.ndarray, torch):
    """MSE of the GRU network of `torch_gru_sparse` (tanh candidates,
    sigmoid gates) on `x` (T, batch, n_inputs) against `y` (T, batch,
    n_outputs), from h[0] = 0: per step and gate a gather, a multiply and
    an ``index_add``."""
    n = net.n_neurons
    xs = torch.as_tensor(np.moveaxis(x, 2, 1))     # (T, n_inputs, batch)
    h = torch.zeros((n, x.shape[1]), dtype=torch.float64)
    Ws, Wd, Ww = kinds["W"]
    Us, Ud, Uw = kinds["U"]
    Vs, Vd, Vw = kinds["V"]

    def edge_sum(dst, w, values, bias=None):
        start = torch.zeros_like(h) if bias is None else bias[:, None].repeat(1, h.shape[1])
        return start.index_add(0, dst, w[:, None] * values)

    outs = []
    for t in range(xs.shape[0]):
        hw, xu = h[Ws], xs[t][Us]
        r = torch.sigmoid(edge_sum(Wd, Ww["weight_r"], hw, biases["bias_r"]) + edge_sum(Ud, Uw["weight_r"], xu))
        z = torch.sigmoid(edge_sum(Wd, Ww["weight_z"], hw, biases["bias_z"]) + edge_sum(Ud, Uw["weight_z"], xu))
        rec = edge_sum(Wd, Ww["weight"], hw, biases["bias_hn"])
        cand = torch.tanh(edge_sum(Ud, Uw["weight"], xu, biases["bias"]) + r * rec)
        h = (1 - z) * cand + z * h
        outs.append(edge_sum(Vd, Vw["weight"], h[Vs], biases["c"]))
    out = torch.stack(outs)
    return ((out - torch.as_tensor(np.moveaxis(y, 2, 1))) ** 2).mean()


def torch_dense(unit: str, net, torch) -> tuple[Any, np.ndarray, np.ndarray]:
    """``torch.nn.GRU`` or ``torch.nn.LSTM`` (float64) holding the
    parameters of a fully connected `net` of `unit` neurons
    (``topologies.gru`` / ``topologies.lstm``), and its readout ``V``
    (n_outputs, n_neurons) and bias ``c``."""
    H, n_in = net.n_neurons, net.n_inputs
    gates = TORCH_GATES[unit]
    Module = torch.nn.GRU if unit == "gru" else torch.nn.LSTM
    rnn = Module(n_in, H, dtype=torch.float64)
    W_hh, W_ih = np.zeros((len(gates) * H, H)), np.zeros((len(gates) * H, n_in))
    b_ih, b_hh = np.zeros(len(gates) * H), np.zeros(len(gates) * H)
    for row, q in enumerate(gates):
        for code, target in ((0, W_hh), (1, W_ih)):
            sel = net.edge_kind == code
            target[row * H + net.edge_dst[sel], net.edge_src[sel]] = getattr(net, q)[sel]
        b_ih[row * H:(row + 1) * H] = getattr(net, "bias" + q[len("weight"):])[:H]
    if unit == "gru":
        b_hh[2 * H:] = net.bias_hn[:H]
    with torch.no_grad():
        for name, value in (("weight_ih_l0", W_ih), ("weight_hh_l0", W_hh), ("bias_ih_l0", b_ih),
                            ("bias_hh_l0", b_hh)):
            getattr(rnn, name).copy_(torch.tensor(value))
    sel = net.edge_kind == 3
    V = np.zeros((net.n_outputs, H))
    V[net.edge_dst[sel], net.edge_src[sel]] = net.weight[sel]
    return rnn, V, net.bias[H:]
