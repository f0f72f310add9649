"""Slow, obvious NumPy versions of the design's equations, read straight from
the graph with dense matrices. The library is checked against these; they
share no code with it."""

from __future__ import annotations

import networkx as nx
import numpy as np

ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": lambda a: np.exp(-np.logaddexp(0.0, -a)),  # 1 / (1 + e^-a) without overflow
    "hard_sigmoid": lambda a: np.clip(a / 6.0 + 0.5, 0.0, 1.0),
    "relu": lambda a: np.maximum(a, 0.0),
    "elu": lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0.0))),
    "softplus": lambda a: np.logaddexp(0.0, a),
    "identity": lambda a: a,
    "sign": np.sign,
}


class Dense:
    """The design's matrices for a graph: W, U, F, V, D, biases, activations."""

    def __init__(self, G: nx.DiGraph, inputs=None, outputs=None):
        if not G.is_directed():
            G = G.to_directed()
        role = nx.get_node_attributes(G, "role")
        self.inputs = list(inputs) if inputs is not None else [n for n in G if role.get(n) == "input"]
        self.outputs = list(outputs) if outputs is not None else [n for n in G if role.get(n) == "output"]
        io = set(self.inputs) | set(self.outputs)
        self.neurons = [n for n in G if n not in io]
        hid = {n: i for i, n in enumerate(self.neurons)}
        inp = {n: i for i, n in enumerate(self.inputs)}
        out = {n: i for i, n in enumerate(self.outputs)}
        N, I, O = len(hid), len(inp), len(out)
        self.W, self.U, self.F = np.zeros((N, N)), np.zeros((N, I)), np.zeros((N, O))
        self.V, self.D = np.zeros((O, N)), np.zeros((O, I))
        for u, v, w in G.edges(data="weight", default=1.0):
            if v in hid and u in hid:
                self.W[hid[v], hid[u]] = w
            elif v in hid and u in inp:
                self.U[hid[v], inp[u]] = w
            elif v in hid and u in out:
                self.F[hid[v], out[u]] = w
            elif v in out and u in hid:
                self.V[out[v], hid[u]] = w
            elif v in out and u in inp:
                self.D[out[v], inp[u]] = w
            else:
                raise AssertionError(f"edge {(u, v)} has no kind")
        nodes = G.nodes
        self.b = np.array([nodes[n].get("bias", 0.0) for n in self.neurons], dtype=float)
        self.c = np.array([nodes[n].get("bias", 0.0) for n in self.outputs], dtype=float)
        self.tau = np.array([nodes[n].get("tau", 1.0) for n in self.neurons], dtype=float)
        self.act_h = [nodes[n].get("activation", "tanh") for n in self.neurons]
        self.act_o = [nodes[n].get("activation", "identity") for n in self.outputs]

    def phi(self, a: np.ndarray) -> np.ndarray:
        """Hidden activations, neuron by neuron; `a` has neurons last."""
        return np.stack([ACTIVATIONS[f](a[..., i]) for i, f in enumerate(self.act_h)], axis=-1) \
            if self.act_h else a

    def g(self, a: np.ndarray) -> np.ndarray:
        """Output activations; `a` has outputs last."""
        return np.stack([ACTIVATIONS[f](a[..., o]) for o, f in enumerate(self.act_o)], axis=-1) \
            if self.act_o else a

    def drive(self, h, x, yhat):
        """a = W h + U x + F yhat + b, for states with neurons last."""
        return h @ self.W.T + x @ self.U.T + yhat @ self.F.T + self.b

    def readout(self, h, x):
        """y = g(V h + D x + c)."""
        return self.g(h @ self.V.T + x @ self.D.T + self.c)


