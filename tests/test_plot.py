"""Tests of `simulator.plot`: every function draws what it says, on the Agg
backend, and bad input gets an error that names the thing at fault."""

import re
import sys

import networkx as nx
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from simulator import plot  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Every test starts and ends with no open figure."""
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture
def net(four_neuron):
    return sim.compile(four_neuron)


@pytest.fixture
def res(net):
    """Pulses on Input1 at step 0 and Input2 at step 2, eight steps."""
    x = np.zeros((8, 2))
    x[0, 0] = 1.0
    x[2, 1] = 1.0
    return sim.run(net, x)


@pytest.fixture
def batched(net):
    x = np.zeros((5, 3, 2))
    x[0, :, 0] = [1.0, -1.0, 0.5]
    return sim.run(net, x)


@pytest.fixture
def grads(net):
    x = np.ones((10, 2))
    y = np.full((10, 1), np.nan)
    y[-1] = 0.3
    return sim.bptt(net, x, y, return_diagnostics=True)[1]


def pixels(fig) -> np.ndarray:
    """The figure rendered to RGBA, shape (height, width, 4)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def ink(fig) -> float:
    """Fraction of pixels that differ from the figure's background."""
    img = pixels(fig)
    background = np.round(np.array(matplotlib.colors.to_rgba(fig.get_facecolor())) * 255).astype(np.uint8)
    return float(np.any(img != background, axis=-1).mean())


def node_groups(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


# ------------------------------------------------------------------- import
def test_module_does_not_import_matplotlib_at_import():
    """Importing the module alone leaves matplotlib unloaded (checked in a fresh interpreter)."""
    import subprocess
    import sys

    code = "import sys, simulator.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------- activity
def test_activity_one_image_row_per_neuron(res, net):
    """The heat map is one image, neurons x (n_steps + 1), rows labelled by name, with a colour bar."""
    ax = plot.activity(res)
    assert len(ax.images) == 1
    assert ax.images[0].get_array().shape == (net.n_neurons, res.n_steps + 1)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(net.neurons)
    assert len(ax.figure.axes) == 2  # the colour bar
    assert ink(ax.figure) > 0.05


def test_activity_values_are_states(res, net):
    """Row i of the image is neuron i's trace; an output's row starts with NaN (no value at row 0)."""
    ax = plot.activity(res, neurons=["B1", "Output"], colorbar=False)
    data = np.ma.getdata(ax.images[0].get_array())
    np.testing.assert_allclose(data[0], res["B1"])
    assert np.isnan(data[1, 0])
    np.testing.assert_allclose(data[1, 1:], res["Output"])
    assert len(ax.figure.axes) == 1


def test_activity_thins_labels_for_many_neurons():
    """With more rows than `max_labels`, only every k-th row is labelled."""
    G = nx.DiGraph([(i, (i + 1) % 100) for i in range(100)])
    big = sim.run(sim.compile(G), 3, h0=np.linspace(-1, 1, 100))
    ax = plot.activity(big, max_labels=20)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [str(i) for i in range(0, 100, 5)]


def test_activity_uneven_times_draws_mesh(net):
    """An ODE result with uneven times becomes a QuadMesh with one cell per state."""
    ode = sim.solve(net, lambda t: [1.0, 0.0], (0.0, 2.0), method="RK45", t_eval=[0.0, 0.1, 0.5, 2.0])
    ax = plot.activity(ode, colorbar=False)
    assert not ax.images
    (mesh,) = ax.collections
    assert mesh.get_array().size == net.n_neurons * 4


def test_activity_batch_selects_element(batched):
    """`batch` picks the batch element drawn."""
    ax = plot.activity(batched, batch=1, colorbar=False)
    np.testing.assert_allclose(np.ma.getdata(ax.images[0].get_array())[0], batched["A1"][:, 1])


# ------------------------------------------------------------------- traces
def test_traces_one_line_per_name(res):
    """One labelled line per node; outputs start at times[1], inputs hold over the steps."""
    ax = plot.traces(res, ["A1", "B2", "Output", "Input1"])
    assert [line.get_label() for line in ax.lines] == ["A1", "B2", "Output", "Input1"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), res["A1"])
    np.testing.assert_allclose(ax.lines[2].get_xdata(), res.times[1:])
    assert len(ax.lines[3].get_xdata()) == res.n_steps + 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A1", "B2", "Output", "Input1"]
    assert ink(ax.figure) > 0.03


