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
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplot_mosaic([["four", "cont", "res"], ["hop", "hop", "train"]], figsize=(16, 8.5),
                                   constrained_layout=True)
    ax = axes["four"]
    # A2 and B2 never respond (both stay at 0) and Output reads B1: the lower
    # line of each pair is drawn wide and pale, the upper one thin and dashed.
    looks = {"A1": dict(lw=1.5),
             "A2": dict(lw=5, alpha=0.45, label="A2 (no path from Input1)"),
             "B1": dict(lw=5, alpha=0.45),
             "B2": dict(lw=1.5, ls="--", label="B2 (no path from Input1)")}
    for name in four.network.neurons:
        look = {"label": name, **looks.get(name, {})}
        ax.step(four.times, four[name], where="post", **look)
    ax.step(four.times[1:], four["Output"], where="post", label="Output (reads B1)", color="k", ls="--",
            lw=1.5, marker="s", ms=4)
    ax.set(title="Four-neuron network: pulse on Input1 at t = 0", xlabel="step", ylabel="activity")
    ax.legend(fontsize=8)

    ax = axes["cont"]
    ode, col = cont["ode"], four.network.neurons.index("B1")
    for (dt, res), style in zip(cont["runs"].items(), (":", "--", "-.")):
        ax.plot(res.times, res.states[:, col], style, label=f"Euler dt = {dt}")
    ax.plot(ode.times, ode.states[:, col], "k-", lw=1, label="ODE (DOP853)")
    ax.set(title="Neuron B1 in continuous time", xlabel="time", ylabel="activity")
    ax.legend(fontsize=8)

    ax = axes["res"]
    im = ax.imshow(reservoir.states[:, :60].T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                   interpolation="nearest")
    ax.set(title="Echo-state reservoir (60 of 1,000 neurons)", xlabel="step", ylabel="neuron")
    fig.colorbar(im, ax=ax, shrink=0.8, label="state h (tanh)")

    ax = axes["hop"]
    patterns, probe, res = hop
    side, gap = 10, 3
    blocks = [patterns[0], probe, res.states[-1]]
    strip = np.full((side, len(blocks) * (side + gap) - gap), np.nan)
    for k, block in enumerate(blocks):
        strip[:, k * (side + gap):k * (side + gap) + side] = block.reshape(side, side)
    ax.imshow(strip, cmap=plt.get_cmap("gray").with_extremes(bad="white"), vmin=-1, vmax=1, interpolation="nearest")
    for k in range(len(blocks)):  # a frame, or the white (+1) bits at the edges merge into the page
        ax.add_patch(Rectangle((k * (side + gap) - 0.5, -0.5), side, side, fill=False, lw=1, color="0.4"))
    rows, cols = np.divmod(np.flatnonzero(probe != patterns[0]), side)
    ax.scatter(cols + side + gap, rows, marker="x", s=40, color="tab:red", lw=1.5)
    sweeps = next((k for k, s in enumerate(res.states) if np.array_equal(s, patterns[0])), None)
    recalled = f"recalled in {sweeps} sweep{'s' * (sweeps != 1)}" if sweeps is not None \
        else f"not recalled in {len(res.states) - 1} sweeps"
    ax.set_xticks([side / 2 - 0.5 + k * (side + gap) for k in range(3)],
                  ["stored pattern", f"corrupted: {len(rows)} of {side * side} bits flipped (x)", recalled])
    ax.tick_params(length=0, labelsize=10)
    ax.set(yticks=[], title="Hopfield network (100 neurons, 3 patterns): asynchronous recall")
    for spine in ax.spines.values():
        spine.set_visible(False)

    ax = axes["train"]
    ax.semilogy(history["loss"])
    ax.set(title="Training on the word-order task (BPTT, Adam)", xlabel="epoch", ylabel="cross-entropy")
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