def run_discrete(G, x, h0=None, inputs=None, outputs=None, teacher=None, y0=None):
    """Design section 3, one step at a time. `x` is (T, [B,] n_in); `y0`
    is the output fed back at step 0 (zeros: a run from rest)."""
    net = Dense(G, inputs, outputs)
    x = np.asarray(x, dtype=float)
    T = x.shape[0]
    batch_shape = x.shape[1:-1]
    h = np.zeros(batch_shape + (len(net.neurons),)) if h0 is None else np.asarray(h0, float) * np.ones(batch_shape + (1,))
    states, outs = [h], []
    yhat = np.zeros(batch_shape + (len(net.outputs),)) if y0 is None else np.array(y0, dtype=float)
    for t in range(T):
        h = net.phi(net.drive(h, x[t], yhat))
        y = net.readout(h, x[t])
        states.append(h)
        outs.append(y)
        yhat = y
        if teacher is not None:
            yhat = np.where(np.isnan(teacher[t]), y, teacher[t])
    return np.array(states), np.array(outs).reshape((T,) + batch_shape + (len(net.outputs),))


def run_async(G, x, h0, orders, inputs=None, outputs=None):
    """Asynchronous sweeps: neuron orders[t][r] updated in place at turn r."""
    net = Dense(G, inputs, outputs)
    x = np.asarray(x, dtype=float)
    h = np.array(h0, dtype=float)
    states, outs = [h.copy()], []
    yhat = np.zeros(h.shape[:-1] + (len(net.outputs),))
    for t in range(x.shape[0]):
        for i in orders[t]:
            a = net.drive(h, x[t], yhat)[..., i]
            h[..., i] = ACTIVATIONS[net.act_h[i]](a)
        y = net.readout(h, x[t])
        states.append(h.copy())
        outs.append(y)
        yhat = y
    return np.array(states), np.array(outs)


# ------------------------------------------------------------ continuous time
def rk4_step(f, h, dt):
    """One classical Runge-Kutta step of dh/dt = f(h)."""
    k1 = f(h)
    k2 = f(h + dt / 2 * k1)
    k3 = f(h + dt / 2 * k2)
    k4 = f(h + dt * k3)
    return h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def rhs(net: Dense, h, x):
    """tau dh/dt = -h + phi(W h + U x + F y + b), y = g(V h + D x + c)."""
    y = net.readout(h, x)
    return (net.phi(net.drive(h, x, y)) - h) / net.tau


def run_fixed_step(G, x, dt, method, h0=None, inputs=None, outputs=None):
    """Fixed-step integration with x[k] held on [k dt, (k+1) dt); outputs[k] = y((k+1) dt)."""
    net = Dense(G, inputs, outputs)
    x = np.asarray(x, dtype=float)
    h = np.zeros(x.shape[1:-1] + (len(net.neurons),)) if h0 is None else np.array(h0, dtype=float)
    states, outs = [h], []
    for xk in x:
        f = lambda s: rhs(net, s, xk)  # noqa: E731
        if method == "euler":
            h = h + dt * f(h)
        elif method == "exp_euler":
            decay = np.exp(-dt / net.tau)
            h = decay * h + (1 - decay) * (h + net.tau * f(h))
        elif method == "rk4":
            h = rk4_step(f, h, dt)
        else:
            raise AssertionError(method)
        states.append(h)
        outs.append(net.readout(h, xk))
    return np.array(states), np.array(outs).reshape((len(x),) + h.shape[:-1] + (len(net.outputs),))


def solve_dense(G, x_of_t, t_span, h0, t_eval, rtol=1e-12, atol=1e-12):
    """A tight DOP853 solution of the dense right-hand side (unbatched)."""
    from scipy.integrate import solve_ivp

    net = Dense(G)
    sol = solve_ivp(lambda t, h: rhs(net, h, x_of_t(t)), t_span, np.asarray(h0, float),
                    method="DOP853", t_eval=t_eval, rtol=rtol, atol=atol)
    assert sol.success, sol.message
    return sol.y.T