def test_traces_default_and_single_name(res, net):
    """Default: the hidden neurons (at most `max_neurons`); a single name is one line."""
    assert len(plot.traces(res).lines) == net.n_neurons
    plt.close("all")
    assert len(plot.traces(res, max_neurons=2).lines) == 2
    plt.close("all")
    assert [line.get_label() for line in plot.traces(res, "B1").lines] == ["B1"]


def test_traces_integer_names():
    """Integer and tuple node names work, alone and in lists."""
    G = nx.DiGraph([(0, (1, 2)), ((1, 2), 0)])
    r = sim.run(sim.compile(G), 3, h0=[0.5, -0.5])
    assert [line.get_label() for line in plot.traces(r, (1, 2)).lines] == ["(1, 2)"]
    plt.close("all")
    assert len(plot.traces(r, [0, (1, 2)]).lines) == 2


# -------------------------------------------------------------------- graph
def test_graph_artists(net, res):
    """One node collection per role, one arrow per edge, one label per node, a colour bar."""
    ax = plot.graph(net, res, step=2)
    groups = node_groups(ax)
    assert [c.get_label() for c in groups] == ["inputs", "neurons", "outputs"]
    assert [len(c.get_offsets()) for c in groups] == [2, 4, 1]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == net.n_edges
    names = sorted(t.get_text() for t in ax.texts)
    assert names == sorted(["Input1", "Input2", "A1", "A2", "B1", "B2", "Output"])
    assert len(ax.figure.axes) == 2
    assert ax.get_title() == "step 2"
    assert ink(ax.figure) > 0.05


def test_graph_edge_colours_follow_sign(net):
    """Negative weights are drawn in another colour than positive ones, and wider for larger magnitude."""
    ax = plot.graph(net)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    neg = [k for k, w in enumerate(net.weight) if w < 0]
    pos = [k for k, w in enumerate(net.weight) if w > 0]
    assert neg and pos
    colour = {tuple(arrows[k].get_edgecolor()[:3]) for k in neg}
    assert colour.isdisjoint({tuple(arrows[k].get_edgecolor()[:3]) for k in pos})
    widths = np.array([a.get_linewidth() for a in arrows])
    biggest = int(np.argmax(np.abs(net.weight)))
    assert widths[biggest] == widths.max() > widths.min()


def test_graph_colours_change_between_steps(net, res):
    """Node colours follow the activity: two steps give different node colours and different pixels."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 3))
    plot.graph(net, res, step=1, ax=a, colorbar=False)
    first = pixels(fig)
    colours_1 = node_groups(a)[1].get_facecolor().copy()
    a.clear()
    plot.graph(net, res, step=3, ax=a, colorbar=False)
    second = pixels(fig)
    colours_3 = node_groups(a)[1].get_facecolor()
    assert not np.allclose(colours_1, colours_3)
    assert np.any(first != second, axis=-1).mean() > 0.002


def test_graph_colour_is_activity(net, res):
    """A node's face colour is the colour map at its normalised activity; inputs at row 0 are neutral."""
    ax = plot.graph(net, res, step=1, colorbar=False, vmin=-1, vmax=1)
    cmap = matplotlib.colormaps["RdBu_r"]
    neurons = node_groups(ax)[1]
    expected = cmap((res.states[1] + 1) / 2)
    np.testing.assert_allclose(neurons.get_facecolor(), expected, atol=1e-6)
    plt.close("all")
    ax = plot.graph(net, res, step=0, colorbar=False)
    inputs = node_groups(ax)[0]
    np.testing.assert_allclose(inputs.get_facecolor()[:, :3], [matplotlib.colors.to_rgb(plot.NEUTRAL)] * 2)


