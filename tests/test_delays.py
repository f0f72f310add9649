"""Edge delays and same-step edges (design section 9): compilation, files,
refusals, and discrete runs against `tests.reference.run_general`, torch's
two-layer RNN and np.convolve."""

import networkx as nx
import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator._kernels import delayed as delayed_kernels
from simulator.delays import DEFAULT_DELAY, MAX_DELAY
from tests.reference import run_general

RNG = np.random.default_rng(11)


def delayed_graph(seed=0, same_step=True, feedback_delay=2):
    """A small random network with every kind of edge and delays 0..3: W
    edges of delay 1..3 (and a delay-0 chain 0 -> 1 -> 2 when `same_step`),
    inputs and outputs delayed, an output fed back with `feedback_delay`."""
    G = tp.erdos_renyi(6, 0.4, n_inputs=2, n_outputs=2, seed=seed, delays=(1, 3))
    rng = np.random.default_rng(seed)
    for u, v, d in G.edges(data=True):
        if G.nodes[u].get("role") == "input" or G.nodes[v].get("role") == "output":
            d["delay"] = int(rng.integers(0, 3))
    if same_step:
        for u, v in ((0, 1), (1, 2)):
            G.add_edge(u, v, weight=0.8, delay=0)
        for u, v in ((1, 0), (2, 1), (2, 0)):
            if G.has_edge(u, v):
                G.edges[u, v]["delay"] = 1
    G.add_edge("out0", 3, weight=0.6, delay=feedback_delay)
    if feedback_delay == 0:  # out0 reads earlier steps only, so the same-step feedback closes no cycle
        for u in G.predecessors("out0"):
            if G.nodes[u].get("role") != "input":
                G.edges[u, "out0"]["delay"] = 1 + int(rng.integers(0, 2))
    G.add_edge(4, "out1", weight=-0.7, delay=3)
    G.add_edge("in0", "out1", weight=0.5, delay=2)
    return G


def expected_default(net, e):
    return DEFAULT_DELAY[net.edge_kind[e]]


# ------------------------------------------------------------------ compile
def test_delay_defaults_by_edge_kind_aligned_with_edges():
    """Without the attribute every edge has its kind's default: W and F 1, U, V, D 0."""
    G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y"), ("x", "y"), ("y", "h")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    net = sim.compile(G)
    assert dict(zip(net.edges, net.delay.tolist())) == {("x", "h"): 0, ("h", "h"): 1, ("h", "y"): 0,
                                                        ("x", "y"): 0, ("y", "h"): 1}
    assert net.delay.dtype == np.int64 and not net.delay.flags.writeable
    assert not net.has_delays


def test_compile_reads_delays_and_to_networkx_writes_only_non_default_ones():
    """`delay` lands aligned with net.edges; the exported graph carries it
    only where it differs from the default and compiles to the same delays."""
    G = delayed_graph()
    G.add_edge(5, 5, weight=0.1, delay=1)  # explicitly the default
    net = sim.compile(G)
    for e, (u, v) in enumerate(net.edges):
        assert net.delay[e] == G.edges[u, v].get("delay", expected_default(net, e))
    H = net.to_networkx()
    for e, (u, v) in enumerate(net.edges):
        if net.delay[e] == expected_default(net, e):
            assert "delay" not in H.edges[u, v]
        else:
            assert H.edges[u, v]["delay"] == net.delay[e] and type(H.edges[u, v]["delay"]) is int
    np.testing.assert_array_equal(sim.compile(H).delay, net.delay)


def test_float_delays_that_are_whole_numbers_are_taken():
    G = nx.DiGraph([(0, 1), (1, 0)])
    G.edges[0, 1]["delay"] = 2.0
    G.edges[1, 0]["delay"] = np.int32(3)
    assert sim.compile(G).delay.tolist() == [2, 3]


