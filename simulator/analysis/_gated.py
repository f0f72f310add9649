"""The step of a network with gated neurons (design section 8) and its
Jacobian, for the analyses (design section 10).

The state is ``s = (h, c)``: the neurons' states, then the LSTM neurons'
cell states (``net.cell_neurons`` order). The step holds the input at `x`
and feeds back the outputs of the same state, ``yhat = g(V h + D x + c_o)``
(a fixed point's own outputs), as the plain networks' `_model.Model` does.
Its Jacobian is assembled from the compiled kernel's entries
(`_kernels.gated_continuous.gated_step_jacobian_values`) on the network's
own sparsity pattern::

    J = [[A_h + F_h diag(g'(z)) V + diag(d_h),   E_hc   ],
         [A_c + F_c diag(g'(z)) V,               diag(f)]]

A network of GRU and plain neurons has ``dh/dt = (F(h) - h) / tau`` in
continuous time (the GRU-ODE: ``(1 - z)(n - h) = z h + (1 - z) n - h``),
so the analyses' continuous-time rule, ``diag(1/tau) (J - I)``, is its
exact Jacobian there too.
"""

from __future__ import annotations

import numpy as np

from .._kernels.forward import readout
from .._kernels.gated import run_gated
from .._kernels.gated_continuous import gated_step_jacobian_values
from ..units import GATE_NAMES, LSTM
from ._model import RANGES, Model

__all__ = ["GatedModel", "model_of"]


