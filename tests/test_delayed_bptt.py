"""`sim.bptt` and `sim.train` through edge delays (design section 9):
every gradient against central differences of the plain-NumPy references
(`tests.reference.run_general`, and `run_delays_windowed` for truncation),
checkpointed gradients bit for bit, and agreement with the default-delay
kernels where a delay changes nothing."""

import networkx as nx
import numpy as np
import pytest

import simulator as sim

from . import reference as ref
from .test_bptt import _central_differences, _check
from .test_delays import delayed_graph
from .test_run import _all_kinds_graph

RNG = np.random.default_rng(23)


def _general_loss(x, targets, teacher=False):
    """``loss_of(net, h0)``: the MSE of `run_general`'s outputs."""
    def loss_of(net, h0):
        _, y, _, _ = ref.run_general(net.to_networkx(), x, h0, teacher=targets if teacher else None)
        return ref.mse(y, targets)
    return loss_of


def _problem(G, T=7, batch=(), n_in=2, n_out=2, nan_every=3, seed=0):
    rng = np.random.default_rng(seed)
    net = sim.compile(G).astype("float64")
    x = rng.normal(size=(T,) + batch + (net.n_inputs,))
    targets = rng.normal(size=(T,) + batch + (net.n_outputs,))
    targets.reshape(-1)[::nan_every] = np.nan
    h0 = rng.normal(0, 0.5, batch + (net.n_neurons,))
    return net, x, targets, h0


@pytest.mark.parametrize("batch", [(), (2,), (8,), (32,)])
@pytest.mark.parametrize("feedback_delay", [2, 0])
def test_gradients_match_central_differences(batch, feedback_delay):
    """Weights of every edge kind and delay 0..3, biases and h0, against
    central differences of run_general's loss (same-step chain, delayed
    inputs, outputs and feedback; a batch of 8 and 32: the errors' sums
    block by block in registers, one and four blocks)."""
    net, x, targets, h0 = _problem(delayed_graph(seed=1, feedback_delay=feedback_delay), batch=batch)
    assert net.has_delays and (net.delay == 0).sum() > 3
    loss, grads = sim.bptt(net, x, targets, h0=h0)
    loss_of = _general_loss(x, targets)
    assert loss == pytest.approx(loss_of(net, h0), rel=1e-13)
    _check(grads, _central_differences(net, h0, loss_of))


def test_teacher_forced_feedback_of_delay_d_reads_the_target_d_steps_back():
    """Teacher forcing: the delay-2 feedback edge reads target[t - 2] where
    given (no gradient through it there), the output where NaN."""
    net, x, targets, h0 = _problem(delayed_graph(seed=2, feedback_delay=2), T=8, batch=(2,), seed=3)
    _, grads = sim.bptt(net, x, targets, h0=h0, teacher_forcing=True)
    _check(grads, _central_differences(net, h0, _general_loss(x, targets, teacher=True)))


@pytest.mark.parametrize("feedback_delay", [2, 0])
def test_truncated_gradients_are_the_windows_with_earlier_reads_held(feedback_delay):
    """truncate=k: central differences of run_delays_windowed's loss, where
    every read of a value an earlier window produced takes the recorded value."""
    net, x, targets, h0 = _problem(delayed_graph(seed=4, feedback_delay=feedback_delay), T=9, batch=(2,), seed=5)
    k = 3
    _, cut = sim.bptt(net, x, targets, h0=h0, truncate=k, teacher_forcing=True)
    G = net.to_networkx()
    states, _, fed = ref.run_delays_windowed(G, x, k, h0, teacher=targets)

    def windows_loss(n, h):
        _, y, _ = ref.run_delays_windowed(n.to_networkx(), x, k, h, teacher=targets, held=(states, fed))
        return ref.mse(y, targets)

    _, full = sim.bptt(net, x, targets, h0=h0, teacher_forcing=True)
    assert not np.allclose(cut.weight, full.weight)
    _check(cut, _central_differences(net, h0, windows_loss))


def _long_delay_graph():
    """Delays up to 5, longer than the checkpoint segments below."""
    G = delayed_graph(seed=6, feedback_delay=3)
    G.add_edge(5, 0, weight=0.9, delay=5)
    G.add_edge("in1", 4, weight=-0.8, delay=4)
    return G


