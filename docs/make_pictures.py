"""Draw the pictures of the documentation into ``docs/img/`` with `simulator.plot`.

Run from anywhere: ``python docs/make_pictures.py``. Every input is seeded,
so the pictures change only when the code does.

* ``four_neuron.png``: the design's four-neuron network coloured by its
  activity at one step, beside the heat map of the whole run;
* ``continuous.png``: neuron B1 in continuous time, Euler at dt = 0.2, 0.1,
  0.05 against the ODE solution, and the phase portrait of a two-neuron
  oscillator with its vector field;
* ``gradients.png``: gradient flow through time in a random recurrent network
  with tanh, sigmoid and relu neurons, and a training curve.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import simulator as sim  # noqa: E402
import topologies as tp  # noqa: E402
from simulator import plot  # noqa: E402

OUT = Path(__file__).resolve().parent / "img"
DPI = 80
SEED = 0


def _save(fig, name: str) -> Path:
    path = OUT / name
    # Fixed metadata: the same figure gives the same bytes on every run.
    fig.savefig(path, dpi=DPI, metadata={"Software": None}, pil_kwargs={"optimize": True})
    plt.close(fig)
    return path


def four_neuron() -> Path:
    """The four-neuron network: a pulse on Input1 at step 0, on Input2 at step 2."""
    net = sim.compile(tp.four_neuron(self_weight=0.8))
    x = np.zeros((10, net.n_inputs))
    x[0, net.inputs.index("Input1")] = 1.0
    x[2, net.inputs.index("Input2")] = -1.0
    res = sim.run(net, x)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained",
                                      gridspec_kw={"width_ratios": [1.1, 1]})
    plot.graph(net, res, step=4, ax=left, title="Four-neuron network at step 4")
    plot.activity(res, neurons=list(net.neurons) + ["Output"], ax=right, title="Activity (pulses at steps 0 and 2)")
    right.axvline(4, color="black", lw=0.8, ls=":")
    return _save(fig, "four_neuron.png")


def continuous() -> Path:
    """Euler at shrinking dt converging to the ODE, and a two-neuron phase portrait."""
    net = sim.compile(tp.four_neuron())
    t_end = 8.0
    pulse = np.zeros((8, net.n_inputs))
    pulse[0, net.inputs.index("Input1")] = 1.0  # Input1 = 1 on [0, 1), then 0
    runs = {}
    for dt in (0.2, 0.1, 0.05):
        steps = round(t_end / dt)
        runs[dt] = sim.run(net, np.repeat(pulse, round(1.0 / dt), axis=0)[:steps], dt=dt, method="euler")
    ode = sim.solve(net, pulse, (0.0, t_end), dt=1.0, method="DOP853", rtol=1e-10, atol=1e-12,
                    t_eval=np.linspace(0.0, t_end, 81))

    G = nx.DiGraph()
    G.add_weighted_edges_from([("u", "v", 1.6), ("v", "u", -1.6), ("u", "u", 0.6), ("v", "v", 0.6)])
    pair = sim.compile(G)
    spiral = sim.run(pair, 150, h0=[0.9, -0.2], dt=0.1, method="rk4")

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained",
                                      gridspec_kw={"width_ratios": [1.45, 1]})
    plot.trajectories(runs, ode, neuron="B1", ax=left, title="B1 in continuous time: Euler converges to the ODE")
    plot.phase_portrait(spiral, "u", "v", net=pair, ax=right, xlim=(-1, 1), ylim=(-1, 1), density=0.5,
                        title="Two-neuron oscillator")
    right.legend(fontsize=7, loc="lower left", framealpha=0.9)
    return _save(fig, "continuous.png")


def gradients() -> Path:
    """dL/dh[t] through 60 steps of one random graph with three activations; a training curve."""
    T = 60
    G = tp.erdos_renyi(40, 0.2, n_inputs=1, n_outputs=1, seed=SEED, scale=1.5)
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((T, 1))
    target = np.full((T, 1), np.nan)
    target[-1] = 1.0  # a target at the last step only: the gradient flows back from there
    flows = {}
    for activation in ("tanh", "sigmoid", "relu"):
        H = G.copy()
        for _, data in H.nodes(data=True):
            if data.get("role") not in ("input", "output"):
                data["activation"] = activation
        _, grads = sim.bptt(sim.compile(H), x, target, return_diagnostics=True)
        flows[activation] = grads

    words, classes = sim.tasks.word_order(60, seed=SEED)
    _, history = sim.train(sim.compile(tp.elman(3, 8, 3, seed=SEED)), words, classes, loss="cross_entropy",
                           epochs=150, lr=0.05, seed=SEED, progress=False)

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    plot.gradient_flow(flows, ax=left, label="activation",
                       title="Gradient flow: 40 neurons, target at the last step")
    plot.training(history, ax=right, title="Training an Elman graph on word order (BPTT, Adam)")
    return _save(fig, "gradients.png")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for draw in (four_neuron, continuous, gradients):
        path = draw()
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
