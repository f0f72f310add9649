"""`simulator.train`, the optimizers and the word-order task."""

import warnings

import networkx as nx
import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator.bptt import SparseReadoutWarning
from simulator.optim import adam_step, sgd_step
from simulator.trainable import trained_masks


def test_adam_matches_the_paper_by_hand():
    """Two Adam steps equal the update written out from Kingma & Ba."""
    p, g1, g2 = np.array([1.0, -2.0]), np.array([0.5, -1.0]), np.array([0.2, 0.3])
    (p1,), s = adam_step([p], [g1], {}, lr=0.1)
    (p2,), s = adam_step([p1], [g2], s, lr=0.1)
    m1, v1 = 0.1 * g1, 0.001 * g1**2
    m2, v2 = 0.9 * m1 + 0.1 * g2, 0.999 * v1 + 0.001 * g2**2
    e1 = p - 0.1 * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + 1e-8)
    e2 = e1 - 0.1 * (m2 / (1 - 0.81)) / (np.sqrt(v2 / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(p2, e2, rtol=1e-14)


def test_sgd_momentum_by_hand():
    """Heavy-ball momentum: v = mu v + g, p -= lr v."""
    (p1,), s = sgd_step([np.array([1.0])], [np.array([2.0])], {}, lr=0.1, momentum=0.9)
    (p2,), s = sgd_step([p1], [np.array([1.0])], s, lr=0.1, momentum=0.9)
    assert p1[0] == pytest.approx(0.8) and p2[0] == pytest.approx(0.8 - 0.1 * (1.8 + 1.0))


def test_word_order_reaches_full_accuracy():
    """An Elman network learns statement / question / nonsense from word order alone."""
    x, classes = sim.tasks.word_order(60, seed=0)
    net = sim.compile(tp.elman(3, 8, 3, seed=1))
    trained, history = sim.train(net, x, classes, loss="cross_entropy", epochs=150, lr=0.05, seed=0,
                                 progress=False)
    predicted = sim.run(trained, x).outputs[-1].argmax(axis=1)
    assert (predicted == classes[-1]).all()
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    H = trained.to_networkx()
    for (u, v), w in zip(trained.edges, trained.weight):
        assert H.edges[u, v]["weight"] == w


def test_frozen_parameters_do_not_move():
    """Only the edges and nodes named trainable change."""
    net = sim.compile(tp.elman(2, 4, 1, seed=2))
    x = np.random.default_rng(0).normal(size=(6, 2))
    y = np.random.default_rng(1).normal(size=(6, 1))
    edges = [("in0", "h1"), ("h2", "out0")]
    trained, _ = sim.train(net, x, y, epochs=5, progress=False, trainable={"weight": edges, "bias": ["h3"]})
    moved = np.flatnonzero(trained.weight != net.weight)
    assert sorted(trained.edges[e] for e in moved) == sorted(edges)
    assert np.flatnonzero(trained.bias != net.bias).tolist() == [net.neurons.index("h3")]
    only_bias, _ = sim.train(net, x, y, epochs=3, progress=False, trainable=["bias"])
    np.testing.assert_array_equal(only_bias.weight, net.weight)


def test_minibatches_are_seeded_and_callback_stops():
    """The same seed gives the same training; a callback returning True stops it."""
    x, classes = sim.tasks.word_order(12, seed=3)
    net = sim.compile(tp.elman(3, 5, 3, seed=4))
    kw = dict(loss="cross_entropy", epochs=4, batch_size=5, progress=False)
    a, ha = sim.train(net, x, classes, seed=7, **kw)
    b, hb = sim.train(net, x, classes, seed=7, **kw)
    np.testing.assert_array_equal(a.weight, b.weight)
    assert ha["loss"].shape == ha["grad_norm"].shape == (4,)
    seen = []
    _, hc = sim.train(net, x, classes, seed=7, callback=lambda e, n, l: seen.append(e) or e == 1, **kw)
    assert seen == [0, 1] and len(hc["loss"]) == 2


def test_progress_bar_runs_with_or_without_tqdm():
    """progress=True is silent without tqdm and shows a bar with it."""
    net = sim.compile(tp.elman(1, 3, 1, seed=0))
    trained, history = sim.train(net, np.ones((4, 1)), np.zeros((4, 1)), epochs=2, progress=True)
    assert len(history["loss"]) == 2


@pytest.mark.parametrize("kwargs, kind, match", [
    ({"optimizer": "lbfgs"}, ValueError, r"`optimizer` must be one of 'sgd', 'adam', got 'lbfgs'"),
    ({"epochs": 0}, ValueError, r"`epochs` must be a positive int, got 0"),
    ({"lr": -1.0}, ValueError, r"`lr` must be a positive number, got -1.0"),
    ({"batch_size": 2}, ValueError, r"`batch_size` needs a batched `x`"),
    ({"trainable": {"gain": True}}, ValueError, r"`trainable` has unknown kind 'gain'"),
    ({"trainable": {"weight": [("h0", "in0")]}}, ValueError, r"edge \('h0', 'in0'\) is not in the network"),
    ({"trainable": {"bias": ["in0"]}}, ValueError, r"node 'in0' is an input and has no bias"),
    ({"trainable": "weight"}, TypeError, r"`trainable` must be a list of kinds or a mapping"),
    ({"trainable": {"weight": [0, 1]}}, ValueError,
     r"`trainable\['weight'\]` lists edges as \(source, target\) pairs, or is a boolean mask aligned with "
     r"net.edges; got 0"),
    ({"trainable": {"weight": [True, False]}}, ValueError,
     r"`trainable\['weight'\]` as a mask must have one entry per parameter, 8; got 2"),
    ({"momentum": 0.9}, TypeError, r"optimizer 'adam' has no option 'momentum'; its options are beta1, beta2, eps"),
    ({"optimizer": "sgd", "momentum": 1.5}, ValueError, r"optimizer 'sgd' needs 0 <= momentum < 1, got 1.5"),
    ({"beta1": 1.0}, ValueError, r"optimizer 'adam' needs 0 <= beta1 < 1, got 1.0"),
    ({"eps": 0.0}, ValueError, r"optimizer 'adam' needs eps > 0, got 0.0"),
    ({"clip": 0.0}, ValueError, r"`clip` must be a positive number, got 0.0"),
    ({"dt": 0.1, "method": "euler", "min_tau": -1.0}, ValueError, r"`min_tau` must be a positive number, got -1.0"),
    ({"method": "rk4"}, ValueError, r"`method='rk4'` needs a time step `dt`"),
])
def test_train_errors(kwargs, kind, match):
    """Bad options are refused before any work."""
    net = sim.compile(tp.elman(1, 2, 1, seed=0))
    with pytest.raises(kind, match=match):
        sim.train(net, np.ones((3, 1)), np.zeros((3, 1)), progress=False, **kwargs)


def test_sine_prediction_reaches_low_error():
    """A small Elman network trained by BPTT predicts a sine one step ahead with low error."""
    x, y = sim.tasks.sine(60, n_samples=4, period=15.0, seed=0)
    net = sim.compile(tp.elman(1, 10, 1, seed=0))
    baseline = float(np.mean((x - y) ** 2))  # predicting "no change"
    trained, history = sim.train(net, x, y, epochs=500, lr=0.02, seed=0, progress=False)
    assert history["loss"][-1] < 0.01 * baseline  # measured: 3.0e-4 against 8.6e-2


def test_delayed_recall_and_adding_targets():
    """The generated targets follow their definitions."""
    x, classes = sim.tasks.delayed_recall(12, delay=4, n_samples=5, n_symbols=3, seed=1)
    np.testing.assert_array_equal(classes[4:], x[:-4].argmax(axis=2))
    assert (classes[:4] == -1).all()
    x, y = sim.tasks.adding(16, 6, seed=2)
    assert (x[..., 1].sum(axis=0) == 2).all()
    np.testing.assert_allclose(y[-1, :, 0], (x[..., 0] * x[..., 1]).sum(axis=0))
    with pytest.raises(ValueError, match=r"`delay` must be an int in \[0, n_steps\), got 12"):
        sim.tasks.delayed_recall(12, delay=12)


def test_continuous_training_learns_time_constants():
    """In continuous time (exponential Euler) training moves weights and taus and lowers the loss."""
    x, y = sim.tasks.sine(40, n_samples=2, period=12.0, seed=1)
    net = sim.compile(tp.elman(1, 6, 1, seed=3))
    trained, history = sim.train(net, x, y, dt=0.5, method="exp_euler", epochs=60, lr=0.02, seed=0,
                                 progress=False)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert not np.array_equal(trained.tau, net.tau) and (trained.tau > 0).all()
    assert trained.to_networkx().nodes["h0"]["tau"] == float(trained.tau[0])


def _runaway_graph():
    """x -> h -> y with an identity neuron on a self-loop: SGD at a large
    rate drives the loop's weight up until the forward pass overflows."""
    G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    G.nodes["h"]["activation"] = "identity"
    return G


def test_diverging_training_stops_and_keeps_the_last_finite_network():
    """When the forward pass overflows, training warns, stops, and returns
    the last network whose loss and gradients were finite: the network that
    training for the completed epochs minus one gives, whose own loss and
    gradients are finite."""
    net = sim.compile(_runaway_graph())
    x, y = np.ones((20, 1)), np.full((20, 1), 50.0)
    kw = dict(optimizer="sgd", lr=1.0, progress=False)
    with pytest.warns(sim.TrainingDiverged, match=r"training stopped in epoch (\d+): the forward pass overflowed "
                                                 r"\(the output became non-finite at step \d+: first in output 'y'"):
        stopped, history = sim.train(net, x, y, epochs=30, **kw)
    done = len(history["loss"])
    assert 1 <= done < 30 and np.isfinite(history["loss"]).all() and np.isfinite(history["grad_norm"]).all()
    last_finite, _ = sim.train(net, x, y, epochs=done - 1, **kw) if done > 1 else (net, None)
    np.testing.assert_array_equal(stopped.weight, last_finite.weight)
    loss, grads = sim.bptt(stopped, x, y)
    assert np.isfinite(loss) and np.isfinite(grads.norm())


def test_history_records_the_gradient_norm_before_clipping():
    """``grad_norm`` is the norm of the trained parameters' gradients
    (weights and biases here; not h0, which does not train); the update
    uses them scaled to `clip` (plain SGD, checked by hand)."""
    net = sim.compile(tp.elman(1, 3, 1, seed=0))
    x, y = np.ones((6, 1)), np.full((6, 1), 2.0)
    _, grads = sim.bptt(net, x, y)
    norm = np.sqrt(np.sum(grads.weight ** 2) + np.sum(grads.bias ** 2))
    trained, history = sim.train(net, x, y, epochs=1, optimizer="sgd", lr=0.1, clip=0.01, progress=False)
    assert norm > 0.01 and history["grad_norm"][0] == pytest.approx(norm, rel=1e-12)
    np.testing.assert_allclose(trained.weight, net.weight - 0.1 * 0.01 / norm * grads.weight, rtol=1e-12)


def test_clipping_counts_only_what_trains():
    """With biases frozen, the norm and the clipped step use the weights' gradients alone."""
    net = sim.compile(tp.elman(1, 3, 1, seed=0))
    x, y = np.ones((6, 1)), np.full((6, 1), 2.0)
    _, grads = sim.bptt(net, x, y)
    norm = np.linalg.norm(grads.weight)
    trained, history = sim.train(net, x, y, epochs=1, optimizer="sgd", lr=0.1, clip=0.01, trainable=["weight"],
                                 progress=False)
    assert norm > 0.01 and history["grad_norm"][0] == pytest.approx(norm, rel=1e-12)
    np.testing.assert_allclose(trained.weight, net.weight - 0.1 * 0.01 / norm * grads.weight, rtol=1e-12)
    np.testing.assert_array_equal(trained.bias, net.bias)


@pytest.mark.parametrize("kw", [{}, {"trainable": {"weight": True, "bias": ["h"]}},
                                {"dt": 0.5, "method": "rk4"}], ids=["default", "frozen", "continuous"])
def test_a_clipped_train_step_is_a_step_with_bptts_clipped_gradients(kw):
    """`train` and `bptt` clip by one rule: one SGD step of `train` with
    `clip` equals a step by hand with `bptt`'s clipped gradients, here where
    clipping is active and h0's gradient is large (it is in neither norm)."""
    G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "g"), ("g", "h"), ("g", "g"), ("h", "y"), ("g", "y")])
    G.nodes["x"]["role"], G.nodes["y"]["role"] = "input", "output"
    net = sim.compile(G)
    x, y, h0 = np.ones((6, 1)), np.full((6, 1), 2.0), np.array([0.9, -0.7])
    trainable = kw.get("trainable")
    kw = {k: v for k, v in kw.items() if k != "trainable"}
    _, full = sim.bptt(net, x, y, h0=h0, **kw)
    _, clipped = sim.bptt(net, x, y, h0=h0, clip=0.01, trainable=trainable, **kw)
    assert np.linalg.norm(full.h0) > 0.1 and not np.allclose(clipped.weight, full.weight)
    trained, _ = sim.train(net, x, y, epochs=1, optimizer="sgd", lr=0.1, clip=0.01, h0=h0, trainable=trainable,
                           progress=False, **kw)
    masks = trained_masks(net, trainable, "dt" in kw)
    np.testing.assert_allclose(trained.weight, net.weight - 0.1 * clipped.weight * masks["weight"], rtol=1e-14)
    np.testing.assert_allclose(trained.bias, net.bias - 0.1 * clipped.bias * masks["bias"], rtol=1e-14)
    np.testing.assert_allclose(trained.tau, net.tau - 0.1 * clipped.tau * masks["tau"], rtol=1e-14)