@pytest.mark.parametrize("checkpoint", [1, 2, 3, True])
@pytest.mark.parametrize("batch", [(), (3,), (8,)])
def test_checkpointed_gradients_equal_the_whole_history_bit_for_bit(checkpoint, batch):
    """A history of depth max-delay per segment and a carry of the same
    depth: the same gradients and diagnostics, with teacher forcing and truncation."""
    net, x, targets, h0 = _problem(_long_delay_graph(), T=11, batch=batch, seed=7)
    kwargs = dict(h0=h0, teacher_forcing=True, truncate=4, return_diagnostics=True)
    loss, whole = sim.bptt(net, x, targets, **kwargs)
    loss_c, parts = sim.bptt(net, x, targets, checkpoint=checkpoint, **kwargs)
    assert loss_c == loss
    for name in ("weight", "bias", "h0"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name), err_msg=name)
    for name in ("dh_norm", "edge_grad"):
        np.testing.assert_array_equal(parts.diagnostics[name], whole.diagnostics[name], err_msg=name)


@pytest.mark.parametrize("chunk", [1, 6])
@pytest.mark.parametrize("checkpoint", [None, 4])
def test_backward_calls_of_a_few_steps_give_the_gradients_bit_for_bit(monkeypatch, chunk, checkpoint):
    """The backward pass run a few steps a call (the hidden errors kept for
    those and the steps their reads reach; at least the longest delay, 5,
    when `chunk` is 1) gives the gradients of one call over the whole run,
    with truncation, teacher forcing and checkpoints."""
    import simulator.delayed_bptt as delayed_bptt

    net, x, targets, h0 = _problem(_long_delay_graph(), T=11, batch=(2,), seed=8)
    kwargs = dict(h0=h0, teacher_forcing=True, truncate=4, return_diagnostics=True, checkpoint=checkpoint)
    monkeypatch.setattr(delayed_bptt, "BACK_CHUNK", 1000)
    loss, whole = sim.bptt(net, x, targets, **kwargs)
    monkeypatch.setattr(delayed_bptt, "BACK_CHUNK", chunk)
    loss_c, parts = sim.bptt(net, x, targets, **kwargs)
    assert loss_c == loss
    for name in ("weight", "bias", "h0"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name), err_msg=name)
    for name in ("dh_norm", "edge_grad"):
        np.testing.assert_array_equal(parts.diagnostics[name], whole.diagnostics[name], err_msg=name)


@pytest.mark.parametrize("batch", [(), (3,), (8,)])
def test_threaded_passes_give_the_one_thread_gradients_bit_for_bit(monkeypatch, batch):
    """150 neurons (levels long enough for threads), delays 0..4, feedback
    of delay 2 and 0: the threaded forward and backward passes give the
    one-thread loss, gradients and diagnostics exactly, teacher-forced and
    truncated, checkpointed or not."""
    import numba

    if numba.get_num_threads() < 2:
        pytest.skip("Numba has one thread")
    G = nx.DiGraph()
    rng = np.random.default_rng(5)
    n = 150
    G.add_nodes_from(["in0", "in1"], role="input")
    G.add_nodes_from(["out0", "out1"], role="output")
    for i in range(n):
        for j in rng.choice(n, 6, replace=False):
            G.add_edge(int(j), i, weight=rng.normal(0, 0.4), delay=int(rng.integers(1, 5)))
        G.add_edge(f"in{i % 2}", i, weight=rng.normal(), delay=int(rng.integers(0, 3)))
        G.add_edge(i, f"out{i % 2}", weight=rng.normal(0, 0.2), delay=int(rng.integers(0, 3)))
    for i in range(0, n, 2):  # a same-step edge into every odd neuron: two levels of 75
        G.add_edge(i, i + 1, weight=0.3, delay=0)
        if G.has_edge(i + 1, i):
            G.edges[i + 1, i]["delay"] = 1
    G.add_edge("out0", 3, weight=0.5, delay=2)
    G.add_edge("out1", 4, weight=-0.5, delay=0)
    for u in list(G.predecessors("out1")):  # out1 read at the same step: it reads only earlier steps
        if G.nodes[u].get("role") != "input":
            G.edges[u, "out1"]["delay"] = 1
    net, x, targets, h0 = _problem(G, T=9, batch=batch, seed=4)
    assert (np.diff(net.schedule().level_ptr) >= 64).sum() >= 2
    kwargs = dict(h0=h0, teacher_forcing=True, truncate=4, return_diagnostics=True)
    loss, one = sim.bptt(net, x, targets, **kwargs)
    monkeypatch.setattr(sim.threads, "timed_call", lambda kind, work, n_steps: (numba.get_num_threads(), lambda: None))
    for checkpoint in (None, 2):
        loss_t, threaded = sim.bptt(net, x, targets, checkpoint=checkpoint, **kwargs)
        assert loss_t == loss
        for name in ("weight", "bias", "h0"):
            np.testing.assert_array_equal(getattr(threaded, name), getattr(one, name), err_msg=name)
        for name in ("dh_norm", "edge_grad"):
            np.testing.assert_array_equal(threaded.diagnostics[name], one.diagnostics[name], err_msg=name)
    assert np.abs(one.weight).max() > 0