def solve_held(G, x, dt, h0=None, rtol=1e-12, atol=1e-14):
    """A tight DOP853 solution with x[k] held on [k dt, (k+1) dt), piece by
    piece; returns the outputs y((k+1) dt), shape (T, [batch,] n_outputs)."""
    from scipy.integrate import solve_ivp

    net = Dense(G)
    x = np.asarray(x, dtype=float)
    batched = x.ndim == 3 or (h0 is not None and np.ndim(h0) == 2)
    xb = x if x.ndim == 3 else x[:, None, :]
    batch = xb.shape[1] if x.ndim == 3 else (np.shape(h0)[0] if batched else 1)
    xb = np.broadcast_to(xb, (len(x), batch, xb.shape[2]))
    h = np.zeros((batch, len(net.neurons))) if h0 is None else np.broadcast_to(np.asarray(h0, float),
                                                                                (batch, len(net.neurons))).copy()
    outs = np.empty((len(x), batch, len(net.outputs)))
    for b in range(batch):
        hb = h[b]
        for k, xk in enumerate(xb[:, b]):
            sol = solve_ivp(lambda t, s: rhs(net, s, xk), (k * dt, (k + 1) * dt), hb, method="DOP853",
                            rtol=rtol, atol=atol)
            assert sol.success, sol.message
            hb = sol.y[:, -1]
            outs[k, b] = net.readout(hb, xk)
    return outs if batched else outs[:, 0]


# ------------------------------------------------------------------- losses
def mse(y, targets):
    """Mean squared error over the entries whose target is not NaN."""
    mask = ~np.isnan(targets)
    return float(np.mean((y[mask] - targets[mask]) ** 2)) if mask.any() else 0.0


def cross_entropy(y, classes):
    """Softmax over the last axis, mean NLL where class >= 0."""
    z = y - y.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    mask = classes >= 0
    picked = np.take_along_axis(logp, np.where(mask, classes, 0)[..., None], axis=-1)[..., 0]
    return float(-picked[mask].mean()) if mask.any() else 0.0


# ------------------------------------------------------- reservoir computing
def run_leaky_esn(G, x, leak, teacher=None, inputs=None, outputs=None):
    """The classic leaky-integrator ESN, ``h[t+1] = (1 - a) h[t] + a phi(W h[t]
    + U x[t] + F yhat[t] + b)``, with ``yhat[0] = 0`` and ``yhat[t] =
    teacher[t - 1]`` (zero without a teacher). Returns the states (T + 1, N)."""
    net = Dense(G, inputs, outputs)
    x = np.asarray(x, dtype=float)
    h = np.zeros(len(net.neurons))
    yhat = np.zeros(len(net.outputs))
    states = [h]
    for t in range(x.shape[0]):
        h = (1 - leak) * h + leak * net.phi(net.drive(h, x[t], yhat))
        states.append(h)
        if teacher is not None:
            yhat = np.asarray(teacher[t], dtype=float)
    return np.array(states)


def ridge_readout(features, z, ridge):
    """Weights and bias minimising ``|features w + c - z|^2 + ridge |w|^2``
    (the bias not penalised), by the normal equations."""
    A = np.hstack([features, np.ones((features.shape[0], 1))])
    penalty = np.diag([float(ridge)] * features.shape[1] + [0.0])
    sol = np.linalg.solve(A.T @ A + penalty, A.T @ z)
    return sol[:-1], sol[-1]


# ----------------------------------------------- gated units and delays
#: Default delay of an edge by the roles at its ends (design section 9).
DEFAULT_DELAY = {("input", "hidden"): 0, ("hidden", "hidden"): 1, ("output", "hidden"): 1,
                 ("hidden", "output"): 0, ("input", "output"): 0}
#: Each gated unit's gates; the first one's weight is the edge's plain `weight`.
GATES = {"rnn": ("a",), "gru": ("n", "r", "z"), "lstm": ("g", "i", "f", "o")}