def test_graph_without_run_is_neutral(net):
    """Without a run every node is grey and there is no colour bar."""
    ax = plot.graph(net)
    for coll in node_groups(ax):
        for colour in coll.get_facecolor():
            np.testing.assert_allclose(colour[:3], matplotlib.colors.to_rgb(plot.NEUTRAL))
    assert len(ax.figure.axes) == 1


def test_graph_refuses_a_run_of_another_network(net, res):
    """A run that shares no node with the drawn network is refused; one that
    lacks some nodes leaves just those grey."""
    other = sim.compile(nx.DiGraph([("p", "q"), ("q", "p")]))
    with pytest.raises(ValueError, match="`res` is a run of another network"):
        plot.graph(other, res)
    partial = sim.compile(nx.DiGraph([("A1", "B1"), ("B1", "Z")]))
    assert partial.neurons == ("A1", "B1", "Z")
    (coll,) = node_groups(plot.graph(partial, res, step=2))
    colours = coll.get_facecolor()[:, :3]
    np.testing.assert_allclose(colours[2], matplotlib.colors.to_rgb(plot.NEUTRAL))
    assert not np.allclose(colours[:2], matplotlib.colors.to_rgb(plot.NEUTRAL))


def test_graph_positions(net, four_neuron):
    """Positions come from `pos`, else the graph's `pos` attributes, else a seeded layout."""
    G = four_neuron
    for n, (x, y) in zip(G, [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1), (3, 0)]):
        G.nodes[n]["pos"] = (x, y)
    carried = plot.graph(sim.compile(G))
    np.testing.assert_allclose(node_groups(carried)[0].get_offsets(), [(0, 0), (0, 1)])
    given = {n: (i, -i) for i, n in enumerate(G)}
    ax = plot.graph(net, pos=given)
    np.testing.assert_allclose(node_groups(ax)[2].get_offsets(), [(6, -6)])
    one = node_groups(plot.graph(net))[1].get_offsets()
    two = node_groups(plot.graph(net))[1].get_offsets()
    np.testing.assert_allclose(one, two)
    assert len(node_groups(plot.graph(net, pos="circular"))) == 3


def test_graph_large_uses_line_collection():
    """Past `arrows`'s default limit the edges are one LineCollection and nodes have no labels."""
    G = nx.gnm_random_graph(60, 400, seed=1, directed=True)
    big = sim.compile(G)
    ax = plot.graph(big, sim.run(big, 2, h0=np.linspace(-1, 1, 60)))
    assert [len(c.get_paths()) for c in ax.collections if isinstance(c, LineCollection)] == [400]
    assert not ax.texts


def test_graph_batch(net, batched):
    """`batch` chooses the element coloured."""
    a = node_groups(plot.graph(net, batched, step=1, batch=0, colorbar=False))[1].get_facecolor()
    b = node_groups(plot.graph(net, batched, step=1, batch=1, colorbar=False))[1].get_facecolor()
    assert not np.allclose(a, b)


def delay_texts(ax) -> dict:
    """The delay labels of a drawn graph, text -> count."""
    texts = [t.get_text() for t in ax.texts if t.get_gid() == "delay"]
    return {t: texts.count(t) for t in texts}


def test_graph_labels_non_default_delays():
    """Edges whose delay differs from their kind's default carry it; default ones carry nothing."""
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    G.add_edge("x", "a", delay=3)          # input -> hidden: default 0
    G.add_edge("a", "b", delay=0)          # hidden -> hidden: default 1 (same step)
    G.add_edge("b", "a")                   # default 1: no label
    G.add_edge("b", "b", delay=4)
    G.add_edge("b", "y")                   # hidden -> output: default 0
    net = sim.compile(G)
    ax = plot.graph(net, sim.run(net, np.ones((6, 1))))
    assert delay_texts(ax) == {"3": 1, "0": 1, "4": 1}
    assert delay_texts(plot.graph(net, delays=False)) == {}
    plain = sim.compile(tp.four_neuron())
    assert delay_texts(plot.graph(plain)) == {}
    assert delay_texts(plot.graph(plain, delays=True)) == {}
    anim = plot.animate(net, sim.run(net, np.ones((3, 1))), delays=True)
    assert delay_texts(anim.ax) == {"3": 1, "0": 1, "4": 1}
    anim._draw_was_started = True  # not rendered in this test


