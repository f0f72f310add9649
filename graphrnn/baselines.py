"""What a user would write without graphrnn: the baselines the benchmarks time.

* `scipy_loop`: the discrete-time loop over a ``scipy.sparse`` CSR matrix,
  every state into a preallocated history;
* `torch_sparse` / `torch_loss`: the same sparse graph in PyTorch (gather,
  multiply, ``index_add``), differentiated by autograd;
* `torch_csr` / `torch_csr_loop`: the discrete-time loop over a
  ``torch.sparse`` CSR matrix (``torch.sparse.mm``, MKL where torch has it),
  every state into a preallocated history;
* `random_csr`: a random fixed-in-degree wiring as a CSR matrix.

torch is never a dependency: the torch functions take the module as an
argument, and the callers import it only when it is installed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["random_csr", "scipy_loop", "torch_sparse", "torch_loss", "torch_csr", "torch_csr_loop"]


def random_csr(n: int, k: int, seed: int = 0, dtype: Any = np.float64) -> sp.csr_array:
    """An (n, n) CSR matrix with `k` distinct sorted sources per row.

    Row ``i`` draws one source in each of `k` equal stripes of ``0 .. n-1``
    (so ``k <= n``), weights normal with standard deviation ``1.5 / sqrt(k)``
    so the dynamics neither die out nor saturate.

    Examples
    --------
    >>> W = random_csr(6, 3)
    >>> W.shape, W.nnz, bool(W.has_canonical_format)
    ((6, 6), 18, True)
    """
    if not 1 <= k <= n:
        raise ValueError(f"in-degree k={k} must be in 1..n={n}")
    rng = np.random.default_rng(seed)
    stripe = n // k
    indices = np.empty(n * k, dtype=np.int32)
    data = np.empty(n * k, dtype=dtype)
    rows = max(1, 1_000_000 // k)
    for start in range(0, n, rows):  # in slices, to keep the temporaries small
        stop = min(n, start + rows)
        offs = rng.integers(0, stripe, size=(stop - start, k), dtype=np.int32)
        offs += np.arange(k, dtype=np.int32) * stripe
        indices[start * k: stop * k] = offs.ravel()
        data[start * k: stop * k] = rng.standard_normal((stop - start) * k) * (1.5 / np.sqrt(k))
    indptr = np.arange(n + 1, dtype=np.int64) * k
    return sp.csr_array((data, indices, indptr), shape=(n, n))


def scipy_loop(W, U, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The user's loop: ``h[t+1] = tanh(W h[t] + U x[t] + b)``, every state kept.

    ``x`` of shape (T, n_in) gives H (T + 1, N); (T, B, n_in) gives (T + 1, N, B).
    """
    T, N = x.shape[0], W.shape[0]
    if x.ndim == 2:
        H = np.empty((T + 1, N), dtype=W.dtype)
        H[0] = 0
        for t in range(T):
            np.tanh(W @ H[t] + U @ x[t] + b, out=H[t + 1])
    else:
        H = np.empty((T + 1, N, x.shape[1]), dtype=W.dtype)
        H[0] = 0
        bb = b[:, None]
        for t in range(T):
            np.tanh(W @ H[t] + U @ x[t].T + bb, out=H[t + 1])
    return H


def torch_sparse(net, torch) -> tuple[dict, Any, Any]:
    """A network as PyTorch tensors: per kind (src, dst, weight), weights and
    biases as float64 leaves."""
    kinds = {}
    for code, name in enumerate("WUFVD"):
        sel = net.edge_kind == code
        kinds[name] = (torch.as_tensor(net.edge_src[sel].astype(np.int64)),
                       torch.as_tensor(net.edge_dst[sel].astype(np.int64)),
                       torch.tensor(net.weight[sel], dtype=torch.float64, requires_grad=True))
    n = net.n_neurons
    b = torch.tensor(net.bias[:n], dtype=torch.float64, requires_grad=True)
    c = torch.tensor(net.bias[n:], dtype=torch.float64, requires_grad=True)
    return kinds, b, c


def torch_loss(net, kinds: dict, b, c, x: np.ndarray, y: np.ndarray, torch):
    """MSE of a tanh network with a linear readout, written for autograd:
    per step gather, multiply and ``index_add``. ``x`` (T, n_in) and ``y``
    (T, n_out), or batched (T, B, n_in) and (T, B, n_out): the states are
    then (N, B), each edge's weight scaling a row of the batch."""
    batched = x.ndim == 3
    shape = (net.n_neurons, x.shape[1]) if batched else (net.n_neurons,)
    h = torch.zeros(shape, dtype=torch.float64)
    xs = torch.as_tensor(x.transpose(0, 2, 1) if batched else x)
    outs = []
    Ws, Wd, Ww = kinds["W"]
    Us, Ud, Uw = kinds["U"]
    Vs, Vd, Vw = kinds["V"]
    if batched:
        Ww, Uw, Vw, b, c = Ww[:, None], Uw[:, None], Vw[:, None], b[:, None], c[:, None]
    for t in range(xs.shape[0]):
        a = b.expand(shape).clone()
        a = a.index_add(0, Wd, Ww * h[Ws])
        a = a.index_add(0, Ud, Uw * xs[t][Us])
        h = torch.tanh(a)
        outs.append(c.expand(c.shape[0], *shape[1:]).index_add(0, Vd, Vw * h[Vs]))
    out = torch.stack(outs)
    return ((out - torch.as_tensor(y.transpose(0, 2, 1) if batched else y)) ** 2).mean()


def torch_csr(W, torch):
    """A ``scipy.sparse`` CSR matrix as a ``torch.sparse_csr_tensor`` of the
    same dtype (int64 indices)."""
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.as_tensor(W.indptr.astype(np.int64)),
                                       torch.as_tensor(W.indices.astype(np.int64)),
                                       torch.as_tensor(W.data), size=W.shape)


def torch_csr_loop(W, U, b, x, torch):
    """`scipy_loop` in PyTorch, batched: per step ``torch.sparse.mm(W, h)``
    (`W` from `torch_csr`) plus ``U x[t] + b``, then ``tanh`` into the history.

    ``x`` (T, B, n_in) tensor, `U` (N, n_in) and `b` (N,) tensors of W's
    dtype; returns H (T + 1, N, B), the layout of graphrnn's kernels.
    """
    T, B = x.shape[0], x.shape[1]
    H = torch.empty((T + 1, W.shape[0], B), dtype=U.dtype)
    H[0] = 0
    bb = b[:, None]
    with torch.no_grad():
        for t in range(T):
            torch.tanh(torch.sparse.mm(W, H[t]) + U @ x[t].T + bb, out=H[t + 1])
    return H