def run_general(G, x, h0=None, c0=None, teacher=None, inputs=None, outputs=None):
    """Design sections 3, 8 and 9 together, one node at a time: plain, GRU
    and LSTM neurons, a delay on every edge, delay-0 paths evaluated in a
    topological order within the step.

    `x` is (T, [B,] n_in); `teacher` (T, [B,] n_out) replaces each fed-back
    output by its target where the target is not NaN. Returns ``states``
    (T+1, [B,] N), ``outputs`` (T, [B,] n_out), ``cells`` (T+1, [B,] n_lstm)
    (None without LSTM neurons) and ``gates``: name -> (T, [B,] N), NaN for
    neurons without that gate (the values after the sigmoid or phi).
    """
    G = G if G.is_directed() else G.to_directed()
    dense = Dense(G, inputs, outputs)
    ins, outs, hid = dense.inputs, dense.outputs, dense.neurons
    role = {n: "input" for n in ins} | {n: "output" for n in outs} | {n: "hidden" for n in hid}
    col = {n: k for k, n in enumerate(ins)} | {n: k for k, n in enumerate(outs)} | {n: k for k, n in enumerate(hid)}
    unit = {n: G.nodes[n].get("unit", "rnn") for n in hid}
    cells = [n for n in hid if unit[n] == "lstm"]
    cell_col = {n: k for k, n in enumerate(cells)}
    x = np.asarray(x, dtype=float)
    T, batch = x.shape[0], x.shape[1:-1]
    N = len(hid)

    def delay(u, v):
        return int(G.edges[u, v].get("delay", DEFAULT_DELAY[role[u], role[v]]))

    zero_delay = nx.DiGraph()
    zero_delay.add_nodes_from(hid + outs)
    zero_delay.add_edges_from((u, v) for u, v in G.edges if role[u] != "input" and delay(u, v) == 0)
    order = list(nx.topological_sort(zero_delay))  # raises on a cycle of delay-0 edges

    H = [np.zeros(batch + (N,)) if h0 is None else np.asarray(h0, float) * np.ones(batch + (N,))]
    C = [np.zeros(batch + (len(cells),)) if c0 is None else np.asarray(c0, float) * np.ones(batch + (len(cells),))]
    Y, fed = [], []
    gates = {q: np.full((T,) + batch + (N,), np.nan) for q in ("r", "z", "n", "i", "f", "g", "o")}

    def value(u, s):
        """What node u delivers at time s (before the start: h0, zero input, zero output)."""
        if role[u] == "input":
            return x[s][..., col[u]] if s >= 0 else np.zeros(batch)
        if role[u] == "output":
            return fed[s][..., col[u]] if s >= 0 else np.zeros(batch)
        return H[max(s, -1) + 1][..., col[u]]

    def sums(v, gate_names, u_filter=lambda u: True):
        """Each gate's sum over v's in-edges (those passing u_filter)."""
        total = {q: np.zeros(batch) for q in gate_names}
        for u in G.predecessors(v):
            if not u_filter(u):
                continue
            s = value(u, t - delay(u, v))
            for k, q in enumerate(gate_names):
                key = "weight" if k == 0 else f"weight_{q}"
                total[q] = total[q] + G.edges[u, v].get(key, 1.0 if k == 0 else 0.0) * s
        return total

    for t in range(T):
        H.append(H[t].copy())
        C.append(C[t].copy())
        Y.append(np.zeros(batch + (len(outs),)))
        fed.append(np.zeros(batch + (len(outs),)))
        for v in order:
            attrs = G.nodes[v]
            if role[v] == "output":
                y = ACTIVATIONS[attrs.get("activation", "identity")](sums(v, ("a",))["a"] + attrs.get("bias", 0.0))
                Y[t][..., col[v]] = y
                target = np.nan if teacher is None else np.asarray(teacher[t], float)[..., col[v]]
                fed[t][..., col[v]] = np.where(np.isnan(target), y, target)
                continue
            i, kind = col[v], unit[v]
            phi = ACTIVATIONS[attrs.get("activation", "tanh")]
            sig = ACTIVATIONS[attrs.get("gate_activation", "sigmoid")]
            A = sums(v, GATES[kind])
            if kind == "rnn":
                H[t + 1][..., i] = phi(A["a"] + attrs.get("bias", 0.0))
            elif kind == "gru":
                R_n = sums(v, ("n",), lambda u: role[u] == "hidden" and delay(u, v) >= 1)["n"]
                r = sig(A["r"] + attrs.get("bias_r", 0.0))
                z = sig(A["z"] + attrs.get("bias_z", 0.0))
                n = phi(A["n"] - R_n + attrs.get("bias", 0.0) + r * (R_n + attrs.get("bias_hn", 0.0)))
                H[t + 1][..., i] = (1 - z) * n + z * H[t][..., i]
                for q, val in (("r", r), ("z", z), ("n", n)):
                    gates[q][t][..., i] = val
            else:
                ig = sig(A["i"] + attrs.get("bias_i", 0.0))
                f = sig(A["f"] + attrs.get("bias_f", 0.0))
                o = sig(A["o"] + attrs.get("bias_o", 0.0))
                g = phi(A["g"] + attrs.get("bias", 0.0))
                k = cell_col[v]
                C[t + 1][..., k] = f * C[t][..., k] + ig * g
                H[t + 1][..., i] = o * phi(C[t + 1][..., k])
                for q, val in (("i", ig), ("f", f), ("g", g), ("o", o)):
                    gates[q][t][..., i] = val
    outputs_ = np.array(Y).reshape((T,) + batch + (len(outs),))
    return np.array(H), outputs_, (np.array(C) if cells else None), gates


