"""Derivatives of the GRU-ODE (design section 8) of networks of GRU and
plain neurons: the Jacobian of its right-hand side (`gated_jacobian_values`,
for `solve`'s implicit methods, `simulator.jacobian` and the analyses) and
backpropagation through its fixed-step runs (`bptt_gated_fixed_step`), the
forward step being `gated.gated_fixed_step`; and the Jacobian of a
discrete step of GRU, LSTM and plain neurons (`gated_step_jacobian_values`,
for the analyses); and the adjoint's products (`gated_rhs_vjp`, for the
gradients through the adaptive methods).

Neuron i relaxes towards a target ``p`` at the rate ``(1 - z) / tau``::

    tau dh/dt = (1 - z)(p - h)
    GRU:   r = sigma(A_r + b_r),  z = sigma(A_z + b_z),
           p = phi(I_n + b + r (R_n + b_hn))
    plain: p = phi(a),  z = 0

with the outputs fed back read at the same state. For a source s of an
in-edge slot k of neuron i (``s = h_j`` through a hidden -> hidden slot,
``s = y_o`` through a feedback slot), with ``rho = R_n + b_hn``::

    d(dh_i/dt)/ds = [(1 - z) phi'(p) (c_k w_k + rho sigma'(r) w_r,k)
                     - (p - h_i) sigma'(z) w_z,k] / tau
    d(dh_i/dt)/dh_i (direct) = -(1 - z) / tau

where ``c_k = r`` on hidden -> hidden slots and 1 on the others (a plain
neuron: ``phi'(a) w_k / tau`` and ``-1 / tau``). The feedback slots reach
the states through ``dy_o/dh = g'(z_o) V[o, :]``.

Backward through a step (`gated.gated_fixed_step`): stage s evaluates the
targets ``P[s]`` and gates ``Z[s]`` at its state ``y_s`` (``y_0 = h``), and
row ``s + 1`` of the Butcher table combines them::

    y_{s+1} = h + sum_{j <= s} rate a_{s+1, j} (1 - Z_j)(P_j - y_j)

so a cotangent ``c`` of ``y_{s+1}`` sends ``c`` to h, ``rate a (1 - Z_j)
c`` to ``P_j``, ``-rate a (P_j - y_j) c`` to ``Z_j``, ``-rate a (1 - Z_j)
c`` to ``y_j`` and ``a (1 - Z_j)(P_j - y_j) c`` to the rate (`pull_stage`);
exponential Euler, ``h' = e h + (1 - e) P_0`` with ``e = exp(-rate (1 -
Z_0))``, likewise. Each stage's ``P`` and ``Z`` cotangents then go back to
its state and the parameters (`gated_relax_vjp`) as in the discrete
`gated_backward.bptt_gated`::

    d_in = dP phi'(p),  d_rec = d_in r,  d_r = d_in rho sigma'(r),
    d_z = dZ sigma'(z)              (plain: d_in = d_rec = dP phi'(a))
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE
from .activations import activate, slope
from .backward import initial_grads, output_grads, step_output_grads
from .continuous import output_slopes
from .forward import add_segment, readout
from .gated import GRU, LSTM, gate_sums, gated_fixed_step, relax_parts
from .types import FED, HIDDEN, INPUT, TO_OUTPUT


@njit(cache=CACHE, error_model="numpy")
def gated_jacobian_values(w, g, inv_tau, h, xt, vals, diag, s_o):
    """The entries of the GRU-ODE's Jacobian at state `h` (module docstring).

    Parameters
    ----------
    w, g : Wiring, Gates
    inv_tau : ndarray, shape (n_neurons,)
    h : ndarray, shape (n_neurons, batch)
    xt : ndarray, shape (n_inputs, batch)
    vals : ndarray, shape (n_hidden_slots, batch)
        Filled on the hidden -> hidden and feedback slots of ``w.hidden``:
        ``d(dh_i/dt)/ds`` for the slot's source s (the input slots are not
        written).
    diag : ndarray, shape (n_neurons, batch)
        Filled: ``d(dh_i/dt)/dh_i`` through the neuron's own decay.
    s_o : ndarray, shape (n_outputs, batch)
        Filled: ``g'(z_o)``, the outputs' slopes at `h`.
    """
    ptr, index, weight = w.hidden
    gw, gb = g.weight, g.bias
    ybuf = np.empty_like(s_o)
    output_slopes(w, h, xt, ybuf, s_o)
    for i in range(h.shape[0]):
        unit, act, gact = g.unit[i], w.act_h[i], g.act[i]
        for b in range(h.shape[1]):
            inp, rec, s0, s1, s2 = gate_sums(ptr, index, weight, gw, i, h, xt, ybuf, b)
            p, z, r = relax_parts(unit, act, gact, w.bias_h[i], gb[0, i], gb[1, i], gb[2, i], inp, rec, s0, s1)
            q = (1.0 - z) * slope(act, p) * inv_tau[i]
            diag[i, b] = -(1.0 - z) * inv_tau[i]
            qr, e, own = 0.0, 0.0, 1.0
            if unit == GRU:
                qr = q * (rec + gb[2, i]) * slope(gact, r)
                e = -(p - h[i, b]) * slope(gact, z) * inv_tau[i]
                own = r
            for k in range(ptr[i, HIDDEN], ptr[i, HIDDEN + 1]):
                vals[k, b] = q * own * weight[k] + qr * gw[0, k] + e * gw[1, k]
            for k in range(ptr[i, FED], ptr[i, FED + 1]):
                vals[k, b] = q * weight[k] + qr * gw[0, k] + e * gw[1, k]


@njit(cache=CACHE, error_model="numpy")
def gated_relax_vjp(w, wt, g, s, xk, dP, dZ, ds, D,
                    g_weight, g_gate, g_bias, g_gbias, step_abs, k):
    """Pull the cotangents of one stage's targets and gates back to its
    state and to the parameters (module docstring).

    Parameters
    ----------
    w, wt, g : Wiring, Transposed, Gates
    s : ndarray, shape (n_neurons, batch)
        The stage's state; the outputs fed back are read at it.
    xk : ndarray, shape (n_inputs, batch)
    dP, dZ : ndarray, shape (n_neurons, batch)
        The cotangents of the targets p and the gates z.
    ds : ndarray, shape (n_neurons, batch)
        Filled: what p and z send back to `s` (through the hidden ->
        hidden edges and, through the outputs, the feedback edges).
    D : ndarray, shape (4, n_neurons, batch)
        Scratch: each neuron's d_in, d_rec, d_r, d_z.
    g_weight, g_bias, step_abs, k
        As in `gated_backward.bptt_gated`, and the step.
    g_gate : ndarray, shape (3, n_hidden_slots)
        Gate weights' gradients (rows r, z; row 2 unused by GRU neurons).
    g_gbias : ndarray, shape (3, n_neurons)
        Gate biases' gradients (rows b_r, b_z, b_hn).
    """
    n, nb = s.shape
    n_out = w.bias_o.shape[0]
    ptr, index, weight = w.hidden
    gw, gb = g.weight, g.bias
    ys = np.empty((n_out, nb), dtype=s.dtype)
    gs = np.empty((n_out, nb), dtype=s.dtype)
    output_slopes(w, s, xk, ys, gs)
    record = step_abs.shape[0] > 0
    for i in range(n):
        unit, act, gact = g.unit[i], w.act_h[i], g.act[i]
        for b in range(nb):
            inp, rec, s0, s1, s2 = gate_sums(ptr, index, weight, gw, i, s, xk, ys, b)
            p, z, r = relax_parts(unit, act, gact, w.bias_h[i], gb[0, i], gb[1, i], gb[2, i], inp, rec, s0, s1)
            d_in = dP[i, b] * slope(act, p)
            d_rec, d0, d1 = d_in, 0.0, 0.0
            if unit == GRU:
                d_rec = d_in * r
                d0 = d_in * (rec + gb[2, i]) * slope(gact, r)
                d1 = dZ[i, b] * slope(gact, z)
                g_gbias[0, i] += d0
                g_gbias[1, i] += d1
                g_gbias[2, i] += d_rec
            g_bias[i] += d_in
            D[0, i, b] = d_in
            D[1, i, b] = d_rec
            D[2, i, b] = d0
            D[3, i, b] = d1
            for q in range(ptr[i, HIDDEN], ptr[i, HIDDEN + 1]):
                v = s[index[q], b]
                g_weight[q] += d_rec * v
                g_gate[0, q] += d0 * v
                g_gate[1, q] += d1 * v
                if record:
                    step_abs[k, q] += d_rec * v
            for q in range(ptr[i, INPUT], ptr[i, INPUT + 1]):
                v = xk[index[q], b]
                g_weight[q] += d_in * v
                g_gate[0, q] += d0 * v
                g_gate[1, q] += d1 * v
                if record:
                    step_abs[k, q] += d_in * v
            for q in range(ptr[i, FED], ptr[i, FED + 1]):
                v = ys[index[q], b]
                g_weight[q] += d_in * v
                g_gate[0, q] += d0 * v
                g_gate[1, q] += d1 * v
                if record:
                    step_abs[k, q] += d_in * v
    out, fed = wt.hidden, wt.fed
    gow, gfw = g.weight_out, g.weight_fed
    dzs = np.empty((n_out, nb), dtype=s.dtype)
    for o in range(n_out):
        for b in range(nb):
            acc = 0.0
            for q in range(fed.ptr[o, 0], fed.ptr[o, 1]):
                i = fed.index[q]
                acc += fed.weight[q] * D[0, i, b] + gfw[0, q] * D[2, i, b] + gfw[1, q] * D[3, i, b]
            dzs[o, b] = gs[o, b] * acc
    for j in range(n):
        for b in range(nb):
            acc = add_segment(out.ptr, out.index, out.weight, j, TO_OUTPUT, dzs, b, 0.0)
            for q in range(out.ptr[j, HIDDEN], out.ptr[j, HIDDEN + 1]):
                i = out.index[q]
                acc += out.weight[q] * D[1, i, b] + gow[0, q] * D[2, i, b] + gow[1, q] * D[3, i, b]
            ds[j, b] = acc
    output_grads(w, dzs, s, xk, g_weight, g_bias, step_abs, k)


@njit(cache=CACHE, error_model="numpy")
def pull_stage(table, exponential, rate, row, cot, h, Y, P, Z, dh, DY, DP, DZ, g_rate):
    """Pull the cotangent `cot` of the state that row `row` of `table`
    combines (stage `row`'s state, or the step's result for the last row)
    back to ``h`` (`dh`), the earlier stage states (`DY`), targets (`DP`),
    gates (`DZ`) and the rates (`g_rate`, per neuron); module docstring.
    Arrays as in `gated.gated_fixed_step`."""
    for i in range(h.shape[0]):
        for b in range(h.shape[1]):
            c = cot[i, b]
            if exponential:
                e = math.exp(-rate[i] * (1.0 - Z[0, i, b]))
                dh[i, b] += e * c
                DP[0, i, b] += (1.0 - e) * c
                de = (h[i, b] - P[0, i, b]) * c
                DZ[0, i, b] += de * e * rate[i]
                g_rate[i] -= de * e * (1.0 - Z[0, i, b])
                continue
            dh[i, b] += c
            for j in range(row):
                a = table[row, j]
                yj = h[i, b] if j == 0 else Y[j - 1, i, b]
                open_, gap = 1.0 - Z[j, i, b], P[j, i, b] - yj
                cj = rate[i] * a * c
                DP[j, i, b] += cj * open_
                DZ[j, i, b] -= cj * gap
                if j == 0:
                    dh[i, b] -= cj * open_
                else:
                    DY[j - 1, i, b] -= cj * open_
                g_rate[i] += a * open_ * gap * c


@njit(cache=CACHE, error_model="numpy")
def bptt_gated_fixed_step(w, wt, g, table, exponential, rate,
                          x, states, outputs, gy_loss, truncate, offset,
                          carry,
                          g_weight, g_gate, g_bias, g_gbias, g_rate, g_h0, dh_norm, step_abs):
    """Gradients of a fixed-step run of GRU and plain neurons, through its
    stages (module docstring).

    Each step's stages are recomputed from the recorded state by
    `gated.gated_fixed_step`, the forward pass's own step. With ``d =
    dL/dh[k+1]`` (the outputs' part added by `backward.step_output_grads`),
    the result row of `table` sends ``d`` back (`pull_stage`); from the
    last stage to the first, `gated_relax_vjp` pulls the stage's target and
    gate cotangents back to its state, whose own row of `table` sends them
    on.

    Parameters
    ----------
    w, wt, g : Wiring, Transposed, Gates
    table, exponential, rate
        As in `gated.gated_fixed_step`.
    x, states, outputs, gy_loss, truncate, offset, g_weight, g_bias, g_h0, dh_norm, step_abs
        As in `backward.bptt_fixed_step`.
    carry : ndarray, shape (n_neurons, batch)
        In: ``dL/dh`` at the step after the last through the later steps
        (zeros for a whole run); out: ``dL/dh[0]``.
    g_gate, g_gbias
        As in `gated_relax_vjp`.
    g_rate : ndarray of float64, shape (n_neurons,)
        Gradients with respect to each neuron's ``rate = dt / tau``.
    """
    T, n, nb = x.shape[0], states.shape[1], states.shape[2]
    n_out = outputs.shape[1]
    n_stages = table.shape[1]
    dtype = states.dtype
    d = carry.copy()
    dh = np.empty((n, nb), dtype=dtype)
    dz = np.empty((n_out, nb), dtype=dtype)
    ds = np.empty((n, nb), dtype=dtype)
    ybuf = np.empty((n_out, nb), dtype=dtype)
    step = np.empty((n, nb), dtype=dtype)
    P = np.empty((n_stages, n, nb), dtype=dtype)
    Z = np.empty((n_stages, n, nb), dtype=dtype)
    Y = np.empty((n_stages - 1, n, nb), dtype=dtype)
    DP = np.empty((n_stages, n, nb), dtype=dtype)
    DZ = np.empty((n_stages, n, nb), dtype=dtype)
    DY = np.empty((n_stages - 1, n, nb), dtype=dtype)
    D = np.empty((4, n, nb), dtype=dtype)
    none = np.empty((0, 0, 0), dtype=dtype)
    for k in range(T - 1, -1, -1):
        h, xk = states[k], x[k]
        dh_norm[k + 1] = step_output_grads(w, wt, x, outputs, states, gy_loss, truncate, offset,
                                           dz, d, g_weight, g_bias, step_abs, k)
        gated_fixed_step(w, g, table, exponential, rate, h, xk, step, P, Z, Y, ybuf, none)
        dh[:, :] = 0.0
        DP[:, :, :] = 0.0
        DZ[:, :, :] = 0.0
        DY[:, :, :] = 0.0
        pull_stage(table, exponential, rate, n_stages, d, h, Y, P, Z, dh, DY, DP, DZ, g_rate)
        for s in range(n_stages - 1, -1, -1):
            gated_relax_vjp(w, wt, g, h if s == 0 else Y[s - 1], xk, DP[s], DZ[s], ds, D,
                            g_weight, g_gate, g_bias, g_gbias, step_abs, k)
            if s == 0:
                dh += ds
            else:
                DY[s - 1] += ds
                pull_stage(table, exponential, rate, s, DY[s - 1], h, Y, P, Z, dh, DY, DP, DZ, g_rate)
        d, dh = dh, d
    dh_norm[0] = initial_grads(d, g_h0)
    carry[:, :] = d


@njit(cache=CACHE, error_model="numpy")
def gated_step_jacobian_values(w, g, h, c, xt, yhat, s_o, vals_h, vals_c, diag_h, h_c, c_c):
    """The entries of the Jacobian of one discrete step of a network with
    gated neurons with respect to the state ``(h, c)``, one state (batch 1).

    Per in-edge slot k of neuron i from source s (``h_j``, or ``y_o``
    through a feedback slot), ``u_k = r`` on a GRU's hidden -> hidden slots
    and 1 elsewhere, ``rho = R_n + b_hn``::

        GRU:   dh'/ds = (1 - z) phi'(n) (u_k w_k + rho sigma'(r) w_r,k) + (h - n) sigma'(z) w_z,k
               dh'/dh_i (own state) = z
        LSTM:  dc'/ds = i phi'(g) w_k + g sigma'(i) w_i,k + c sigma'(f) w_f,k
               dh'/ds = sigma'(o) w_o,k phi(c') + o phi'(c') dc'/ds
               dc'/dc = f,  dh'/dc = o phi'(c') f
        plain: dh'/ds = phi'(a) w_k

    Parameters
    ----------
    w, g : Wiring, Gates
    h : ndarray, shape (n_neurons, 1)
    c : ndarray, shape (n_lstm, 1)
    xt : ndarray, shape (n_inputs, 1)
    yhat : ndarray, shape (n_outputs, 1)
        The outputs fed back into the step.
    s_o : ndarray, shape (n_outputs, 1)
        ``dyhat/dz`` for the outputs' drives ``z = V h + ...`` (zeros where
        the fed-back outputs do not depend on h).
    vals_h, vals_c : ndarray, shape (n_hidden_slots,)
        Filled on the hidden -> hidden and feedback slots: ``dh'_i/ds`` and
        (LSTM targets) ``dc'_i/ds``.
    diag_h : ndarray, shape (n_neurons,)
        Filled: ``dh'_i/dh_i`` through the neuron's own state.
    h_c, c_c : ndarray, shape (n_lstm,)
        Filled: ``dh'_i/dc_i`` and ``dc'_i/dc_i`` of each LSTM neuron.
    """
    ptr, index, weight = w.hidden
    gw, gb = g.weight, g.bias
    for i in range(h.shape[0]):
        unit, act, gact, ci = g.unit[i], w.act_h[i], g.act[i], g.cell[i]
        inp, rec, s0, s1, s2 = gate_sums(ptr, index, weight, gw, i, h, xt, yhat, 0)
        diag_h[i] = 0.0
        if unit == LSTM:
            ig = activate(gact, s0 + gb[0, i])
            fg = activate(gact, s1 + gb[1, i])
            og = activate(gact, s2 + gb[2, i])
            gg = activate(act, inp + rec + w.bias_h[i])
            tc = activate(act, fg * c[ci, 0] + ig * gg)
            dg, di, df = ig * slope(act, gg), gg * slope(gact, ig), c[ci, 0] * slope(gact, fg)
            do, dt = tc * slope(gact, og), og * slope(act, tc)
            for k in range(ptr[i, HIDDEN], ptr[i, FED + 1]):
                if k >= ptr[i, INPUT] and k < ptr[i, FED]:
                    continue
                a = dg * weight[k] + di * gw[0, k] + df * gw[1, k]
                vals_c[k] = a
                vals_h[k] = do * gw[2, k] + dt * a
            h_c[ci] = dt * fg
            c_c[ci] = fg
            continue
        p, z, r = relax_parts(unit, act, gact, w.bias_h[i], gb[0, i], gb[1, i], gb[2, i], inp, rec, s0, s1)
        q = (1.0 - z) * slope(act, p)
        qr, e, own = 0.0, 0.0, 1.0
        if unit == GRU:
            qr = q * (rec + gb[2, i]) * slope(gact, r)
            e = (h[i, 0] - p) * slope(gact, z)
            own = r
            diag_h[i] = z
        for k in range(ptr[i, HIDDEN], ptr[i, HIDDEN + 1]):
            vals_h[k] = q * own * weight[k] + qr * gw[0, k] + e * gw[1, k]
        for k in range(ptr[i, FED], ptr[i, FED + 1]):
            vals_h[k] = q * weight[k] + qr * gw[0, k] + e * gw[1, k]


@njit(cache=CACHE, error_model="numpy")
def gated_rhs_vjp(w, wt, g, inv_tau, h, xk, lam, out, f, dP, dZ, D,
                  g_weight, g_gate, g_bias, g_gbias, step_abs):
    """The adjoint's products for the GRU-ODE ``f(h) = (1 - z)(p - h) / tau``
    at state `h` (n_neurons, batch): ``out = (df/dh)^T lam``, ``f`` itself,
    and ``lam^T df/dtheta`` added to the parameter gradients (every weight,
    bias and gate parameter; `gated_relax_vjp` with the cotangents ``dP =
    lam (1 - z) / tau`` and ``dZ = -lam (p - h) / tau``, plus the own decay
    ``-lam (1 - z) / tau``). `dP`, `dZ` (n_neurons, batch) and `D` are
    scratch; the rest as in `gated_relax_vjp`."""
    ptr, index, weight = w.hidden
    gw, gb = g.weight, g.bias
    ybuf = np.empty((w.bias_o.shape[0], h.shape[1]), dtype=h.dtype)
    readout(w, h, xk, ybuf)
    for i in range(h.shape[0]):
        unit, act, gact = g.unit[i], w.act_h[i], g.act[i]
        for b in range(h.shape[1]):
            inp, rec, s0, s1, s2 = gate_sums(ptr, index, weight, gw, i, h, xk, ybuf, b)
            p, z, r = relax_parts(unit, act, gact, w.bias_h[i], gb[0, i], gb[1, i], gb[2, i], inp, rec, s0, s1)
            rate = (1.0 - z) * inv_tau[i]
            f[i, b] = rate * (p - h[i, b])
            dP[i, b] = lam[i, b] * rate
            dZ[i, b] = -lam[i, b] * (p - h[i, b]) * inv_tau[i]
    gated_relax_vjp(w, wt, g, h, xk, dP, dZ, out, D, g_weight, g_gate, g_bias, g_gbias, step_abs, 0)
    for i in range(h.shape[0]):
        for b in range(h.shape[1]):
            out[i, b] -= dP[i, b]