# ------------------------------------------------------------------ animate
def test_animate_frames_and_html(net, res):
    """The animation has one frame per chosen step and shows as a JavaScript player, whatever rcParams say."""
    anim = plot.animate(net, res, steps=[0, 3, 5])
    assert anim.steps == (0, 3, 5)
    assert plt.get_fignums() == []  # no pyplot figure: Jupyter shows no static copy
    with matplotlib.rc_context({"animation.html": "none"}):
        html = anim._repr_html_()
    assert "<script" in html
    assert len(re.findall(r'frames\[\d+\] = "data:image', html)) == 3
    assert anim.ax.get_title() == "step 5"  # the last frame drawn


def test_animate_default_steps(net, res):
    """Default frames: every row, thinned evenly to `max_frames`; slices select rows."""
    anim = plot.animate(net, res)
    assert anim.steps == tuple(range(res.n_steps + 1))
    anim._draw_was_started = True  # not rendered in this test
    thin = plot.animate(net, res, max_frames=4)
    assert thin.steps[0] == 0 and thin.steps[-1] == res.n_steps and len(thin.steps) == 4
    thin._draw_was_started = True
    sliced = plot.animate(net, res, steps=slice(None, None, 4))
    assert sliced.steps == (0, 4, 8)
    sliced._draw_was_started = True


def test_animate_updates_colours_in_place(net, res):
    """A frame recolours the same node collections: no artists are added."""
    anim = plot.animate(net, res, steps=[1, 3])
    ax = anim.ax
    before = (len(ax.collections), len(ax.patches), len(ax.texts))
    colours = node_groups(ax)[1].get_facecolor().copy()
    anim._func(3)
    assert (len(ax.collections), len(ax.patches), len(ax.texts)) == before
    assert not np.allclose(colours, node_groups(ax)[1].get_facecolor())
    anim._draw_was_started = True


# ------------------------------------------------------------ gradient flow
def test_gradient_flow_single(grads):
    """One line on a log scale with the norms of diagnostics["dh_norm"]."""
    ax = plot.gradient_flow(grads, label="tanh")
    assert ax.get_yscale() == "log"
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_ydata(), np.where(grads.diagnostics["dh_norm"] > 0,
                                                          grads.diagnostics["dh_norm"], np.nan))
    assert line.get_label() == "tanh"
    assert ink(ax.figure) > 0.02


def test_gradient_flow_overlay(grads):
    """A dict overlays one labelled curve per entry; arrays work too; zeros leave gaps without warnings."""
    ax = plot.gradient_flow({"a": grads, "b": np.array([0.0, 1e-3, 1e-2, 1.0])}, label="activation")
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert np.isnan(ax.lines[1].get_ydata()[0])
    assert ax.get_legend().get_title().get_text() == "activation"
    ax.figure.canvas.draw()


def test_gradient_flow_needs_diagnostics(net):
    """A Gradients without diagnostics says to pass return_diagnostics=True."""
    _, plain = sim.bptt(net, np.ones((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="return_diagnostics=True"):
        plot.gradient_flow(plain)
    with pytest.raises(ValueError, match=r"`grads\['x'\]` has no diagnostics"):
        plot.gradient_flow({"x": plain})
    with pytest.raises(ValueError, match="must be 1-D"):
        plot.gradient_flow(np.ones((2, 3)))
    with pytest.raises(ValueError, match="empty dict"):
        plot.gradient_flow({})


# ----------------------------------------------------------------- training
def test_training_loss_and_grad_norm():
    """Loss on a log axis, gradient norm on a twin axis, one legend for both."""
    history = {"loss": np.array([1.0, 0.5, 0.25, 0.0]), "grad_norm": np.array([3.0, 2.0, 1.0, 0.5])}
    ax = plot.training(history)
    assert ax.get_yscale() == "log"
    assert len(ax.figure.axes) == 2
    twin = ax.figure.axes[1]
    assert twin.get_yscale() == "log"
    np.testing.assert_allclose(twin.lines[0].get_ydata(), history["grad_norm"])
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 2, 3, 4])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "gradient norm"]
    ax.figure.canvas.draw()