def test_train_warns_once_about_an_output_that_reads_few_neurons():
    """A hand-drawn graph whose output reads 2 of 30 neurons: one warning per
    call (not per epoch or minibatch) naming the output; none once the
    readout is wired with `tp.init_weights(..., kinds="hidden->output")`."""
    n = 30
    G = nx.DiGraph([(i, (i + 1) % n) for i in range(n)])
    G.add_node("in", role="input")
    G.add_node("out", role="output")
    G.add_edges_from(("in", i) for i in range(0, n, 4))
    G.add_edges_from([(0, "out"), (15, "out")])
    x, y = sim.tasks.sine(20, n_samples=4, period=10, seed=0)
    with pytest.warns(SparseReadoutWarning) as record:
        sim.train(sim.compile(G), x, y, epochs=3, batch_size=2, seed=0, progress=False)
    sparse = [w for w in record if issubclass(w.category, SparseReadoutWarning)]
    assert len(sparse) == 1 and "output 'out' reads only 2 of the 30 hidden neurons" in str(sparse[0].message)
    assert sparse[0].filename == __file__
    G.add_edges_from((i, "out") for i in range(n))
    tp.init_weights(G, kinds="hidden->output", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SparseReadoutWarning)
        sim.train(sim.compile(G), x, y, epochs=2, progress=False)