@pytest.mark.parametrize("value, match", [
    (-1, "delay must be >= 0"),
    (2.5, "whole number"),
    (float("nan"), "whole number"),
    (float("inf"), "whole number"),
    ("2", "whole number"),
    (None, "whole number"),
    (True, "whole number"),
    ([1], "whole number"),
    (10**12, f"<= {MAX_DELAY}"),
])
def test_bad_delays_name_the_edge(value, match):
    """A negative, fractional, non-numeric or absurdly large delay is refused, naming the edge."""
    G = nx.DiGraph([("a", "b"), ("b", "c")])
    G.edges["b", "c"]["delay"] = value
    with pytest.raises(ValueError, match=rf"edge \('b', 'c'\) has delay .*{match}"):
        sim.compile(G)


@pytest.mark.parametrize("edges, cycle", [
    ([("a", "a")], "'a' -> 'a'"),
    ([("a", "b"), ("b", "c"), ("c", "a")], "'a' -> 'b' -> 'c' -> 'a'|'b' -> 'c' -> 'a' -> 'b'|'c' -> 'a' -> 'b' -> 'c'"),
])
def test_a_cycle_of_delay_0_edges_lists_its_nodes_in_order(edges, cycle):
    G = nx.DiGraph()
    G.add_edge("x", "a", role=None)
    G.nodes["x"]["role"] = "input"
    G.add_edges_from(edges, delay=0)
    G.add_edge("c", "d", delay=0)  # a same-step edge off the cycle
    with pytest.raises(ValueError, match=rf"delay 0 form the cycle ({cycle}): every directed cycle"):
        sim.compile(G)


def test_a_cycle_through_an_output_and_its_feedback_is_refused():
    """h -> y (readout, delay 0 by default) -> h (feedback given delay 0) is a same-step cycle."""
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("y", "h")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    G.edges["y", "h"]["delay"] = 0
    with pytest.raises(ValueError, match=r"cycle ('h' -> 'y' -> 'h'|'y' -> 'h' -> 'y')"):
        sim.compile(G)
    G.edges["h", "y"]["delay"] = 1  # the cycle now carries one step
    assert sim.compile(G).has_delays


def test_with_params_delay_is_validated_again():
    """with_params(delay=) takes new delays, refusing bad ones by edge and cycles by node."""
    net = sim.compile(nx.DiGraph([("a", "b"), ("b", "a")]))
    assert net.with_params(delay=[2, 1]).delay.tolist() == [2, 1]
    assert net.with_params(delay=[2, 1]).has_delays and not net.has_delays
    with pytest.raises(ValueError, match=r"edge \('b', 'a'\) has delay -3"):
        net.with_params(delay=[1, -3])
    with pytest.raises(ValueError, match=r"edge \('a', 'b'\) has delay 0.5"):
        net.with_params(delay=[0.5, 1])
    with pytest.raises(ValueError, match=r"cycle ('a' -> 'b' -> 'a'|'b' -> 'a' -> 'b')"):
        net.with_params(delay=[0, 0])
    with pytest.raises(ValueError, match=r"`delay` must have shape \(2,\)"):
        net.with_params(delay=[1])
    kept = net.with_params(delay=[3, 1]).with_params(weight=[0.5, 0.5]).astype("float32")
    assert kept.delay.tolist() == [3, 1] and kept.has_delays


@pytest.mark.parametrize("fmt", [".npz", ".graphml", ".json"])
def test_files_round_trip_delays(tmp_path, fmt):
    """Every file format gives back the delays (and keeps default-only networks plain)."""
    net = sim.compile(delayed_graph(), dtype="float32")
    path = tmp_path / f"net{fmt}"
    sim.save(net, path)
    back = sim.load(path)
    np.testing.assert_array_equal(back.delay, net.delay)
    assert back.has_delays and list(back.edges) == list(net.edges)
    plain = sim.compile(tp.erdos_renyi(4, 0.5, n_inputs=1, n_outputs=1, seed=1))
    sim.save(plain, path)
    assert not sim.load(path).has_delays


