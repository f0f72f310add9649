"""The delayed kernels at a batch of 1 through the interleaved tables
(`delayed.hidden_sums`, `delayed_single.back_neurons_lanes`): the same
values, bit for bit, as the same kernels row by row, whatever the delays,
padding, segments, threads and history base; and the runs and gradients
against the reference and central differences."""

import networkx as nx
import numpy as np
import pytest

import simulator as sim
from simulator._kernels.delayed import (consecutive_levels, run_delayed_parallel, run_delayed_serial, run_offsets,
                                       serial_steps, shifts_start)
from tests.reference import run_general

from .test_interleave import _run_arrays, _without_lanes
from .test_lanes import _sparse_graph


def _delayed(n, seed, same_step=False):
    """`_sparse_graph(n)` with delays: hidden -> hidden 1..4, inputs 0..2,
    the feedback 1..3, the outputs' in-edges 0..2; with `same_step`, a
    delay-0 edge into each neuron from 3 on from one of 0, 1, 2, and the
    outputs' in-edges delayed 1 (the second level is the neurons from 3
    on, in order: its chunks start inside one)."""
    G = _sparse_graph(n, seed=seed)
    rng = np.random.default_rng(seed)
    for u, v, d in G.edges(data=True):
        kind = (G.nodes[u].get("role"), G.nodes[v].get("role"))
        d["delay"] = int(rng.integers(*{(None, None): (1, 5), ("input", None): (0, 3),
                                        ("output", None): (1, 4)}.get(kind, (0, 3))))
        if same_step and kind == (None, "output"):
            d["delay"] = 1
    if same_step:
        for v in range(3, n):
            G.add_edge(v % 3, v, weight=0.4, delay=0)
    return G


def _forward(net, w, x, teacher, n_chunks, segments, serial=run_delayed_serial):
    """The delayed forward kernel at a batch of 1 over `segments` (the
    later ones from a history starting past 0, as recomputed checkpoint
    segments run), from a random h0; the states, outputs and fed values
    (`serial`: the one-thread kernel)."""
    xk, states, outputs, forced = _run_arrays(net, x, teacher, np.random.default_rng(4))
    fed = np.zeros_like(outputs) if teacher else outputs
    depth = int(net.delay.max())
    for start, stop in segments:
        base = max(0, start + 1 - depth)
        part = np.ascontiguousarray(states[base:])
        offsets = run_offsets(w, net.schedule(), net.n_neurons, net.n_inputs, net.n_outputs)
        args = (w, net.schedule(), offsets, xk, part, base, outputs, fed, forced, start, stop)
        assert (run_delayed_parallel(*args, n_chunks) if n_chunks else serial(*args)) == -1
        states[base:] = part
    return states, outputs, fed


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n, same_step", [(37, False), (40, True), (5, False)])
@pytest.mark.parametrize("teacher, n_chunks, segments", [
    (False, None, [(0, 14)]), (True, None, [(0, 5), (5, 9), (9, 14)]), (False, 3, [(0, 14)]),
    (True, 2, [(0, 6), (6, 14)])])
def test_interleaved_delayed_forward_gives_the_row_by_row_bits(dtype, n, same_step, teacher, n_chunks, segments):
    """Rows padded in every segment, rows past the last whole chunk (37),
    a level of neurons from 3 on (delay-0 edges from 0, 1 and 2), fewer
    neurons than a chunk (6), threads, teacher forcing and segments from a
    later history base: every value to the bit."""
    net = sim.compile(_delayed(n, seed=n, same_step=same_step), dtype=dtype)
    w = net.wiring()
    assert w.hidden_lanes.start.shape[0] == net.n_neurons // 8
    assert np.unique(net.delay[net.edge_kind == 0]).size == (5 if same_step else 4)
    sched = net.schedule()
    assert consecutive_levels(sched.order, sched.level_ptr, net.n_neurons).max() == (3 if same_step else 0)
    x = np.random.default_rng(n).normal(size=(14, 2))
    lanes = _forward(net, w, x, teacher, n_chunks, segments)
    rows = _forward(net, _without_lanes(w), x, teacher, n_chunks, segments)
    assert np.count_nonzero(lanes[0][-1]) >= n - 1
    for got, expected in zip(lanes, rows):
        np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize("teacher", [False, True])
@pytest.mark.parametrize("n_chunks, segments", [(None, [(0, 14)]), (None, [(0, 1), (1, 3), (3, 14)]),
                                                (3, [(0, 2), (2, 14)])])