def test_discrete_training_warns_about_tau_options():
    """tau plays no part in discrete time: training it, or `min_tau`, warns;
    a callback that cannot be called is refused before any epoch runs."""
    net = sim.compile(tp.elman(1, 3, 1, seed=0))
    x, y = np.ones((4, 1)), np.zeros((4, 1))
    with pytest.warns(UserWarning, match=r"training `tau` has no effect in discrete time"):
        sim.train(net, x, y, epochs=1, trainable=["weight", "tau"], progress=False)
    with pytest.warns(UserWarning, match=r"`min_tau` has no effect in discrete time"):
        sim.train(net, x, y, epochs=1, min_tau=0.1, progress=False)
    with pytest.raises(TypeError, match=r"`callback` must be callable as callback\(epoch, net, loss\), got 3"):
        sim.train(net, x, y, epochs=1, callback=3, progress=False)


def test_gradient_norm_does_not_overflow():
    g = sim.Gradients(np.array([3e200, 4e200]), np.zeros(1), np.zeros(0), np.zeros(1))
    assert g.norm() == pytest.approx(5e200, rel=1e-15)
    assert np.isnan(sim.Gradients(np.array([np.nan]), np.zeros(1), np.zeros(0), np.zeros(1)).norm())


def test_time_constants_stay_at_or_above_min_tau():
    """SGD pushes small taus below zero; they are held at `min_tau` (default
    dt), and training goes on where it used to stop with a bad tau."""
    G = tp.elman(1, 4, 1, seed=0)
    for _, data in G.nodes(data=True):
        if data.get("role") is None:
            data["tau"] = 0.2
    net = sim.compile(G)
    x = np.sin(np.arange(40) / 3)[:, None]
    y = 0.5 * np.cos(np.arange(40) / 3)[:, None]
    kw = dict(epochs=5, lr=1.0, dt=0.1, method="euler", optimizer="sgd", progress=False)
    trained, history = sim.train(net, x, y, **kw)
    assert len(history["loss"]) == 5 and trained.tau.min() == 0.1
    trained, _ = sim.train(net, x, y, min_tau=0.15, **kw)
    assert trained.tau.min() == 0.15