def run_delays_windowed(G, x, truncate, h0=None, teacher=None, held=None):
    """Section 9 for plain neurons, with the reads across windows held: the
    steps fall in windows of `truncate` steps (step t in ``t // truncate``),
    and when `held` = (states, fed) of a run is given, every read of a value
    produced in an earlier window than the reader's (the state ``H[s]`` by
    step s - 1, h0 in window 0; the fed-back output of step s by step s)
    takes `held`'s value instead. Its loss's central differences are
    truncated BPTT's gradients.

    Returns ``states`` (T+1, [B,] N), ``outputs`` (T, [B,] n_out) and
    ``fed`` (T, [B,] n_out), what the feedback edges read.
    """
    dense = Dense(G)
    ins, outs, hid = dense.inputs, dense.outputs, dense.neurons
    role = {n: "input" for n in ins} | {n: "output" for n in outs} | {n: "hidden" for n in hid}
    col = {n: k for k, n in enumerate(ins)} | {n: k for k, n in enumerate(outs)} | {n: k for k, n in enumerate(hid)}
    x = np.asarray(x, dtype=float)
    T, batch = x.shape[0], x.shape[1:-1]
    N = len(hid)
    delay = {(u, v): int(d.get("delay", DEFAULT_DELAY[role[u], role[v]])) for u, v, d in G.edges(data=True)}
    same_step = nx.DiGraph([(u, v) for (u, v), d in delay.items() if role[u] != "input" and d == 0])
    same_step.add_nodes_from(hid + outs)
    order = list(nx.topological_sort(same_step))
    H = np.zeros((T + 1,) + batch + (N,))
    H[0] = 0.0 if h0 is None else h0
    Y = np.zeros((T,) + batch + (len(outs),))
    fed = np.zeros_like(Y)

    def held_back(produced, t):
        return held is not None and max(produced, 0) // truncate != t // truncate

    for t in range(T):
        for v in order:
            a = np.full(batch, float(G.nodes[v].get("bias", 0.0)))
            for u in G.predecessors(v):
                s = t - delay[u, v]
                w = G.edges[u, v].get("weight", 1.0)
                if role[u] == "input":
                    a = a + (w * x[s][..., col[u]] if s >= 0 else 0.0)
                elif role[u] == "output":
                    if s >= 0:
                        a = a + w * (held[1] if held_back(s, t) else fed)[s][..., col[u]]
                else:
                    r = max(s + 1, 0)
                    a = a + w * (held[0] if held_back(r - 1, t) else H)[r][..., col[u]]
            if role[v] == "output":
                Y[t][..., col[v]] = ACTIVATIONS[G.nodes[v].get("activation", "identity")](a)
                target = np.nan if teacher is None else np.asarray(teacher[t], float)[..., col[v]]
                fed[t][..., col[v]] = np.where(np.isnan(target), Y[t][..., col[v]], target)
            else:
                H[t + 1][..., col[v]] = ACTIVATIONS[G.nodes[v].get("activation", "tanh")](a)
    return H, Y, fed


# ------------------------------------------------------------ dynamics analysis
def step_map(net: Dense, x, yhat=None):
    """The discrete step h -> phi(W h + U x + F yhat + b) as a function of
    h; with `yhat` None the outputs of the same state are fed back (the map
    whose fixed points are the network's)."""
    if yhat is None:
        return lambda h: net.phi(net.drive(h, x, net.readout(h, x)))
    return lambda h: net.phi(net.drive(h, x, yhat(h)))