def test_the_first_steps_on_a_shifted_history_give_the_checked_reads_values(teacher, n_chunks, segments):
    """At a batch of 1 the steps that read before the start (here the
    first three) run on a copy of the history shifted by three steps, h0
    and zeros written before it, through the direct reads: the values the
    checked reads give (the sums associate differently: to rounding), in
    segments that start among those steps, on threads, with teacher
    forcing; at a batch of 3, and from the first direct step on, nothing
    is shifted."""
    net = sim.compile(_delayed(37, seed=5))
    w, sched = net.wiring(), net.schedule()
    first_direct = run_offsets(w, sched, net.n_neurons, net.n_inputs, net.n_outputs)[2]
    assert first_direct == 3
    one, three = np.zeros((15, net.n_neurons, 1)), np.zeros((15, net.n_neurons, 3))
    assert shifts_start(first_direct, one, 2) and not shifts_start(first_direct, one, 3)
    assert not shifts_start(first_direct, three, 0)
    x = np.random.default_rng(2).normal(size=(14, 2))
    shifted = _forward(net, w, x, teacher, n_chunks, segments)
    checked = _forward(net, w, x, teacher, None, [(0, 14)], serial=serial_steps)
    assert not np.array_equal(shifted[0][1:4], checked[0][1:4])  # the shifted path ran: other roundings
    for got, expected in zip(shifted, checked):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_an_overflow_among_the_shifted_first_steps_is_located_at_its_step():
    """An input of 1e300 at step 1 through a weight of 1e10: the state of
    step 1 overflows in the shifted copy (delay 3 on the self-loop: the
    first three steps shifted), and the kernel names time 2, as the
    checked reads do."""
    G = nx.DiGraph([("x", "h"), ("h", "h")])
    G.nodes["x"]["role"] = "input"
    G.nodes["h"]["activation"] = "identity"
    G.edges["x", "h"]["weight"] = 1e10
    G.edges["h", "h"].update(weight=0.5, delay=3)
    net = sim.compile(G)
    offsets = net.run_delays()
    x = np.zeros((6, 1, 1))
    x[1] = 1e300
    found = []
    for kernel in (run_delayed_serial, serial_steps):
        states, outputs = np.zeros((7, 1, 1)), np.zeros((6, 0, 1))
        found.append(kernel(net.wiring(), net.schedule(), offsets, x, states, 0, outputs, outputs,
                            np.zeros((0, 0, 1)), 0, 6))
    assert found == [2, 2]
    with pytest.raises(sim.NonFiniteError, match="'h'"):
        sim.run(net, x[:, :, 0])


def test_segments_from_a_later_base_among_the_first_steps_give_the_whole_run_gradients():
    """Hidden delays at their default and an input delayed 3: a history
    of depth 1, so a checkpoint segment of one step starts from a history
    past 0 while its step still reads an input before the start (shifted
    from a later base); the gradients of every segment length equal the
    whole run's to the bit, and central differences."""
    from .test_bptt import _central_differences, _check
    from .test_delayed_bptt import _general_loss, _problem

    G = _delayed(11, seed=4)
    for u, v, d in G.edges(data=True):
        d.pop("delay", None)
        if G.nodes[u].get("role") == "input":
            d["delay"] = 3
    net, x, targets, h0 = _problem(G, T=9, seed=4)
    assert net.run_delays()[2] == 3
    loss, whole = sim.bptt(net, x, targets, h0=h0)
    for checkpoint in (1, 2):
        loss_c, parts = sim.bptt(net, x, targets, h0=h0, checkpoint=checkpoint)
        assert loss_c == loss
        for name in ("weight", "bias", "h0"):
            np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name), err_msg=name)
    _check(whole, _central_differences(net, h0, _general_loss(x, targets)))


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_a_delayed_run_at_a_batch_of_one_matches_the_reference(dtype, tol):
    """`sim.run` of a delayed network the interleaved table serves (two
    chunks and four neurons left), one thread and two, against `run_general`."""
    G = _delayed(19, seed=3, same_step=True)
    net = sim.compile(G, dtype=dtype)
    assert net.wiring().hidden_lanes.start.shape[0] == 2
    rng = np.random.default_rng(8)
    x, h0 = rng.normal(size=(15, 2)).astype(dtype), rng.normal(size=net.n_neurons).astype(dtype)
    states, outputs, _, _ = run_general(G, x, h0=h0)
    for parallel in (False, True):
        res = sim.run(net, x, h0, parallel=parallel)
        np.testing.assert_allclose(res.states, states, rtol=0, atol=tol)
        np.testing.assert_allclose(res.outputs, outputs, rtol=0, atol=tol)


def _all_tanh(G):
    G = G.copy()
    for v in G:
        if G.nodes[v].get("role") is None:
            G.nodes[v]["activation"] = "tanh"
    return G


