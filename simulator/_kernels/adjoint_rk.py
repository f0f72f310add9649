"""The adjoint's backward pass through an explicit Runge-Kutta method
(design section 11), compiled: `adjoint_attempt` is one attempted step of
the ``lambda`` system, every stage and the error norm in one call, as
`embedded.rk_attempt` is one forward step.

A stage needs the forward state ``h`` at its time: `dense_state` evaluates
the forward pass's dense output there from its packed steps (SciPy's
interpolants, see `dense_state`), and `lam_rates` gives ::

    d lambda/dt = lambda / tau - (dp/dh)^T (lambda / tau)

by the pull-back of `backward.relax_vjp` without its parameter part: no
edge's gradient is formed (the ``lambda`` right-hand side has no use for
them). The parameter quadratures are `quadrature_sums`: the integrand
``lambda^T df/dtheta`` at a step's Gauss-Legendre nodes, stacked on the
batch axis, the pre-activations gathered once for the slopes and the taus'
part together, and no ``ds`` (the quadratures have no use for it).

Each kernel takes the thread choice ``n_chunks`` (None: one thread, and the
threaded twins never compile), the neurons in chunks as `relax_vjp` splits
them, every sum in the one-thread order.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import CACHE
from .activations import activate_rows, slope
from .backward import in_edge_grads, output_grads
from .continuous import output_slopes
from .embedded import _next, _norm, combine, scaled_square_sum
from .forward import add_segment, chunk_bounds, poll, row_drive
from .types import HIDDEN, TO_OUTPUT


@njit(cache=CACHE, error_model="numpy")
def dense_state(ts, y_old, Q, dop853, t, out):
    """The forward dense output at time `t`, into `out`.

    Parameters
    ----------
    ts : ndarray, shape (n_steps + 1,)
        The forward steps' ends, ascending (SciPy's ``OdeSolution.ts``).
    y_old : ndarray, shape (n_steps, size)
        Each step's starting state.
    Q : ndarray, shape (n_steps, size, n_terms)
        Each step's interpolant: SciPy's ``RkDenseOutput.Q`` (RK23, RK45:
        ``y = y_old + h Q p``, ``p = (x, x^2, ...)``), or
        ``Dop853DenseOutput.F`` transposed (its nested form in ``x`` and
        ``1 - x``);
        ``x = (t - ts[s]) / h`` on step ``s``, ``h = ts[s + 1] - ts[s]``.
    dop853 : bool
        Which of the two forms `Q` holds.
    t : float
    out : ndarray, shape (size,)

    Notes
    -----
    The step is the one SciPy's ``OdeSolution`` picks (the earlier one at
    a step's end), so the values agree with SciPy's to rounding.
    """
    m = ts.shape[0] - 1
    s = min(max(np.searchsorted(ts, t) - 1, 0), m - 1)
    h = ts[s + 1] - ts[s]
    x = (t - ts[s]) / h
    n_terms = Q.shape[2]
    c = np.empty(n_terms)
    p = 1.0
    if dop853:  # F[r]'s factor: the product of x (even l) and 1 - x (odd l) over l = n_terms - 1 - r ... n_terms - 1
        for l in range(n_terms - 1, -1, -1):
            p *= x if l % 2 == 0 else 1.0 - x
            c[n_terms - 1 - l] = p
        scale = 1.0
    else:
        for j in range(n_terms):
            p *= x
            c[j] = p
        scale = h
    Qs, y0 = Q[s], y_old[s]
    for k in range(out.shape[0]):
        acc = 0.0
        for j in range(n_terms):
            acc += Qs[k, j] * c[j]
        out[k] = scale * acc + y0[k]


@njit(cache=CACHE, error_model="numpy")
def dense_states(ts, y_old, Q, dop853, times, out):
    """`dense_state` at each of `times`: ``out[:, j]`` (out: (size, len(times)))."""
    col = np.empty(out.shape[0])
    for j in range(times.shape[0]):
        dense_state(ts, y_old, Q, dop853, times[j], col)
        out[:, j] = col


@njit(cache=CACHE, error_model="numpy")
def _scaled_slopes_rows(ptr, index, weight, bias, codes, uniform,
                        inv_tau, h, xk, ys, lam,
                        cot, da,
                        lo, hi):
    """Neurons ``lo:hi``: ``cot = lambda / tau`` and ``da = phi'(a) cot``,
    ``phi(a)`` at state `h` by `forward.poll` (the forward's own pass)."""
    poll(ptr, index, weight, bias, codes, uniform, h, xk, ys, da, lo, hi)
    for i in range(np.uint64(lo), np.uint64(hi)):
        code = codes[i]
        r = inv_tau[i]
        for b in range(h.shape[1]):
            c = lam[i, b] * r
            cot[i, b] = c
            da[i, b] = slope(code, da[i, b]) * c


@njit(cache=CACHE, error_model="numpy")
def _rates_rows(out_ptr, out_index, out_weight,
                cot, da, dzs, feedback,
                out,
                lo, hi):
    """Neurons ``lo:hi``: ``out = cot - ds``, with ``ds = W^T da + V^T dz'``
    over their out-edges (`backward.vjp_rows`' ``ds``); without `feedback`
    edges ``dz' = 0`` and the out-edges into outputs are not read."""
    if not feedback:
        for j in range(np.uint64(lo), np.uint64(hi)):
            for b in range(cot.shape[1]):
                out[j, b] = cot[j, b] - add_segment(out_ptr, out_index, out_weight, j, HIDDEN, da, b, 0.0)
        return
    for j in range(np.uint64(lo), np.uint64(hi)):
        for b in range(cot.shape[1]):
            out[j, b] = cot[j, b] - (add_segment(out_ptr, out_index, out_weight, j, HIDDEN, da, b, 0.0)
                                     + add_segment(out_ptr, out_index, out_weight, j, TO_OUTPUT, dzs, b, 0.0))


@njit(cache=CACHE, error_model="numpy", parallel=True)
def _scaled_slopes_parallel(ptr, index, weight, bias, codes, uniform,
                            inv_tau, h, xk, ys, lam,
                            cot, da,
                            n_chunks):
    """`_scaled_slopes_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(h.shape[0], n_chunks, c)
        _scaled_slopes_rows(ptr, index, weight, bias, codes, uniform, inv_tau, h, xk, ys, lam, cot, da, lo, hi)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def _rates_parallel(out_ptr, out_index, out_weight,
                    cot, da, dzs, feedback,
                    out,
                    n_chunks):
    """`_rates_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(cot.shape[0], n_chunks, c)
        _rates_rows(out_ptr, out_index, out_weight, cot, da, dzs, feedback, out, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def fed_cotangents(wt, gs, da, dzs):
    """The outputs' cotangents ``dz' = g'(z') F^T da`` (n_outputs, batch)."""
    fed = wt.fed
    for o in range(dzs.shape[0]):
        for b in range(dzs.shape[1]):
            dzs[o, b] = gs[o, b] * add_segment(fed.ptr, fed.index, fed.weight, o, 0, da, b, 0.0)


@njit(cache=CACHE, error_model="numpy")
def lam_rates(w, wt, inv_tau, h, lam, xk, out, n_chunks):
    """Fill ``out = d lambda/dt = cot - (dp/dh)^T cot``, ``cot = lambda / tau``.

    Parameters
    ----------
    w : Wiring
    wt : Transposed
    inv_tau : ndarray, shape (n_neurons,)
    h : ndarray, shape (n_neurons, batch)
        The forward state.
    lam : ndarray, shape (n_neurons, batch)
        The adjoint state.
    xk : ndarray, shape (n_inputs, batch)
        The held input.
    out : ndarray, shape (n_neurons, batch)
    n_chunks : int or None
        Chunks of neurons spread over threads (None: one thread).

    Notes
    -----
    `backward.relax_vjp`'s ``ds`` with cotangent ``cot``, the same sums in
    the same order, without the parameter gradients.
    """
    n, nb = h.shape
    n_out = w.bias_o.shape[0]
    feedback = wt.fed.index.shape[0] > 0  # else the outputs are read by no neuron: dz' = 0
    ys = np.zeros((n_out, nb), dtype=h.dtype)
    gs = np.zeros((n_out, nb), dtype=h.dtype)
    if feedback:
        output_slopes(w, h, xk, ys, gs)
    cot = np.empty((n, nb), dtype=h.dtype)
    da = np.empty((n, nb), dtype=h.dtype)
    ptr, index, weight = w.hidden
    args = (ptr, index, weight, w.bias_h, w.act_h, w.uniform_h, inv_tau, h, xk, ys, lam, cot, da)
    if n_chunks is None:
        _scaled_slopes_rows(*args, 0, n)
    else:
        _scaled_slopes_parallel(*args, n_chunks)
    dzs = np.zeros((n_out, nb), dtype=h.dtype)
    if feedback:
        fed_cotangents(wt, gs, da, dzs)
    o = wt.hidden
    if n_chunks is None:
        _rates_rows(o.ptr, o.index, o.weight, cot, da, dzs, feedback, out, 0, n)
    else:
        _rates_parallel(o.ptr, o.index, o.weight, cot, da, dzs, feedback, out, n_chunks)


@njit(cache=CACHE, error_model="numpy")
def adjoint_attempt(w, wt, inv_tau,
                    A, B, E, E3, stage_times,
                    K, y, t, h,
                    ts, y_old, Q, dop853,
                    xk, hbuf, stage, y_new,
                    rtol, atol, err,
                    n_chunks):
    """Attempt one step of size `h` (negative: backwards) of the ``lambda``
    system from `t`; fill the stages and `y_new`, return the error norm
    SciPy's step control compares with 1 (as `embedded.rk_attempt`).

    Parameters
    ----------
    w, wt, inv_tau
        As in `lam_rates`.
    A, B, E, E3
        The method's tableau and error weights, as `embedded.rk_attempt`
        takes them.
    stage_times : ndarray, shape (n_stages + 1,)
        SciPy's ``C`` and 1: stage ``s`` is at ``t + stage_times[s] h``.
    K : ndarray, shape (n_stages + 1, n_neurons * batch)
        ``K[0]`` holds d lambda/dt at `t` on entry; filled with the stages
        and d lambda/dt at ``t + h``.
    y : ndarray, shape (n_neurons * batch,)
        ``lambda`` at `t`, neuron-major.
    t, h : float
    ts, y_old, Q, dop853
        The forward dense output over the piece, as `dense_state` takes it.
    xk : ndarray, shape (n_inputs, batch)
        The input, held over the piece.
    hbuf : ndarray, shape (n_neurons, batch)
        Scratch: the forward state at a stage.
    stage : ndarray, shape (2, n_neurons * batch)
        Scratch: the stages' states, alternating.
    y_new : ndarray, shape (n_neurons * batch,)
        The step's result.
    rtol, atol : ndarray, shape (n_neurons * batch,)
    err : ndarray, shape (2, n_neurons * batch)
        Scratch.
    n_chunks : int or None
        As in `lam_rates`.

    Returns
    -------
    float
        SciPy's error norm of the step.
    """
    n, nb = hbuf.shape
    size = y.shape[0]
    flat = hbuf.reshape(size)
    combine(y, K, A[1], 1, h, stage[1], 0, size)
    for s in range(1, B.shape[0]):
        dense_state(ts, y_old, Q, dop853, t + stage_times[s] * h, flat)
        lam_rates(w, wt, inv_tau, hbuf, stage[s % 2].reshape((n, nb)), xk, K[s].reshape((n, nb)), n_chunks)
        dst, coeffs = _next(s, A, B, stage, y_new)
        combine(y, K, coeffs, s + 1, h, dst, 0, size)
    dense_state(ts, y_old, Q, dop853, t + stage_times[-1] * h, flat)
    lam_rates(w, wt, inv_tau, hbuf, y_new.reshape((n, nb)), xk, K[-1].reshape((n, nb)), n_chunks)
    s5 = scaled_square_sum(K, E, y, y_new, rtol, atol, err[0], 0, size)
    s3 = scaled_square_sum(K, E3, y, y_new, rtol, atol, err[1], 0, size) if E3.shape[0] else 0.0
    return _norm(s5, s3, E3.shape[0] > 0, h, size)


@njit(cache=CACHE, error_model="numpy")
def _quadrature_rows(ptr, index, weight, bias, codes, uniform,
                     inv_tau, s, x, ys, lam,
                     da, g_tau,
                     lo, hi):
    """Neurons ``lo:hi``: from ``v = phi(a)`` at `s`, ``da = -phi'(a) lam
    / tau`` and ``g_tau += sum lam (v - s) / tau^2``. The pre-activations
    gather a column at a time (`forward.row_drive`, sums in registers: the
    batch loop of `forward.gather` keeps its few columns' sums in memory),
    the activations apply to the block at once (`activate_rows`)."""
    for i in range(np.uint64(lo), np.uint64(hi)):
        for b in range(s.shape[1]):
            da[i, b] = row_drive(ptr, index, weight, bias, i, s, x, ys, b)
    activate_rows(codes, uniform, da, lo, hi)
    zero = np.zeros(1, dtype=s.dtype)[0]
    for i in range(np.uint64(lo), np.uint64(hi)):
        code = codes[i]
        r = inv_tau[i]
        acc = zero
        for b in range(s.shape[1]):
            v = da[i, b]
            da[i, b] = -(slope(code, v) * (lam[i, b] * r))
            acc += lam[i, b] * ((v - s[i, b]) * r)
        g_tau[i] += acc * r


@njit(cache=CACHE, error_model="numpy")
def _quadrature_edges(ptr, index, da, s, x, ys, g_weight, g_bias, lo, hi):
    """Neurons ``lo:hi``: `backward.in_edge_grads` of one stacked pull-back."""
    no_steps = np.zeros((0, g_weight.shape[0]), dtype=g_weight.dtype)
    in_edge_grads(ptr, index, da, s, x, ys, g_weight, g_bias, no_steps, 0, np.uint64(lo), np.uint64(hi))


@njit(cache=CACHE, error_model="numpy", parallel=True)
def _quadrature_rows_parallel(ptr, index, weight, bias, codes, uniform,
                              inv_tau, s, x, ys, lam,
                              da, g_tau,
                              n_chunks):
    """`_quadrature_rows` over every neuron, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(s.shape[0], n_chunks, c)
        _quadrature_rows(ptr, index, weight, bias, codes, uniform, inv_tau, s, x, ys, lam, da, g_tau, lo, hi)


@njit(cache=CACHE, error_model="numpy", parallel=True)
def _quadrature_edges_parallel(ptr, index, da, s, x, ys, g_weight, g_bias, n_chunks):
    """`_quadrature_edges` over every neuron, in `n_chunks` chunks spread over threads."""
    for c in prange(n_chunks):
        lo, hi = chunk_bounds(s.shape[0], n_chunks, c)
        _quadrature_edges(ptr, index, da, s, x, ys, g_weight, g_bias, lo, hi)


@njit(cache=CACHE, error_model="numpy")
def quadrature_sums(w, wt, inv_tau,
                    H, L, weights, xk,
                    g_weight, g_bias, g_tau,
                    n_chunks):
    """Add ``sum_j weights[j] dG/dt(t_j)``, the quadratures' integrand
    ``dG/dt = -(df/dtheta)^T lambda`` at nodes ``t_j`` where the forward
    state is ``h_j`` and the adjoint ``lambda_j``: for the weights and
    biases ``-d(lambda_j^T f(h_j))/dtheta``, for the taus
    ``lambda_j (p(h_j) - h_j) / tau^2``.

    With ``a`` the pre-activations at ``h_j`` and ``da = -phi'(a)
    weights[j] lambda_j / tau``, the weights' and biases' terms are
    `backward.relax_vjp`'s products of ``da`` (``da h^T``, ``da x^T``,
    ``da y'^T``, ``da``, and through ``dz' = g'(z') F^T da`` the
    readout's), without its ``ds``.

    Parameters
    ----------
    w, wt, inv_tau
        As in `lam_rates`.
    H, L : ndarray, shape (n_neurons * batch, n_nodes)
        The forward and the adjoint state at the nodes, neuron-major.
    weights : ndarray, shape (n_nodes,)
    xk : ndarray, shape (n_inputs, batch)
        The input, held over the step.
    g_weight : ndarray, shape (n_edges,)
        Added to, in slot order.
    g_bias : ndarray, shape (n_neurons + n_outputs,)
        Added to.
    g_tau : ndarray, shape (n_neurons,)
        Added to.
    n_chunks : int or None
        As in `lam_rates`.

    Notes
    -----
    The nodes are stacked on the batch axis (column ``j * batch + b``) of
    one pass: the products are linear in the cotangent, which carries the
    weights.
    """
    n = inv_tau.shape[0]
    k = weights.shape[0]
    nb = xk.shape[1]
    cols = k * nb
    s = np.empty((n, cols), dtype=inv_tau.dtype)
    lam = np.empty((n, cols), dtype=inv_tau.dtype)
    for i in range(n):
        for j in range(k):
            for b in range(nb):
                s[i, j * nb + b] = H[i * nb + b, j]
                lam[i, j * nb + b] = L[i * nb + b, j] * weights[j]
    x = np.empty((xk.shape[0], cols), dtype=inv_tau.dtype)
    for q in range(xk.shape[0]):
        for j in range(k):
            for b in range(nb):
                x[q, j * nb + b] = xk[q, b]
    stacked_sums(w, wt, inv_tau, s, lam, x, g_weight, g_bias, g_tau, n_chunks)


@njit(cache=CACHE, error_model="numpy")
def stacked_sums(w, wt, inv_tau,
                 s, lam, x,
                 g_weight, g_bias, g_tau,
                 n_chunks):
    """`quadrature_sums` on nodes already stacked on the batch axis.

    Parameters
    ----------
    w, wt, inv_tau
        As in `lam_rates`.
    s, lam : ndarray, shape (n_neurons, n_nodes * batch)
        The forward states and the weighted adjoints, column ``j * batch + b``.
    x : ndarray, shape (n_inputs, n_nodes * batch)
        The input, one copy per node.
    g_weight, g_bias, g_tau, n_chunks
        As in `quadrature_sums`.
    """
    n, cols = s.shape
    n_out = w.bias_o.shape[0]
    feedback = wt.fed.index.shape[0] > 0  # else dz' = 0: the readout's terms vanish
    ys = np.zeros((n_out, cols), dtype=s.dtype)
    gs = np.zeros((n_out, cols), dtype=s.dtype)
    if feedback:
        output_slopes(w, s, x, ys, gs)
    da = np.empty((n, cols), dtype=s.dtype)
    ptr, index, weight = w.hidden
    if n_chunks is None:
        _quadrature_rows(ptr, index, weight, w.bias_h, w.act_h, w.uniform_h, inv_tau, s, x, ys, lam, da, g_tau, 0, n)
    else:
        _quadrature_rows_parallel(ptr, index, weight, w.bias_h, w.act_h, w.uniform_h, inv_tau, s, x, ys, lam, da, g_tau,
                                  n_chunks)
    if n_chunks is None:
        _quadrature_edges(ptr, index, da, s, x, ys, g_weight, g_bias, 0, n)
    else:
        _quadrature_edges_parallel(ptr, index, da, s, x, ys, g_weight, g_bias, n_chunks)
    if feedback:
        dzs = np.empty((n_out, cols), dtype=s.dtype)
        fed_cotangents(wt, gs, da, dzs)
        no_steps = np.zeros((0, g_weight.shape[0]), dtype=g_weight.dtype)
        output_grads(w, dzs, s, x, g_weight, g_bias, no_steps, 0)


@njit(cache=CACHE, error_model="numpy")
def step_quadrature(w, wt, inv_tau,
                    K, P, lam_old, t_old, h,
                    nodes, weights, per_call,
                    ts, y_old, Q, dop853,
                    xk,
                    g_weight, g_bias, g_tau,
                    n_chunks):
    """`stacked_sums` over one accepted backward step of RK23 or RK45,
    from ``t_old`` by `h` (negative), by Gauss-Legendre: ``int dG/dt dt``
    over it added to the gradients.

    Parameters
    ----------
    w, wt, inv_tau
        As in `lam_rates`.
    K : ndarray, shape (n_stages + 1, n_neurons * batch)
        The step's stages (SciPy's ``K``).
    P : ndarray, shape (n_stages + 1, order)
        The method's dense-output matrix: ``lambda`` at ``t_old + x h`` is
        ``lam_old + h sum_s K[s] sum_j P[s, j] x^(j + 1)`` (SciPy's
        ``RkDenseOutput``).
    lam_old : ndarray, shape (n_neurons * batch,)
        ``lambda`` at ``t_old``.
    t_old, h : float
    nodes, weights : ndarray, shape (n_nodes,)
        The rule on [0, 1].
    per_call : int
        The most nodes stacked into one `stacked_sums`.
    ts, y_old, Q, dop853
        The forward dense output, as `dense_state` takes it.
    xk : ndarray, shape (n_inputs, batch)
    g_weight, g_bias, g_tau, n_chunks
        As in `quadrature_sums`.
    """
    size = lam_old.shape[0]
    width = abs(h)
    lo = min(t_old, t_old + h)
    sign = 1.0 if h > 0 else -1.0
    n_terms = P.shape[1]
    n, nb = inv_tau.shape[0], xk.shape[1]
    for first in range(0, nodes.shape[0], per_call):
        k = min(nodes.shape[0], first + per_call) - first
        s = np.empty((n, k * nb))
        lam = np.empty((n, k * nb))
        x = np.empty((xk.shape[0], k * nb))
        col = np.empty(size)
        lam_t = np.empty(size)
        for j in range(k):
            t = lo + nodes[first + j] * width
            scale = sign * weights[first + j] * width
            dense_state(ts, y_old, Q, dop853, t, col)
            u = (t - t_old) / h
            for m in range(size):
                lam_t[m] = lam_old[m]
            for r in range(K.shape[0]):  # lambda(t) = lam_old + h sum_r K[r] sum_q P[r, q] u^(q + 1)
                p = 1.0
                acc = 0.0
                for q in range(n_terms):
                    p *= u
                    acc += P[r, q] * p
                acc *= h
                Kr = K[r]
                for m in range(size):
                    lam_t[m] += Kr[m] * acc
            for i in range(n):
                for b in range(nb):
                    m = i * nb + b
                    s[i, j * nb + b] = col[m]
                    lam[i, j * nb + b] = lam_t[m] * scale
            for q in range(xk.shape[0]):
                for b in range(nb):
                    x[q, j * nb + b] = xk[q, b]
        stacked_sums(w, wt, inv_tau, s, lam, x, g_weight, g_bias, g_tau, n_chunks)
