"""`graphrnn demo`: the product in half a minute.

Builds the textbook four-neuron network and shows the explicit time step (a
pulse on ``Input1`` reaching one neuron per step), runs it in continuous time
at shrinking dt beside the ODE solution, runs a 1,000-neuron echo-state
reservoir, recalls a corrupted pattern with a Hopfield network, trains a small
graph on the word-order task by BPTT, and draws it all into a PNG when
matplotlib is installed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

import simulator as sim
import topologies as tp
from simulator import Result

__all__ = ["demo"]


def _first_response(trace: np.ndarray, tol: float = 1e-12) -> int | None:
    """Index of the first entry of `trace` with magnitude above `tol`."""
    hits = np.flatnonzero(np.abs(trace) > tol)
    return int(hits[0]) if hits.size else None


def four_neuron_account(say: Callable[[str], None]) -> Result:
    """Pulse ``Input1`` once and report when each node first responds."""
    net = sim.compile(tp.four_neuron())
    x = np.zeros((6, net.n_inputs))
    x[0, net.inputs.index("Input1")] = 1.0
    res = sim.run(net, x)
    say(f"Four-neuron network: {net}")
    say("  A pulse on Input1 at step 0; h[t+1] = phi(W h[t] + U x[t]), so each edge costs one step:")
    for name in net.neurons:
        t = _first_response(res[name])
        when = f"responds at step {t} (states[{t}] = {res[name][t]:+.3f})" if t is not None \
            else "never responds: no path from Input1"
        say(f"    {name:>6} {when}")
    t = _first_response(res["Output"])
    say(f"    Output responds at step {t} (outputs[{t}] reads states[{t + 1}]: instantaneous readout of B1)")
    return res


def continuous_account(say: Callable[[str], None]) -> dict:
    """The four-neuron network in continuous time: Euler at shrinking dt against the ODE."""
    net = sim.compile(tp.four_neuron())
    T_end, pulse = 8.0, np.zeros((8, net.n_inputs))
    pulse[0, net.inputs.index("Input1")] = 1.0  # Input1 = 1 on [0, 1), then 0
    ode = sim.solve(net, pulse, (0.0, T_end), dt=1.0, method="DOP853", rtol=1e-10, atol=1e-12,
                    t_eval=np.linspace(0.0, T_end, 41))
    say("Continuous time, tau dh/dt = -h + phi(a): Input1 = 1 on [0, 1), four-neuron network")
    runs = {}
    for dt in (0.2, 0.1, 0.05):
        steps = round(T_end / dt)
        x = np.repeat(pulse, round(1.0 / dt), axis=0)[:steps]
        res = sim.run(net, x, dt=dt, method="euler")
        every = round(0.2 / dt)
        diff = np.abs(res.states[::every] - ode.states).max()
        runs[dt] = res
        say(f"  Euler dt = {dt:<4}: max |h - h_ode| = {diff:.2e}")
    say(f"  ODE (DOP853 on the jitted right-hand side): {ode.info['nfev']} evaluations")
    return {"runs": runs, "ode": ode}


def reservoir_account(say: Callable[[str], None], seed: int) -> Result:
    """Drive a 1,000-neuron echo-state reservoir with a sine and report its activity."""
    G = tp.echo_state(1000, n_inputs=1, n_outputs=1, spectral_radius=0.9, seed=seed)
    t0 = time.perf_counter()
    net = sim.compile(G)
    t_compile = time.perf_counter() - t0
    steps = np.arange(300)
    x = np.sin(2 * np.pi * steps / 25.0)[:, None]
    t0 = time.perf_counter()
    res = sim.run(net, x)
    t_run = time.perf_counter() - t0
    say(f"Echo-state reservoir: {net}")
    say(f"  compiled in {t_compile * 1e3:.1f} ms, 300 steps in {t_run * 1e3:.1f} ms; "
        f"mean |h| over the last 100 steps {np.abs(res.states[-100:]).mean():.3f} (spectral radius 0.9)")
    return res


def hopfield_account(say: Callable[[str], None], seed: int) -> tuple[np.ndarray, np.ndarray, Result]:
    """Store three patterns, corrupt one, and recall it with asynchronous updates."""
    rng = np.random.default_rng(seed)
    n = 100
    patterns = rng.choice([-1.0, 1.0], size=(3, n))
    net = sim.compile(tp.hopfield(patterns))
    probe = patterns[0].copy()
    flipped = rng.choice(n, size=20, replace=False)
    probe[flipped] *= -1
    res = sim.run(net, 5, h0=probe, update="async", seed=seed)
    overlaps = [float(patterns[0] @ s) / n for s in res.states]
    say(f"Hopfield network: {net}")
    say("  3 patterns stored; pattern 0 with 20 of 100 bits flipped, asynchronous sweeps:")
    say("    overlap with pattern 0 per sweep: " + ", ".join(f"{o:+.2f}" for o in overlaps)
        + ("  -> recalled" if overlaps[-1] == 1.0 else "  -> not recalled"))
    return patterns, probe, res


def training_account(say: Callable[[str], None], seed: int) -> dict:
    """Train a small Elman graph on the word-order task by BPTT."""
    x, classes = sim.tasks.word_order(60, seed=seed)
    net = sim.compile(tp.elman(3, 8, 3, seed=seed))

    def accuracy(n):
        return float((sim.run(n, x).outputs[-1].argmax(axis=1) == classes[-1]).mean())

    before = accuracy(net)
    trained, history = sim.train(net, x, classes, loss="cross_entropy", epochs=150, lr=0.05, seed=seed,
                                 progress=False)
    say(f"Training by BPTT: {net}")
    say("  word order: 'you are good' / 'are you good' / 'good you are' -> statement / question / nonsense")
    say(f"  cross-entropy {history['loss'][0]:.3f} -> {history['loss'][-1]:.3f} in 150 epochs (Adam); "
        f"accuracy {before:.0%} -> {accuracy(trained):.0%}")
    return history


def _picture(path: Path, four: Result, cont: dict, reservoir: Result, hop: tuple, history: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 8), constrained_layout=True)
    axes = axes.ravel()
    ax = axes[0]
    for name in four.network.neurons:
        ax.step(four.times, four[name], where="post", label=name)
    ax.step(four.times[1:], four["Output"], where="post", label="Output", color="k", ls="--")
    ax.set(title="Four-neuron network: pulse on Input1 at t = 0", xlabel="step", ylabel="activity")
    ax.legend(fontsize=8)

    ax = axes[1]
    ode, col = cont["ode"], four.network.neurons.index("B1")
    for (dt, res), style in zip(cont["runs"].items(), (":", "--", "-.")):
        ax.plot(res.times, res.states[:, col], style, label=f"Euler dt = {dt}")
    ax.plot(ode.times, ode.states[:, col], "k-", lw=1, label="ODE (DOP853)")
    ax.set(title="Neuron B1 in continuous time", xlabel="time", ylabel="activity")
    ax.legend(fontsize=8)

    ax = axes[2]
    im = ax.imshow(reservoir.states[:, :60].T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                   interpolation="nearest")
    ax.set(title="Echo-state reservoir (60 of 1,000 neurons)", xlabel="step", ylabel="neuron")
    fig.colorbar(im, ax=ax, shrink=0.8)

    ax = axes[3]
    patterns, probe, res = hop
    side = 10
    gap = np.zeros((side, 2))
    panels = [patterns[0].reshape(side, side), gap, probe.reshape(side, side), gap, res.states[-1].reshape(side, side)]
    ax.imshow(np.hstack(panels), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set(title="Hopfield: stored | corrupted | recalled", xticks=[], yticks=[])

    ax = axes[4]
    ax.semilogy(history["loss"])
    ax.set(title="Training on the word-order task (BPTT, Adam)", xlabel="epoch", ylabel="cross-entropy")
    axes[5].axis("off")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def demo(out: str | Path = "graphrnn_demo.png", seed: int = 0, say: Callable[[str], None] = print) -> int:
    """Run the demo, print the account and write the picture to `out`.

    Returns
    -------
    int
        Exit status (0).
    """
    t0 = time.perf_counter()
    four = four_neuron_account(say)
    say("")
    cont = continuous_account(say)
    say("")
    reservoir = reservoir_account(say, seed)
    say("")
    hop = hopfield_account(say, seed)
    say("")
    history = training_account(say, seed)
    say("")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        say('matplotlib is not installed, so no picture: pip install "graphrnn[plot]"')
    else:
        _picture(Path(out), four, cont, reservoir, hop, history)
        say(f"Wrote {out}")
    say(f"Done in {time.perf_counter() - t0:.1f} s (compilation of the kernels included on a first run).")
    return 0