def jacobian_fd(f, h, eps=1e-6):
    """Dense Jacobian of `f` at `h` by central differences, column by column."""
    h = np.asarray(h, dtype=float)
    cols = []
    for j in range(h.size):
        e = np.zeros_like(h)
        e[j] = eps
        cols.append((f(h + e) - f(h - e)) / (2 * eps))
    return np.array(cols).T


def fixed_points_grid(G, n_grid=401, lim=1.0):
    """Fixed points of a network of two hidden neurons (no inputs): local
    minima of |F(h) - h| on a dense grid over [-lim, lim]^2, polished by
    Newton's method with a finite-difference Jacobian and deduplicated.
    Returns (points (K, 2) sorted by |h|, eigenvalues of the step's Jacobian
    (K, 2), the Jacobians (K, 2, 2))."""
    net = Dense(G)
    assert len(net.neurons) == 2 and not net.inputs
    F = step_map(net, np.zeros(0))
    g = np.linspace(-lim, lim, n_grid)
    H = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1)
    r = np.linalg.norm(F(H) - H, axis=-1)
    points = []
    for i in range(1, n_grid - 1):
        for j in range(1, n_grid - 1):
            if r[i, j] <= r[i - 1:i + 2, j - 1:j + 2].min():
                h = H[i, j].copy()
                for _ in range(50):
                    J = jacobian_fd(F, h) - np.eye(2)
                    h = h - np.linalg.solve(J, F(h) - h)
                if np.linalg.norm(F(h) - h) < 1e-12 and not any(np.abs(h - p).max() < 1e-8 for p in points):
                    points.append(h)
    points.sort(key=np.linalg.norm)
    jacs = np.array([jacobian_fd(F, p) for p in points])
    return np.array(points), np.array([np.linalg.eigvals(J) for J in jacs]), jacs


def lyapunov_dense(G, x, h0, k, seed, warmup, dt=None, method=None, inputs=None, outputs=None):
    """Lyapunov exponents by the QR method with dense Jacobians: each step's
    map differentiated by central differences, ``np.linalg.qr`` after every
    step, the tangents started as the Q of a standard normal (k, n).T drawn
    from `seed`. Returns the exponents, descending (per unit time with dt)."""
    net = Dense(G, inputs, outputs)
    x = np.asarray(x, dtype=float)
    n = len(net.neurons)
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((k, n)).T)[0]
    h = np.array(h0, dtype=float)
    logs = []
    for t, xt in enumerate(x):
        if dt is None:
            prev = x[t - 1] if t else None
            yhat = (lambda s, p=prev: net.readout(s, p)) if t else (lambda s: np.zeros(len(net.outputs)))
            step = step_map(net, xt, yhat)
        else:
            def f(s, xt=xt):
                return rhs(net, s, xt)

            def step(s, f=f):
                if method == "euler":
                    return s + dt * f(s)
                if method == "exp_euler":
                    d = np.exp(-dt / net.tau)
                    return d * s + (1 - d) * (s + net.tau * f(s))
                return rk4_step(f, s, dt)
        J = jacobian_fd(step, h)
        h = step(h)
        Q, R = np.linalg.qr(J @ Q)
        logs.append(np.log(np.abs(np.diag(R))))
    lam = np.mean(logs[warmup:], axis=0) / (1.0 if dt is None else dt)
    return np.sort(lam)[::-1]


def memory_capacity_lstsq(states, u, k_max, start):
    """Jaeger's r^2 by delay, one least-squares readout (with intercept) per
    delay k = 1..k_max, of ``u[t - k]`` from ``states[t]`` over t = start..T."""
    r2 = []
    t = np.arange(start, states.shape[0])
    A = np.column_stack([states[t], np.ones(t.size)])
    for k in range(1, k_max + 1):
        target = u[t - k]
        w = np.linalg.lstsq(A, target, rcond=None)[0]
        r2.append(np.corrcoef(A @ w, target)[0, 1] ** 2)
    return np.array(r2)