class GatedModel:
    """A gated network's step and its Jacobian over the state ``(h, c)``.

    Parameters
    ----------
    net : Network
        With gated neurons (refused before: delays).

    Attributes
    ----------
    n : int
        The size of the state, ``n_neurons + n_lstm``.
    n_in, n_out : int
    tau : ndarray, shape (n,)
        The neurons' time constants (ones on the cells: LSTM neurons are
        discrete-time only).
    """

    def __init__(self, net):
        import scipy.sparse as sp

        self.net, self.sp = net, sp
        self.n_h, self.n_c = net.n_neurons, len(net.cell_neurons)
        self.n, self.n_in, self.n_out = self.n_h + self.n_c, net.n_inputs, net.n_outputs
        self.tau = np.concatenate([np.asarray(net.tau, dtype=np.float64), np.ones(self.n_c)])
        self.w, self.g = net.wiring(), net.gates()
        self.dtype = net.dtype
        table = self.w.hidden
        n_slots = table.index.shape[0]
        counts = np.diff(table.ptr.astype(np.int64), axis=1)
        segment = np.repeat(np.tile(np.arange(3), self.n_h), counts.ravel()) if self.n_h else np.zeros(0, int)
        rows = np.repeat(np.arange(self.n_h), counts.sum(axis=1)) if self.n_h else np.zeros(0, int)
        hid, fed = segment == 0, segment == 2
        self._hid = (rows[hid], table.index[hid].astype(np.int64))
        self._fed = (rows[fed], table.index[fed].astype(np.int64))
        self._sel = hid, fed
        W, _, F, V, _ = net.layout.by_target
        self.V = sp.csr_matrix((net.weight[V.edge].astype(np.float64), V.indices.astype(np.int64),
                                V.indptr.astype(np.int64)), shape=(self.n_out, self.n_h))
        cells = np.asarray(self.g.cell)
        self._lstm = np.flatnonzero(np.asarray(net.unit_codes) == LSTM)
        self._cell_of = cells[self._lstm]
        self._vals = np.zeros((2, n_slots), dtype=self.dtype)
        self._diag = np.zeros(self.n_h, dtype=self.dtype)
        self._hc = np.zeros((2, self.n_c), dtype=self.dtype)
        self.act_h = tuple(net.activations[:self.n_h])

    # ------------------------------------------------------------ pieces
    def _split(self, s, x):
        s = np.asarray(s, dtype=self.dtype)
        h = np.ascontiguousarray(s[:self.n_h, None])
        c = np.ascontiguousarray(s[self.n_h:, None])
        return h, c, np.ascontiguousarray(np.asarray(x, dtype=self.dtype)[:, None])

    def outputs(self, h, x_out):
        """``g(V h + D x_out + c_o)`` (n_outputs, 1) for `h` (n_neurons, 1)."""
        y = np.empty((self.n_out, 1), dtype=self.dtype)
        readout(self.w, h, x_out, y)
        return y

    def step(self, s, x, yhat=None):
        """The state after one step from `s` (n,) with input `x` (n_inputs,),
        the outputs `yhat` (n_outputs, 1) fed back (default: those of `s`)."""
        h, c, xt = self._split(s, x)
        yhat = self.outputs(h, xt) if yhat is None else yhat
        states = np.empty((2, self.n_h, 1), dtype=self.dtype)
        cells = np.empty((2, self.n_c, 1), dtype=self.dtype)
        states[0], cells[0] = h, c
        outputs = np.empty((1, self.n_out, 1), dtype=self.dtype)
        run_gated(self.w, self.g, xt[None], states, cells, outputs, np.zeros((0, self.n_out, 1), self.dtype),
                  np.ascontiguousarray(yhat, dtype=self.dtype), np.empty((0, len(GATE_NAMES), self.n_h, 1),
                                                                         self.dtype))
        return np.concatenate([states[1, :, 0], cells[1, :, 0]]).astype(np.float64)

    def jacobian(self, s, x, x_out=None, fed_back=True):
        """The step's Jacobian ``d s' / d s`` (CSR, float64) at `s` with input
        `x`; the outputs fed back are ``g(V h + D x_out + c_o)`` (default
        ``x_out = x``), or zero when not `fed_back` (a run's first step)."""
        sp = self.sp
        h, c, xt = self._split(s, x)
        xo = xt if x_out is None else self._split(s, x_out)[2]
        yhat = self.outputs(h, xo) if fed_back else np.zeros((self.n_out, 1), dtype=self.dtype)
        s_o = np.zeros((self.n_out, 1), dtype=self.dtype)
        if fed_back and self.n_out:
            from .._kernels.continuous import output_slopes

            output_slopes(self.w, h, xo, np.empty_like(s_o), s_o)
        vals, diag, hc = self._vals, self._diag, self._hc
        gated_step_jacobian_values(self.w, self.g, h, c, xt, yhat, s_o, vals[0], vals[1], diag, hc[0], hc[1])
        n, nh = self.n, self.n_h
        hid, fed = self._sel
        v = vals.astype(np.float64)
        cell_row = np.full(nh, -1)
        cell_row[self._lstm] = nh + self._cell_of
        rows_h, cols_h = self._hid
        rows_f, outs = self._fed
        # each in-edge value lands on row i (h') and, for an LSTM target, on its cell's row (c')
        parts = [(v[0, hid], rows_h, cols_h)]
        lstm_h = cell_row[rows_h] >= 0
        parts.append((v[1, hid][lstm_h], cell_row[rows_h][lstm_h], cols_h[lstm_h]))
        J = sp.csr_matrix((np.concatenate([p[0] for p in parts]),
                           (np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]))),
                          shape=(n, n))
        if rows_f.size and self.V.nnz:
            lstm_f = cell_row[rows_f] >= 0
            Fm = sp.csr_matrix((np.concatenate([v[0, fed], v[1, fed][lstm_f]]),
                                (np.concatenate([rows_f, cell_row[rows_f][lstm_f]]),
                                 np.concatenate([outs, outs[lstm_f]]))), shape=(n, self.n_out))
            J = J + Fm @ sp.diags(s_o[:, 0].astype(np.float64)) @ sp.hstack(
                [self.V, sp.csr_matrix((self.n_out, self.n_c))])
        own = np.concatenate([diag.astype(np.float64), hc[1].astype(np.float64)])
        J = J + sp.diags(own)
        if self.n_c:
            J = J + sp.csr_matrix((hc[0, self._cell_of].astype(np.float64), (self._lstm, nh + self._cell_of)),
                                  shape=(n, n))
        return J.tocsr()

    # ------------------------------------------------ the analyses' interface
    def relax(self, s, x):
        """``(F(s), s, x)``: the step and what `step_jacobian` needs, in the
        shape of `_model.Model.relax` (whose slopes a gated step replaces by
        the state and the input themselves)."""
        return self.step(s, x), s, x

    def step_jacobian(self, s, x):
        """The Jacobian at state `s` and input `x` (`relax`'s second and third values)."""
        return self.jacobian(s, x)

    def starts(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """`count` states drawn uniformly over each neuron's activation range
        (each cell's over its neuron's)."""
        acts = self.act_h + tuple(self.act_h[i] for i in self._lstm[np.argsort(self._cell_of)])
        lo = np.array([RANGES[a][0] for a in acts])
        hi = np.array([RANGES[a][1] for a in acts])
        return lo + (hi - lo) * rng.random((count, self.n))


def model_of(net, continuous: bool) -> Model | GatedModel:
    """The analyses' view of `net`: `GatedModel` for a network with gated
    neurons (LSTM neurons refused by node in `continuous` time), else `Model`."""
    if not getattr(net, "gated", False):
        return Model(net)
    from ..delays import refuse_delays
    from ..simulate import refuse_gated

    refuse_delays(net, "dynamics analyses (fixed points, Lyapunov spectra)")
    refuse_gated(net, continuous=continuous)
    return GatedModel(net)


def gated_tangent_logs(model: GatedModel, states: np.ndarray, X: np.ndarray, dt: float | None, method: str | None,
                       Q: np.ndarray) -> np.ndarray:
    """``log |R_jj|`` of each step's re-orthonormalisation ``Q R = J Q`` along
    a run of a gated network (`simulator.analysis.lyapunov`): `states` (T+1,
    n) the stacked states ``(h, c)`` of the run, `X` (T, n_inputs) its
    inputs, `Q` (n, k) the tangents (updated in place). Discrete time: J is
    the step's Jacobian, the outputs ``y[t-1] = g(V h[t] + D x[t-1] + c)``
    fed back (none at the first step). Continuous time (GRU and plain
    neurons): the exact Jacobian of the fixed-step Runge-Kutta step (Euler
    or RK4, through its stages), from ``d(dh/dt)/dh = diag(1/tau) (J - I)``
    at each stage state."""
    import scipy.sparse as sp

    from ..methods import METHODS, RungeKutta

    n_steps, n = X.shape[0], model.n
    logs = np.empty((n_steps, Q.shape[1]))
    eye = sp.identity(n, format="csr")
    inv_tau = sp.diags(1.0 / model.tau)
    stepper = None if dt is None else METHODS[method]
    if stepper is not None and not isinstance(stepper, RungeKutta):
        raise ValueError(f"method={method!r}: Lyapunov exponents of networks with GRU neurons take the Runge-Kutta "
                         "methods ('euler', 'rk4'); exponential Euler's step is not differentiated here")
    for t in range(n_steps):
        s, x = states[t], X[t]
        if stepper is None:
            J = model.jacobian(s, x, x_out=X[t - 1] if t else None, fed_back=t > 0)
            Q[:] = J @ Q
        else:
            ys, dys, ks = [], [], []
            for a in stepper.a:
                y = s + dt * sum(a[j] * ks[j] for j in range(len(a)))
                dy = Q + dt * sum(a[j] * dys[j] for j in range(len(a)))
                ks.append((model.step(y, x) - y) / model.tau)
                dys.append(inv_tau @ ((model.jacobian(y, x) - eye) @ dy))
                ys.append(y)
            Q[:] = Q + dt * sum(bj * d for bj, d in zip(stepper.b, dys))
        Q[:], R = np.linalg.qr(Q)
        logs[t] = np.log(np.abs(np.diag(R)))
    return logs
