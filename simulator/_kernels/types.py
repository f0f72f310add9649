"""The array bundles kernels receive (namedtuples: Numba types them as tuples)."""

from __future__ import annotations

from collections import namedtuple

#: One block of the weight matrix in compressed-row form, rows = targets:
#: row ``i`` lists the presynaptic nodes ``indices[indptr[i]:indptr[i + 1]]``
#: of target ``i`` with weights ``data[...]`` (uint64 ``indptr``, uint32 ``indices``).
Sparse = namedtuple("Sparse", "indptr indices data")

#: Everything the forward pass needs: the five edge blocks (``W`` hidden->hidden,
#: ``U`` input->hidden, ``F`` output->hidden, ``V`` hidden->output, ``D``
#: input->output), activation codes and biases of hidden neurons (``act_h``,
#: ``bias_h``) and of outputs (``act_o``, ``bias_o``), and ``uniform_h``: the
#: code every hidden neuron shares, or -1 when they differ.
Wiring = namedtuple("Wiring", "W U F V D act_h act_o bias_h bias_o uniform_h")