def test_training_from_train(net):
    """The history of sim.train plots directly; a plain array of losses too."""
    x, y = np.ones((4, 2)), np.full((4, 1), 0.2)
    _, history = sim.train(net, x, y, epochs=5, lr=0.05, progress=False)
    assert len(plot.training(history).lines) == 1
    plt.close("all")
    ax = plot.training(history["loss"])
    assert len(ax.figure.axes) == 1
    with pytest.raises(KeyError, match="no 'loss'"):
        plot.training({"grad_norm": [1.0]})
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plot.training([])


# ------------------------------------------------------------- trajectories
def test_trajectories_runs_and_reference(net):
    """One line per fixed-step run, labelled with method and dt, then the ODE as the last line."""
    pulse = np.zeros((4, 2))
    pulse[0, 0] = 1.0
    runs = {dt: sim.run(net, np.repeat(pulse, round(1 / dt), axis=0), dt=dt, method="euler") for dt in (0.5, 0.25)}
    ode = sim.solve(net, pulse, (0.0, 4.0), dt=1.0, method="RK45", t_eval=np.linspace(0, 4, 9))
    ax = plot.trajectories(runs, ode, neuron="B1")
    assert [line.get_label() for line in ax.lines] == ["euler dt = 0.5", "euler dt = 0.25", "ODE (RK45)"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), runs[0.25]["B1"])
    assert ax.lines[-1].get_linewidth() > ax.lines[0].get_linewidth()
    plt.close("all")
    listed = plot.trajectories(list(runs.values()))
    assert [line.get_label() for line in listed.lines] == ["euler dt = 0.5", "euler dt = 0.25"]
    np.testing.assert_allclose(listed.lines[0].get_ydata(), runs[0.5]["A1"])  # default: first neuron
    assert ink(listed.figure) > 0.02


# ----------------------------------------------------------- phase portrait
@pytest.fixture
def oscillator():
    G = nx.DiGraph([("u", "v", {"weight": 1.5}), ("v", "u", {"weight": -1.5}), ("u", "u", {"weight": 0.5})])
    n = sim.compile(G)
    return n, sim.run(n, 60, h0=[0.8, 0.0], dt=0.1, method="rk4")


def test_phase_portrait_trajectory(oscillator):
    """The trajectory, start and end markers, and direction arrows."""
    net, r = oscillator
    ax = plot.phase_portrait(r, "u", "v", arrows=4)
    traj, start, end = ax.lines[:3]
    np.testing.assert_allclose(traj.get_xdata(), r["u"])
    np.testing.assert_allclose(traj.get_ydata(), r["v"])
    assert (start.get_xdata()[0], end.get_xdata()[0]) == (r["u"][0], r["u"][-1])
    assert len(ax.texts) == 4  # annotate arrows
    assert not ax.collections  # no field without net


def test_phase_portrait_field_matches_rhs(oscillator):
    """The quiver field is (-h + tanh(W h)) / tau at the grid points."""
    net, r = oscillator
    ax = plot.phase_portrait(r, "u", "v", net=net, field="quiver", grid=5, xlim=(-1, 1), ylim=(-1, 1),
                             nullclines=False)
    (q,) = [c for c in ax.collections if isinstance(c, Quiver)]
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
    np.testing.assert_allclose(q.U.reshape(5, 5), -X + np.tanh(0.5 * X - 1.5 * Y), atol=1e-12)
    np.testing.assert_allclose(q.V.reshape(5, 5), -Y + np.tanh(1.5 * X), atol=1e-12)
    assert ax.get_xlim() == (-1, 1)