def _level_in_order_graph(n, seed):
    """Hidden neurons 0..n-1 joined by delays 1..4 only, so that they make
    one level holding them in order; inputs of delay 0..2, outputs read at
    delay 0 (so they make the next level) and 1, feedback of delay 1 and
    3; tanh and sigmoid neurons."""
    rng = np.random.default_rng(seed)
    G = nx.DiGraph()
    G.add_nodes_from(["in0", "in1"], role="input")
    G.add_nodes_from(["out0", "out1"], role="output")
    for i in range(n):
        G.add_node(i, activation="tanh" if i % 3 else "sigmoid")
    for i in range(n):
        for j in rng.choice(n, min(n, 4), replace=False):
            G.add_edge(int(j), i, weight=rng.normal(0, 0.5), delay=int(rng.integers(1, 5)))
        G.add_edge(f"in{i % 2}", i, weight=rng.normal(), delay=int(rng.integers(0, 3)))
        G.add_edge(i, f"out{i % 2}", weight=rng.normal(0, 0.4), delay=int(i % 3 == 0))
    G.add_edge("out0", 1, weight=0.5, delay=1)
    G.add_edge("out1", 2, weight=-0.5, delay=3)
    return G


def _first_level_in_order(net):
    from simulator._kernels.delayed import consecutive_levels

    sched = net.schedule()
    return consecutive_levels(sched.order, sched.level_ptr, net.n_neurons)[0] == 0


def test_a_level_of_neurons_in_order_at_a_batch_of_1_matches_central_differences():
    """The backward loop over a level's neurons themselves (a batch of 1, no
    truncation, no per-step record) gives run_general's gradients."""
    net, x, targets, h0 = _problem(_level_in_order_graph(6, seed=3), T=9, seed=9)
    assert _first_level_in_order(net)
    _, grads = sim.bptt(net, x, targets, h0=h0)
    _check(grads, _central_differences(net, h0, _general_loss(x, targets)))


def test_threads_over_a_level_of_neurons_in_order_give_the_one_thread_gradients(monkeypatch):
    """The same loop in chunks on threads (a level of 80 neurons): the
    one-thread gradients bit for bit, checkpointed or not."""
    import numba

    if numba.get_num_threads() < 2:
        pytest.skip("Numba has one thread")
    net, x, targets, h0 = _problem(_level_in_order_graph(80, seed=4), T=9, seed=10)
    assert _first_level_in_order(net)
    loss, one = sim.bptt(net, x, targets, h0=h0)
    monkeypatch.setattr(sim.threads, "timed_call", lambda kind, work, n_steps: (numba.get_num_threads(), lambda: None))
    for checkpoint in (None, 2):
        loss_t, threaded = sim.bptt(net, x, targets, h0=h0, checkpoint=checkpoint)
        assert loss_t == loss
        for name in ("weight", "bias", "h0"):
            np.testing.assert_array_equal(getattr(threaded, name), getattr(one, name), err_msg=name)
    assert np.abs(one.weight).max() > 0


def test_long_delays_match_central_differences():
    net, x, targets, h0 = _problem(_long_delay_graph(), T=9, seed=8)
    _, grads = sim.bptt(net, x, targets, h0=h0, checkpoint=2)
    _check(grads, _central_differences(net, h0, _general_loss(x, targets)))


