"""`Gradients`, what `bptt` returns, and the one definition of gradient
clipping that `bptt`, `train` and the adjoint share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .units import GATE_PARAMETERS

__all__ = ["Gradients", "check_clip", "trained_norm", "clip_norm"]


@dataclass(frozen=True, eq=False)
class Gradients:
    """Gradients of the loss, aligned like the network's parameters.

    Attributes
    ----------
    weight : ndarray, shape (n_edges,)
        Aligned with ``net.edges``.
    bias : ndarray, shape (n_neurons + n_outputs,)
    tau : ndarray, shape (n_neurons,)
        Continuous time; zero in discrete time (tau plays no part there).
    h0 : ndarray, shape (n_neurons,) or (batch, n_neurons)
        Shaped like the `h0` given: a state shared by a batch gets the sum
        of the batch's gradients; without `h0`, one row per batch element
        of a batched run.
    diagnostics : dict
        With ``return_diagnostics=True``: ``"dh_norm"``, the norm of
        ``dL/dh[t]`` for t = 0 .. n_steps (vanishing and exploding gradients),
        and ``"edge_grad"`` (n_steps, n_edges), the magnitude of each edge's
        gradient contribution at each step.
    info : dict
        An adaptive method's adjoint (`simulator.adjoint`): ``"forward"`` and
        ``"backward"``, SciPy's evaluation counts (``nfev``, ``njev``,
        ``nlu``) of each pass, ``"forward_steps"`` and
        ``"dense_output_bytes"`` (what the backward pass keeps of the
        forward one), the Jacobian's form and the tolerances. Empty otherwise.
    """

    weight: np.ndarray
    bias: np.ndarray
    tau: np.ndarray
    h0: np.ndarray
    diagnostics: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    c0: np.ndarray | None = None
    weight_r: np.ndarray | None = None
    weight_z: np.ndarray | None = None
    weight_i: np.ndarray | None = None
    weight_f: np.ndarray | None = None
    weight_o: np.ndarray | None = None
    bias_r: np.ndarray | None = None
    bias_z: np.ndarray | None = None
    bias_hn: np.ndarray | None = None
    bias_i: np.ndarray | None = None
    bias_f: np.ndarray | None = None
    bias_o: np.ndarray | None = None

    def gates(self) -> dict[str, np.ndarray]:
        """The gate parameters' gradients there are (name -> array)."""
        return {k: getattr(self, k) for k in GATE_PARAMETERS if getattr(self, k) is not None}

    def norm(self) -> float:
        """The global L2 norm over every gradient array (scaled by the largest
        entry, so huge finite gradients do not overflow; inf or NaN when an
        entry is)."""
        arrays = (self.weight, self.bias, self.tau, self.h0, *([] if self.c0 is None else [self.c0]),
                  *self.gates().values())
        parts = [np.abs(np.asarray(a, dtype=np.float64)).ravel() for a in arrays]
        big = max((float(p.max()) for p in parts if p.size), default=0.0)
        if big == 0.0 or not np.isfinite(big):
            return big
        return big * float(np.sqrt(sum(float(np.sum(np.square(p / big))) for p in parts)))


def check_clip(clip: float | None) -> None:
    """Refuse a `clip` that is not a positive number (None: no clipping)."""
    if clip is not None and not (np.isscalar(clip) and np.isfinite(clip) and clip > 0):
        raise ValueError(f"`clip` must be a positive number, got {clip!r}")


def trained_norm(grads: Gradients, masks: Mapping[str, np.ndarray]) -> float:
    """The global L2 norm of the gradients of what trains: the entries of
    ``weight``, ``bias`` and ``tau`` that `masks` selects (never ``h0``, which
    does not train). The norm `clip_norm` clips, in `bptt` and `train` alike."""
    return Gradients(grads.weight[masks["weight"]], grads.bias[masks["bias"]], grads.tau[masks["tau"]],
                     grads.h0[:0], **{k: g[masks[k]] for k, g in grads.gates().items() if k in masks}).norm()


def clip_norm(grads: Gradients, clip: float | None, masks: Mapping[str, np.ndarray],
              norm: float | None = None) -> Gradients:
    """The gradient clipping of `bptt` and `train`, as
    ``torch.nn.utils.clip_grad_norm_`` over the trainable parameters: when
    `trained_norm` (`norm`, when already known) exceeds `clip`, the
    gradients of what trains are scaled by ``clip / norm``; those of frozen
    parameters and of ``h0`` are returned as they are (``clip=None``: all
    of them)."""
    if clip is None:
        return grads
    norm = trained_norm(grads, masks) if norm is None else norm
    if norm <= clip:
        return grads
    scale = clip / norm
    weight, bias, tau = (np.where(masks[kind], g * scale, g).astype(g.dtype, copy=False)
                         for kind, g in (("weight", grads.weight), ("bias", grads.bias), ("tau", grads.tau)))
    gates = {k: np.where(masks[k], g * scale, g).astype(g.dtype, copy=False) if k in masks else g
             for k, g in grads.gates().items()}
    return Gradients(weight, bias, tau, grads.h0, grads.diagnostics, grads.info, c0=grads.c0, **gates)