# ------------------------------------------------------------ GRU-ODE (continuous time, section 8)
def gru_parts(G, h, x, inputs=None, outputs=None):
    """Each neuron's target and rate at state `h` (n_neurons,) and input `x`
    (n_in,), one node and one in-edge at a time: ``dh_i/dt = rate_i (target_i
    - h_i)``, a GRU's ``(n, (1 - z) / tau)`` (z, n from h and x as in the
    discrete step), a plain neuron's ``(phi(a), 1 / tau)``; the outputs fed
    back are ``y = g(V h + D x + c)`` at `h`."""
    G = G if G.is_directed() else G.to_directed()
    dense = Dense(G, inputs, outputs)
    ins, outs, hid = dense.inputs, dense.outputs, dense.neurons
    h, x = np.asarray(h, float), np.asarray(x, float)
    y = dense.readout(h, x)
    deliver = {u: x[k] for k, u in enumerate(ins)} | {u: y[k] for k, u in enumerate(outs)} \
        | {u: h[k] for k, u in enumerate(hid)}
    target, rate = np.zeros(len(hid)), np.zeros(len(hid))
    for i, v in enumerate(hid):
        attrs = G.nodes[v]
        unit = attrs.get("unit", "rnn")
        if unit == "lstm":
            raise ValueError(f"node {v!r}: LSTM neurons are discrete-time only")
        phi = ACTIVATIONS[attrs.get("activation", "tanh")]
        sig = ACTIVATIONS[attrs.get("gate_activation", "sigmoid")]
        tau = attrs.get("tau", 1.0)
        a_in = a_rec = a_r = a_z = 0.0
        for u in G.predecessors(v):
            e, s = G.edges[u, v], deliver[u]
            if u in hid:
                a_rec += e.get("weight", 1.0) * s
            else:
                a_in += e.get("weight", 1.0) * s
            a_r += e.get("weight_r", 0.0) * s
            a_z += e.get("weight_z", 0.0) * s
        if unit == "gru":
            r = sig(a_r + attrs.get("bias_r", 0.0))
            z = sig(a_z + attrs.get("bias_z", 0.0))
            target[i] = phi(a_in + attrs.get("bias", 0.0) + r * (a_rec + attrs.get("bias_hn", 0.0)))
            rate[i] = (1.0 - z) / tau
        else:
            target[i] = phi(a_in + a_rec + attrs.get("bias", 0.0))
            rate[i] = 1.0 / tau
    return target, rate


def gru_rhs(G, h, x, inputs=None, outputs=None):
    """dh/dt of the GRU-ODE (plain neurons: ``(phi(a) - h) / tau``)."""
    target, rate = gru_parts(G, h, x, inputs, outputs)
    return rate * (target - np.asarray(h, float))


def run_gru_fixed_step(G, x, dt, method, h0=None, inputs=None, outputs=None):
    """Fixed-step GRU-ODE, unbatched: x[k] held on [k dt, (k+1) dt);
    exp_euler holds target and rate over the step. Returns states (T+1, N)
    and outputs (T, n_out), outputs[k] = y((k+1) dt)."""
    dense = Dense(G, inputs, outputs)
    x = np.asarray(x, dtype=float)
    h = np.zeros(len(dense.neurons)) if h0 is None else np.array(h0, dtype=float)
    states, outs = [h], []
    for xk in x:
        f = lambda s: gru_rhs(G, s, xk, inputs, outputs)  # noqa: E731
        if method == "euler":
            h = h + dt * f(h)
        elif method == "exp_euler":
            target, rate = gru_parts(G, h, xk, inputs, outputs)
            h = target + (h - target) * np.exp(-dt * rate)
        elif method == "rk4":
            h = rk4_step(f, h, dt)
        else:
            raise AssertionError(method)
        states.append(h)
        outs.append(dense.readout(h, xk))
    return np.array(states), np.array(outs).reshape((len(x), len(dense.outputs)))


def solve_gru_held(G, x, dt, h0=None, rtol=1e-13, atol=1e-13):
    """A tight DOP853 solution of `gru_rhs` with x[k] held on [k dt, (k+1) dt),
    restarted at each step: states at k dt, (T+1, N)."""
    from scipy.integrate import solve_ivp

    dense = Dense(G)
    h = np.zeros(len(dense.neurons)) if h0 is None else np.array(h0, dtype=float)
    states = [h]
    for xk in np.asarray(x, dtype=float):
        sol = solve_ivp(lambda t, s: gru_rhs(G, s, xk), (0.0, dt), h, method="DOP853", rtol=rtol, atol=atol)
        assert sol.success, sol.message
        h = sol.y[:, -1]
        states.append(h)
    return np.array(states)


