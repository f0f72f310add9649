"""`sim.plot.gates`: a gated neuron's gates, state and cell over time (the drawn data, not pixels)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator import plot


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def mixed():
    """A ring with GRU neurons 0, 1, LSTM neurons 2, 3 and plain 4, 5, driven batched."""
    G = tp.ring(6, n_inputs=1, n_outputs=1, seed=0)
    tp.gate(G, unit="gru", nodes=[0, 1], seed=1)
    tp.gate(G, unit="lstm", nodes=[2, 3], seed=2)
    net = sim.compile(G)
    x = np.random.default_rng(0).normal(size=(12, 3, 1))
    return net, sim.run(net, x, record_gates=True)


def _lines(ax):
    return {line.get_label(): line for line in ax.lines}


def test_gru_neuron_draws_its_gates_and_state(mixed):
    net, res = mixed
    i = list(net.neurons).index(1)
    ax = plot.gates(res, 1, batch=2)
    lines = _lines(ax)
    assert list(lines) == ["r (reset)", "z (update)", "n (candidate)", "h (state)"]
    for key in "rzn":
        line = lines[next(label for label in lines if label.startswith(key + " "))]
        np.testing.assert_array_equal(line.get_xdata(), res.times[1:])
        np.testing.assert_array_equal(line.get_ydata(), res.gates[key][:, 2, i])
    np.testing.assert_array_equal(lines["h (state)"].get_xdata(), res.times)
    np.testing.assert_array_equal(lines["h (state)"].get_ydata(), res.states[:, 2, i])
    assert ax.get_title() == "1 (GRU)"


def test_lstm_neuron_draws_its_gates_state_and_cell(mixed):
    net, res = mixed
    i = list(net.neurons).index(3)
    column = list(net.cell_neurons).index(3)
    ax = plot.gates(res, 3, batch=0)
    lines = _lines(ax)
    assert list(lines) == ["i (input)", "f (forget)", "g (cell input)", "o (output)", "h (state)", "c (cell)"]
    for key, line in zip("ifgo", ax.lines):
        np.testing.assert_array_equal(line.get_ydata(), res.gates[key][:, 0, i])
        assert np.isfinite(line.get_ydata()).all()
    np.testing.assert_array_equal(lines["c (cell)"].get_ydata(), res.cells[:, 0, column])
    np.testing.assert_array_equal(lines["c (cell)"].get_xdata(), res.times)


def test_unbatched_run_state_off_and_own_axes():
    net = sim.compile(tp.lstm(1, 2, 1, seed=0))
    res = sim.run(net, np.sin(np.arange(8.0))[:, None], record_gates=True)
    fig, ax = plt.subplots()
    out = plot.gates(res, net.neurons[1], ax=ax, state=False, legend=False, title="cell 1", lw=3)
    assert out is ax
    assert [line.get_label()[0] for line in ax.lines] == list("ifgo")
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), res.gates["f"][:, 1])
    assert ax.get_legend() is None and ax.get_title() == "cell 1"
    assert all(line.get_linewidth() == 3 for line in ax.lines)


def test_gates_not_recorded_names_record_gates(mixed):
    net, _ = mixed
    res = sim.run(net, np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"record_gates=True"):
        plot.gates(res, 0)


def test_plain_input_and_output_nodes_are_refused_by_name(mixed):
    net, res = mixed
    with pytest.raises(ValueError, match=r"neuron 4 is a plain 'rnn' unit.*gated neurons are \[0, 1, 2, 3\]"):
        plot.gates(res, 4)
    with pytest.raises(ValueError, match=r"node 'in0' is an input, not a hidden neuron"):
        plot.gates(res, "in0")
    with pytest.raises(ValueError, match=r"node 'out0' is an output"):
        plot.gates(res, "out0")
    with pytest.raises(KeyError):
        plot.gates(res, "nowhere")
    with pytest.raises(ValueError, match=r"batch of 3"):
        plot.gates(res, 0, batch=3)
    with pytest.raises(TypeError, match=r"must be a Result"):
        plot.gates(res.states, 0)


def test_network_without_gated_neurons_says_so():
    net = sim.compile(nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")]), inputs=["x"], outputs=["y"])
    res = sim.run(net, np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"the network has no gated neurons"):
        plot.gates(res, "h")