def test_phase_portrait_stream_in_larger_network(net, res):
    """With more neurons the others are held at their final state; stream lines and nullclines draw."""
    ax = plot.phase_portrait(res, "A1", "B1", net=net)
    assert any(isinstance(c, LineCollection) for c in ax.collections)
    assert ink(ax.figure) > 0.05


# ------------------------------------------------------------------- errors
def test_unknown_names(net, res):
    """Unknown node names raise KeyError naming the node."""
    with pytest.raises(KeyError, match="'Z9'"):
        plot.activity(res, neurons=["A1", "Z9"])
    with pytest.raises(KeyError, match="'Z9'"):
        plot.traces(res, "Z9")
    with pytest.raises(KeyError, match="'Z9'"):
        plot.trajectories([res], neuron="Z9")
    with pytest.raises(KeyError, match="'Z9'"):
        plot.phase_portrait(res, "A1", "Z9")


def test_out_of_range(net, res, batched):
    """A batch or step out of range is a ValueError naming the argument and the range."""
    with pytest.raises(ValueError, match=r"`batch` is 3 but the run has a batch of 3 \(0..2\)"):
        plot.activity(batched, batch=3)
    with pytest.raises(ValueError, match="`batch` is 1 but the run is not batched"):
        plot.traces(res, batch=1)
    with pytest.raises(ValueError, match=r"`step` is 9 but the run has 9 rows"):
        plot.graph(net, res, step=9)
    with pytest.raises(ValueError, match="`step` is -10"):
        plot.animate(net, res, steps=[0, -10])
    with pytest.raises(TypeError, match="`step` must be an int"):
        plot.graph(net, res, step=1.5)


def test_bad_arguments(net, res):
    """Other bad input names the argument at fault."""
    with pytest.raises(ValueError, match="`pos` has no position for node 'Output'"):
        plot.graph(net, pos={n: (0, 0) for n in ("Input1", "Input2", "A1", "A2", "B1", "B2")})
    with pytest.raises(ValueError, match="'spring'"):
        plot.graph(net, pos="tree")
    with pytest.raises(TypeError, match="`res` must be a Result"):
        plot.activity(res.states)
    with pytest.raises(TypeError, match="`net` must be a Network"):
        plot.graph(res)
    with pytest.raises(ValueError, match="'Output' is an output, not a hidden neuron"):
        plot.phase_portrait(res, "A1", "Output")
    with pytest.raises(ValueError, match="both 'A1'"):
        plot.phase_portrait(res, "A1", "A1")
    with pytest.raises(ValueError, match="`field` must be one of 'stream', 'quiver'"):
        plot.phase_portrait(res, "A1", "B1", net=net, field="arrows")
    with pytest.raises(ValueError, match=r"`drive` must have shape \(2,\)"):
        plot.phase_portrait(res, "A1", "B1", net=net, drive=[1.0])
    with pytest.raises(ValueError, match="`steps` is empty"):
        plot.animate(net, res, steps=[])
    with pytest.raises(TypeError, match="`steps` must be a sequence"):
        plot.animate(net, res, steps=5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        plot.animate(net, res, colour="red")
    with pytest.raises(ValueError, match="`runs` is empty"):
        plot.trajectories({})


def test_missing_matplotlib_message(monkeypatch, res):
    """Without matplotlib the error says how to install it."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "graphrnn\[plot\]"'):
        plot.activity(res)


def test_trajectories_without_hidden_neurons_asks_for_a_node():
    """With no hidden neuron to default to, trajectories says so (an output can be named)."""
    G = nx.DiGraph([("x", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    res = sim.run(sim.compile(G), np.ones((3, 1)))
    with pytest.raises(ValueError, match="nothing to show: the network has no hidden neurons; name an output"):
        plot.trajectories(res)
    assert plot.trajectories(res, neuron="y").lines[0].get_label() == "run"
    plt.close("all")