def gated_step(G, h, c, x, yhat, inputs=None, outputs=None):
    """One discrete step of plain, GRU and LSTM neurons (design section 8,
    default delays), one node and one in-edge at a time, from the state `h`
    (n_neurons,), the LSTM cells `c` (n_lstm, in node order) and the input
    `x`, the outputs `yhat` fed back. Returns ``(h', c')``."""
    G = G if G.is_directed() else G.to_directed()
    dense = Dense(G, inputs, outputs)
    ins, outs, hid = dense.inputs, dense.outputs, dense.neurons
    deliver = {u: x[k] for k, u in enumerate(ins)} | {u: yhat[k] for k, u in enumerate(outs)} \
        | {u: h[k] for k, u in enumerate(hid)}
    cells = [v for v in hid if G.nodes[v].get("unit", "rnn") == "lstm"]
    h_new, c_new = np.zeros(len(hid)), np.array(c, dtype=float)
    for i, v in enumerate(hid):
        attrs = G.nodes[v]
        unit = attrs.get("unit", "rnn")
        phi = ACTIVATIONS[attrs.get("activation", "tanh")]
        sig = ACTIVATIONS[attrs.get("gate_activation", "sigmoid")]
        sums = {q: 0.0 for q in GATES[unit]}
        rec = 0.0
        for u in G.predecessors(v):
            e, s = G.edges[u, v], deliver[u]
            for k, q in enumerate(GATES[unit]):
                sums[q] += e.get("weight" if k == 0 else f"weight_{q}", 1.0 if k == 0 else 0.0) * s
            if u in hid:
                rec += e.get("weight", 1.0) * s
        if unit == "rnn":
            h_new[i] = phi(sums["a"] + attrs.get("bias", 0.0))
        elif unit == "gru":
            r = sig(sums["r"] + attrs.get("bias_r", 0.0))
            z = sig(sums["z"] + attrs.get("bias_z", 0.0))
            n = phi(sums["n"] - rec + attrs.get("bias", 0.0) + r * (rec + attrs.get("bias_hn", 0.0)))
            h_new[i] = (1 - z) * n + z * h[i]
        else:
            k = cells.index(v)
            ig, f, o = (sig(sums[q] + attrs.get(f"bias_{q}", 0.0)) for q in ("i", "f", "o"))
            c_new[k] = f * c[k] + ig * phi(sums["g"] + attrs.get("bias", 0.0))
            h_new[i] = o * phi(c_new[k])
    return h_new, c_new


def lyapunov_gated_dense(G, x, h0, c0, k, seed, warmup, dt=None, method=None):
    """`lyapunov_dense` for networks with gated neurons: the state (h, c)
    stacked, each step differentiated by central differences; discrete
    steps by `gated_step` (the outputs y[t-1] = g(V h[t] + D x[t-1] + c)
    fed back, none at the first step), continuous ones (GRU and plain
    neurons; "euler" or "rk4") by the fixed-step integrator of `gru_rhs`."""
    dense = Dense(G)
    x = np.asarray(x, dtype=float)
    n_h = len(dense.neurons)
    s = np.concatenate([np.asarray(h0, dtype=float), np.asarray(c0, dtype=float)])
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((k, s.size)).T)[0]
    logs = []
    for t, xt in enumerate(x):
        if dt is None:
            def step(s, xt=xt, t=t):
                h, c = s[:n_h], s[n_h:]
                yhat = dense.readout(h, x[t - 1]) if t else np.zeros(len(dense.outputs))
                return np.concatenate(gated_step(G, h, c, xt, yhat))
        else:
            def f(s, xt=xt):
                return gru_rhs(G, s, xt)

            def step(s, f=f):
                return s + dt * f(s) if method == "euler" else rk4_step(f, s, dt)
        J = jacobian_fd(step, s)
        s = step(s)
        Q, R = np.linalg.qr(J @ Q)
        logs.append(np.log(np.abs(np.diag(R))))
    lam = np.mean(logs[warmup:], axis=0) / (1.0 if dt is None else dt)
    return np.sort(lam)[::-1]