def test_a_delay_that_changes_nothing_gives_the_default_kernels_gradients_and_diagnostics():
    """A zero-weight edge of delay 2 makes the network 'delayed' without
    changing its run: every other gradient, dh_norm and edge_grad equal the
    default-delay kernels' (truncation and feedback included), to rounding."""
    G = _all_kinds_graph(feedback=True)
    net = sim.compile(G)
    G.add_edge("x1", "h5", weight=0.0, delay=2)
    delayed = sim.compile(G)
    assert delayed.has_delays and not net.has_delays
    x, targets = RNG.normal(size=(8, 3, 2)), RNG.normal(size=(8, 3, 2))
    kwargs = dict(truncate=3, return_diagnostics=True)
    loss, plain = sim.bptt(net, x, targets, **kwargs)
    loss_d, grads = sim.bptt(delayed, x, targets, **kwargs)
    assert loss_d == pytest.approx(loss, rel=1e-13)
    same = [delayed.edges.index(e) for e in net.edges]
    np.testing.assert_allclose(grads.weight[same], plain.weight, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads.bias, plain.bias, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads.h0, plain.h0, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads.diagnostics["dh_norm"], plain.diagnostics["dh_norm"], rtol=1e-12)
    np.testing.assert_allclose(grads.diagnostics["edge_grad"][:, same], plain.diagnostics["edge_grad"],
                               rtol=1e-12, atol=1e-14)


def test_clip_scales_the_trained_gradients_to_the_norm():
    net, x, targets, h0 = _problem(delayed_graph(seed=9), seed=9)
    _, full = sim.bptt(net, x, targets, h0=h0)
    norm = np.sqrt(np.sum(full.weight ** 2) + np.sum(full.bias ** 2))
    _, clipped = sim.bptt(net, x, targets, h0=h0, clip=norm / 4)
    np.testing.assert_allclose(clipped.weight, full.weight / 4, rtol=1e-12)
    np.testing.assert_allclose(clipped.bias, full.bias / 4, rtol=1e-12)
    np.testing.assert_array_equal(clipped.h0, full.h0)


def test_float32_gradients_close_to_float64():
    net, x, targets, h0 = _problem(delayed_graph(seed=10), batch=(2,), seed=10)
    _, g64 = sim.bptt(net, x, targets, h0=h0)
    _, g32 = sim.bptt(net.astype("float32"), x, targets, h0=h0)
    assert g32.weight.dtype == np.float32
    np.testing.assert_allclose(g32.weight, g64.weight, rtol=1e-3, atol=1e-5)


def test_train_keeps_the_delays_and_lowers_the_loss():
    """sim.train steps through the delayed gradients: plain SGD's first step
    is the parameters minus lr times sim.bptt's gradient; the loss falls."""
    net, x, targets, _ = _problem(delayed_graph(seed=12), T=10, batch=(4,), seed=12)
    loss0, grads = sim.bptt(net, x, targets)
    one, _ = sim.train(net, x, targets, epochs=1, optimizer="sgd", lr=0.1, progress=False)
    np.testing.assert_array_equal(one.delay, net.delay)
    np.testing.assert_allclose(one.weight, net.weight - 0.1 * grads.weight, rtol=1e-12, atol=1e-15)
    trained, history = sim.train(net, x, targets, epochs=40, lr=0.05, progress=False, seed=0)
    assert sim.bptt(trained, x, targets)[0] < 0.7 * loss0


def test_continuous_time_gradients_with_delays_are_refused_by_edge():
    net = sim.compile(delayed_graph(seed=13))
    x, targets = np.zeros((3, 2)), np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"edge .* has delay .*continuous-time gradients"):
        sim.bptt(net, x, targets, dt=0.1, method="euler")


def test_an_overflow_is_located_by_step_and_neuron():
    G = nx.DiGraph([("x", 0), (0, 1), (1, 0), (1, "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    for v in (0, 1):
        G.nodes[v]["activation"] = "identity"
    G.edges[0, 1]["weight"] = G.edges[1, 0]["weight"] = 1e200
    G.edges[1, 0]["delay"] = 2
    with pytest.raises(sim.NonFiniteError, match="step"):
        sim.bptt(sim.compile(G), np.ones((6, 1)), np.zeros((6, 1)))