# ------------------------------------------------------------------ refusals
def test_modes_without_delays_refuse_a_delayed_network_naming_an_edge():
    """Continuous runs, solve, async updates, continuous-time gradients, Jacobians, analyses
    and fitted readouts refuse a network with a non-default delay."""
    G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    G.edges["h", "h"]["delay"] = 2
    net = sim.compile(G)
    x, y = np.ones((4, 1)), np.zeros((4, 1))
    edge = r"edge \('h', 'h'\) has delay 2 \(the default is 1\): "
    calls = [
        (lambda: sim.run(net, x, dt=0.1), "continuous-time runs"),
        (lambda: sim.run(net, x, dt=0.1, method="euler"), "continuous-time runs"),
        (lambda: sim.solve(net, x, (0.0, 0.4), dt=0.1), "`solve`"),
        (lambda: sim.run(net, x, update="async"), "`update='async'`"),
        (lambda: sim.bptt(net, x, y, dt=0.1, method="euler"), "continuous-time gradients"),
        (lambda: sim.train(net, x, y, epochs=1, dt=0.1, method="euler", progress=False), "continuous-time gradients"),
        (lambda: sim.jacobian(net, np.zeros(1)), "Jacobians"),
        (lambda: sim.fixed_points(net), "dynamics analyses"),
        (lambda: sim.fit_readout(net, x, y), "fitted readouts"),
    ]
    for call, what in calls:
        with pytest.raises(ValueError, match=edge + what):
            call()