def _delayed_readout(G):
    """`G` with the delays only on the edges to the outputs (0, 1, 2),
    none of them fed back: no step reads an input or output before the
    start (and the outputs, reading some neurons at delay 0, make a level
    after the neurons')."""
    G = G.copy()
    for u, v, d in list(G.edges(data=True)):
        if G.nodes[u].get("role") == "output":
            G.remove_edge(u, v)
        elif G.nodes[v].get("role") == "output":
            d["delay"] = u % 3
        else:
            d.pop("delay", None)
    return G


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("graph", ["tanh", "mixed", "readout"])
@pytest.mark.parametrize("threaded, checkpoint, chunk", [(False, None, 1000), (False, 3, 2), (True, None, 1000),
                                                         (True, 2, 4)])
def test_interleaved_delayed_backward_gives_the_row_by_row_bits(monkeypatch, dtype, graph, threaded, checkpoint,
                                                                chunk):
    """`sim.bptt` at a batch of 1 on a level of 83 neurons in order (ten
    chunks of the out-edge table, three neurons left to it; out-degrees
    of 0 to 9, so padded lanes), delays 1..4 between neurons, 0..2 from
    the inputs and to the outputs, delayed feedback, teacher forcing:
    every gradient, the norms of dL/dh and the loss to the bit against
    the same kernels row by row, on one thread and on threads, whole or
    checkpointed, backward calls of a few steps (the laid-out gradients
    written back after each), for tanh neurons (the slope in the vector
    register) and mixed activations; and with the delays on the readout
    alone (no step reads an input before the start: the in-edge gradients
    laid out from the first step)."""
    import numba

    import simulator.delayed_bptt as delayed_bptt
    from .test_delayed_bptt import _level_in_order_graph, _problem

    if threaded and numba.get_num_threads() < 2:
        pytest.skip("Numba has one thread")
    G = _level_in_order_graph(83, seed=6)
    G = {"tanh": _all_tanh(G), "mixed": G, "readout": _delayed_readout(G)}[graph]
    net, x, targets, h0 = _problem(G, T=11, seed=2)
    net = net.astype(dtype)
    wt = net.wiring_t()
    assert wt.hidden_lanes.start.shape[0] == 10 and len(set(wt.hidden_lanes.count.tolist())) > 3
    assert (net.wiring().uniform_h == -1) == (graph != "tanh")
    sched = net.schedule()
    assert consecutive_levels(sched.order, sched.level_ptr, net.n_neurons)[0] == 0
    assert net.has_delays and (net.back_delays()[2][3] == 0) == (graph == "readout")
    monkeypatch.setattr(delayed_bptt, "BACK_CHUNK", chunk)
    if threaded:
        monkeypatch.setattr(sim.threads, "timed_call",
                            lambda kind, work, n_steps: (numba.get_num_threads(), lambda: None))
    norms = []  # the kernel's dh_norm (asking for the diagnostics would record each step: not the lanes' path)
    kernel = delayed_bptt.bptt_delayed
    monkeypatch.setattr(delayed_bptt, "bptt_delayed", lambda *args: (norms.append(args[23]), kernel(*args))[1])
    kwargs = dict(h0=h0.astype(dtype), teacher_forcing=True, checkpoint=checkpoint)
    loss, lanes = sim.bptt(net, x.astype(dtype), targets, **kwargs)
    net._cache["wiring_t"] = _without_lanes(wt)
    loss_rows, rows = sim.bptt(net, x.astype(dtype), targets, **kwargs)
    assert loss == loss_rows and np.abs(lanes.weight).max() > 0
    for name in ("weight", "bias", "h0"):
        np.testing.assert_array_equal(getattr(lanes, name).view(np.uint8), getattr(rows, name).view(np.uint8),
                                      err_msg=name)
    np.testing.assert_array_equal(norms[0][1:], norms[-1][1:])
    assert norms[0] is not norms[-1] and (norms[0][1:] > 0).sum() >= 10


@pytest.mark.parametrize("mixed", [False, True])
def test_delayed_bptt_at_a_batch_of_one_matches_central_differences(mixed):
    """`sim.bptt` at a batch of 1 on a level of 19 neurons in order (two
    chunks of the out-edge table, three left), every weight, bias and h0
    against central differences of `run_general`'s loss."""
    from .test_bptt import _central_differences, _check
    from .test_delayed_bptt import _general_loss, _level_in_order_graph, _problem

    G = _level_in_order_graph(19, seed=7)
    net, x, targets, h0 = _problem(G if mixed else _all_tanh(G), T=8, seed=3)
    assert net.wiring_t().hidden_lanes.start.shape[0] == 2
    _, grads = sim.bptt(net, x, targets, h0=h0)
    _check(grads, _central_differences(net, h0, _general_loss(x, targets)))