def test_a_free_run_trains_like_zero_inputs():
    """``x`` as a number of steps is a free run, as in bptt."""
    net = sim.compile(tp.elman(2, 3, 1, seed=0))
    h0 = np.array([0.5, -0.3, 0.2])
    y = np.full((4, 1), 0.3)
    a, ha = sim.train(net, 4, y, h0=h0, epochs=3, progress=False)
    b, hb = sim.train(net, np.zeros((4, 2)), y, h0=h0, epochs=3, progress=False)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(ha["loss"], hb["loss"])


def test_a_batched_h0_with_shared_inputs_trains_the_whole_batch():
    """A batched h0 with unbatched x is the batch on shared inputs: the same
    training as with the inputs repeated along a batch axis."""
    net = sim.compile(tp.elman(1, 3, 1, seed=0))
    x = np.random.default_rng(0).normal(size=(5, 1))
    h0 = np.random.default_rng(1).normal(size=(2, 3))
    y = np.random.default_rng(2).normal(size=(5, 2, 1))
    a, ha = sim.train(net, x, y, h0=h0, epochs=3, progress=False)
    b, hb = sim.train(net, np.repeat(x[:, None, :], 2, axis=1), y, h0=h0, epochs=3, progress=False)
    np.testing.assert_allclose(a.weight, b.weight, rtol=1e-13)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-13)


def test_boolean_masks_choose_what_trains():
    net = sim.compile(tp.elman(2, 4, 1, seed=2))
    x = np.random.default_rng(0).normal(size=(6, 2))
    y = np.random.default_rng(1).normal(size=(6, 1))
    mask = np.arange(net.n_edges) % 3 == 0
    trained, _ = sim.train(net, x, y, epochs=3, progress=False, trainable={"weight": mask})
    np.testing.assert_array_equal(trained.weight != net.weight, mask)
    np.testing.assert_array_equal(trained.bias, net.bias)


def test_a_batch_of_none_is_refused():
    net = sim.compile(tp.elman(1, 2, 1, seed=0))
    with pytest.raises(ValueError, match=r"`x` has shape \(3, 0, 1\): a batch of 0 sequences, nothing to train on"):
        sim.train(net, np.ones((3, 0, 1)), np.zeros((3, 0, 1)), progress=False)