# ------------------------------------------------------------------ runs
@pytest.mark.parametrize("batch", [(), (3,), (32,)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("parallel", [False, True])
def test_delayed_runs_match_the_reference(batch, dtype, parallel):
    """Delays 0..3 on every kind of edge, a delay-0 chain, a delayed feedback
    path and a random h0: the run equals run_general (a batch of 32: the
    sums block by block in registers, in both precisions)."""
    G = delayed_graph(seed=2)
    net = sim.compile(G, dtype=dtype)
    x = RNG.normal(size=(12, *batch, 2))
    h0 = RNG.normal(size=(*batch, 6))
    res = sim.run(net, x.astype(dtype), h0=h0.astype(dtype), parallel=parallel)
    states, outputs, _, _ = run_general(G, x.astype(dtype), h0=h0.astype(dtype))
    atol = 1e-12 if dtype == "float64" else 2e-5
    assert res.states.dtype == res.outputs.dtype == np.dtype(dtype)
    np.testing.assert_allclose(res.states, states, rtol=0, atol=atol)
    np.testing.assert_allclose(res.outputs, outputs, rtol=0, atol=atol)


def test_a_generation_of_neurons_and_outputs_makes_two_levels_neurons_first():
    """Nodes free of same-step reads, neurons 0, 1 and output y0, are the
    levels [0, 1] then [y0]; then 2 (read at delay 0 from 1), then y1 (from
    2); the run equals the reference."""
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_nodes_from(["y0", "y1"], role="output")
    G.add_edges_from([("x", 0, {"weight": 1.0}), (0, 1, {"weight": 0.7, "delay": 1}),
                      (1, 2, {"weight": -0.8, "delay": 0}), (2, 0, {"weight": 0.5, "delay": 2}),
                      (0, "y0", {"weight": 1.2, "delay": 1}), (2, "y1", {"weight": -0.9, "delay": 0})])
    net = sim.compile(G)
    sched = net.schedule()
    assert list(net.neurons) == [0, 1, 2] and list(net.outputs) == ["y0", "y1"]
    assert sched.order.tolist() == [0, 1, 3, 2, 4] and sched.level_ptr.tolist() == [0, 2, 3, 4, 5]
    x = RNG.normal(size=(9, 1))
    states, outputs, _, _ = run_general(G, x)
    res = sim.run(net, x)
    np.testing.assert_allclose(res.states, states, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.outputs, outputs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("feedback_delay", [0, 1, 3])
def test_teacher_forcing_with_delayed_feedback_reads_the_target_d_steps_back(feedback_delay):
    """Feedback of delay d reads target[t - d] (the output where the target is NaN)."""
    G = delayed_graph(seed=4, feedback_delay=feedback_delay)
    net = sim.compile(G)
    x = RNG.normal(size=(10, 2, 2))
    teacher = RNG.normal(size=(10, 2, 2))
    teacher[3, 0, 0] = teacher[5, 1, 0] = np.nan
    res = sim.run(net, x, targets=teacher, teacher_forcing=True)
    states, outputs, _, _ = run_general(G, x, teacher=teacher)
    np.testing.assert_allclose(res.states, states, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.outputs, outputs, rtol=0, atol=1e-12)
    free = sim.run(net, x)
    assert not np.allclose(free.states, res.states)


def test_a_segmented_run_equals_one_call():
    """A run cut into segments (a progress bar segments it) reads the history across the cuts."""
    net = sim.compile(delayed_graph(seed=5))
    x = RNG.normal(size=(40, 2))
    whole = sim.run(net, x, progress=False, parallel=False)
    cut = sim.run(net, x, progress=True, parallel=False)
    np.testing.assert_array_equal(cut.states, whole.states)
    np.testing.assert_array_equal(cut.outputs, whole.outputs)


def test_offsets_beyond_int32_send_every_step_through_the_checked_reads():
    """An offset ``index - delay * n`` that does not fit in int32 (n = 2**30,
    delay 3) makes no step direct; one that fits is stored as it is."""
    ptr = np.array([[0, 1, 1, 1]], dtype=np.uint64)
    index = np.array([5], dtype=np.uint32)
    sizes = (np.int64(2**30), np.int64(1), np.int64(1))
    offset, first = delayed_kernels.slot_offsets(ptr, index, np.array([1]), sizes)
    assert offset.tolist() == [5 - 2**30] and first == 0
    _, first = delayed_kernels.slot_offsets(ptr, index, np.array([3]), sizes)
    assert first == delayed_kernels.NEVER_DIRECT


def test_overflow_with_delays_names_step_and_neuron():
    G = nx.DiGraph([("x", "h"), ("h", "h")])
    G.nodes["x"]["role"] = "input"
    G.nodes["h"]["activation"] = "identity"
    G.edges["h", "h"].update(weight=1e200, delay=2)
    net = sim.compile(G)
    with pytest.raises(sim.NonFiniteError, match="'h'"):
        sim.run(net, np.ones((8, 1)))


# ------------------------------------------------------------------ anchors
def test_default_delays_reproduce_the_plain_results_bit_for_bit():
    """Delays written at their defaults change nothing: the same kernels, the same bits."""
    G = tp.erdos_renyi(8, 0.4, n_inputs=2, n_outputs=2, seed=7)
    G.add_edge("out0", 1, weight=0.4)
    plain = sim.compile(G)
    H = G.copy()
    for u, v, d in H.edges(data=True):
        d["delay"] = DEFAULT_DELAY[plain.edge_kind[plain.edges.index((u, v))]]
    explicit = sim.compile(H)
    assert not explicit.has_delays
    x = RNG.normal(size=(15, 3, 2))
    a, b = sim.run(plain, x), sim.run(explicit, x)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.outputs, b.outputs)
    c = sim.run(plain.with_params(delay=plain.delay), x)
    np.testing.assert_array_equal(c.states, a.states)


@pytest.mark.parametrize("link", [1, 2, 3])
def test_a_tapped_delay_line_is_the_fir_filter_np_convolve_computes(link):
    """One input with delays 0..K into a linear output: y = taps * u."""
    u = RNG.normal(size=30)
    K = 6
    G = nx.DiGraph()
    G.add_node("u", role="input")
    G.add_node("y", role="output")
    taps = RNG.normal(size=K + 1)
    for k in range(K + 1):
        G.add_edge("u", "y", weight=taps[k], delay=k) if k == 0 else None
    # input -> output edges are unique per pair: route taps k >= 1 through identity neurons
    for k in range(1, K + 1):
        G.add_node(f"d{k}", activation="identity")
        G.add_edge("u", f"d{k}", weight=1.0, delay=k * link - 1)
        G.add_edge(f"d{k}", "y", weight=taps[k], delay=1)
    res = sim.run(sim.compile(G), u[:, None])
    kernel = np.zeros(K * link + 1)
    kernel[0] = taps[0]
    kernel[link::link] = taps[1:]
    np.testing.assert_allclose(res.outputs[:, 0], np.convolve(u, kernel)[:30], rtol=0, atol=1e-13)


@pytest.mark.parametrize("link", [1, 2])
def test_delay_line_builder_is_an_fir_filter(link):
    u = RNG.normal(size=25)
    G = tp.delay_line(5, seed=3, link_delay=link)
    taps = np.array([G.edges[f"d{k}", "out0"]["weight"] for k in range(5)])
    kernel = np.zeros(4 * link + 1)
    kernel[::link] = taps
    res = sim.run(sim.compile(G), u[:, None])
    np.testing.assert_allclose(res.outputs[:, 0], np.convolve(u, kernel)[:25], rtol=0, atol=1e-13)


def test_two_stacked_layers_equal_torch_rnn_num_layers_2():
    """tp.stacked's delay-0 edges between layers: the run is
    torch.nn.RNN(num_layers=2) + Linear given the same weights, to 1e-12."""
    from tests.test_gated_topologies import _torch_module

    sizes = [4, 4]
    G = tp.stacked(2, sizes, 1, unit="rnn", seed=5)
    torch, m, lin = _torch_module(G, "rnn", sizes, 2)
    net = sim.compile(G)
    assert net.has_delays
    T, B, N = 20, 3, sum(sizes)
    x = RNG.normal(size=(T, B, 2))
    h0 = RNG.normal(size=(B, N))
    res = sim.run(net, x, h0=h0)
    hx = torch.tensor(np.stack(np.split(h0, np.cumsum(sizes)[:-1], axis=-1)))
    out, _ = m(torch.tensor(x), hx)
    layer2 = [net.neurons.index(f"L1_{i}") for i in range(sizes[1])]
    np.testing.assert_allclose(res.states[1:][..., layer2], out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.outputs, lin(out).detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("value, kind", [("x", TypeError), (None, TypeError), (True, TypeError), ([1], TypeError),
                                         (1.5, ValueError), (-1, ValueError)])
def test_a_delay_of_the_wrong_kind_is_a_type_error(value, kind):
    """Section 9 via section 8's rule: a non-numeric delay is a TypeError
    (also a ValueError); a fractional or negative one a ValueError; both name
    the edge."""
    G = tp.ring(3, seed=0)
    G.edges[0, 1]["delay"] = value
    with pytest.raises(kind, match=r"edge \(0, 1\) has delay") as info:
        sim.compile(G)
    assert isinstance(info.value, ValueError)
    if kind is ValueError:
        assert not isinstance(info.value, TypeError)


def test_a_network_builds_its_run_offsets_once_and_new_delays_get_their_own():
    """`Network.run_delays` (where each slot reads in the history) is built
    once per network and reused by every run; a network from
    `with_params(delay=...)` builds its own, so its runs follow the new
    delays (against `run_general`), and the first network's runs are
    unchanged."""
    G = tp.fixed_indegree(40, 4, n_inputs=2, n_outputs=2, seed=5, delays=(1, 3))
    net = sim.compile(G)
    x = np.random.default_rng(6).normal(size=(12, 2))
    first = sim.run(net, x).states
    assert net.run_delays() is net.run_delays()
    delay = net.delay.copy()
    delay[net.edge_kind == 0] = np.random.default_rng(7).integers(1, 6, size=int((net.edge_kind == 0).sum()))
    other = net.with_params(delay=delay)
    assert other.run_delays() is not net.run_delays()
    states, _, _, _ = run_general(other.to_networkx(), x)
    np.testing.assert_allclose(sim.run(other, x).states, states, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(sim.run(net, x).states, first)
    assert not np.allclose(states, first)
