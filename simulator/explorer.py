"""`explore`: sliders over a network's gain, input amplitude and time step
in Jupyter (ipywidgets, the ``graphrnn[jupyter]`` extra), redrawing the
activity, the graph coloured by activity, the largest Lyapunov exponent and
the fixed points of each setting."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .optional import require

__all__ = ["explore", "Explorer", "MODES"]

#: The time modes of the explorer's dropdown: discrete time, or a fixed-step
#: integrator of continuous time.
MODES = ("discrete", "euler", "exp_euler", "rk4")


class Explorer:
    """The widgets and figure of `explore`; ``explorer.widget`` is what a
    notebook shows.

    Attributes
    ----------
    gain, amplitude, dt : ipywidgets.FloatSlider
        The global factor on the hidden -> hidden weights, the factor on the
        inputs, and the step of continuous time.
    mode : ipywidgets.Dropdown
        One of `MODES`.
    info : ipywidgets.HTML
        The largest Lyapunov exponent and the fixed points of the setting.
    figure : matplotlib Figure
        Activity (left), the graph coloured by the last state (middle), the
        fixed points on principal components with the run (right).
    network : Network
        The network at the current gain.
    result : Result
        The current run.
    lyapunov : LyapunovSpectrum
        The largest exponent along the current run.
    fixed_points : FixedPoints
        At the mean input of the current run (zero without inputs).
    widget : ipywidgets.VBox
    """

    def __init__(self, net, x=None, *, n_steps: int = 200, h0=None, seed: int = 0,
                 gain: tuple[float, float] = (0.0, 3.0), n_starts: int = 16):
        widgets = require("ipywidgets", "simulator.explore", "jupyter")
        from .analysis._checks import check_int, real_array
        from .plot._common import _pyplot

        if not all(hasattr(net, a) for a in ("edge_kind", "with_params", "neurons")):
            raise TypeError(f"`net` must be a Network from simulator.compile, got {type(net).__name__}")
        if net.n_neurons == 0:
            raise ValueError("`net` has no hidden neurons: there is nothing to explore")
        self.base = net
        rng = np.random.default_rng(seed)
        if x is None:
            n_steps = check_int(n_steps, "n_steps", 2)
            x = rng.uniform(-1.0, 1.0, (n_steps, net.n_inputs))
        else:
            x = real_array(x, "x", (None, net.n_inputs), f"(n_steps, {net.n_inputs})")
            if x.shape[0] < 2:
                raise ValueError(f"`x` must have at least 2 steps; got {x.shape[0]}")
        self.x = x
        if h0 is None:
            from .analysis._model import Model

            h0 = Model(net).starts(rng, 1)[0]
        self.h0 = real_array(h0, "h0", (net.n_neurons,), f"({net.n_neurons},)")
        self.n_starts = check_int(n_starts, "n_starts", 1)
        lo, hi = gain
        style = {"description_width": "initial"}
        self.gain = widgets.FloatSlider(value=1.0, min=lo, max=hi, step=0.05, description="gain on W",
                                        continuous_update=False, style=style)
        self.amplitude = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.05, description="input amplitude",
                                             continuous_update=False, style=style)
        self.dt = widgets.FloatSlider(value=0.2, min=0.01, max=1.0, step=0.01, description="dt",
                                      continuous_update=False, style=style)
        self.mode = widgets.Dropdown(options=MODES, value="discrete", description="time")
        self.info = widgets.HTML()
        self.output = widgets.Output()
        plt = _pyplot()
        self.figure = plt.figure(figsize=(13, 4), layout="constrained")
        plt.close(self.figure)  # shown through the Output widget only
        self._sel = np.asarray(net.edge_kind) == 0
        for w in (self.gain, self.amplitude, self.dt, self.mode):
            w.observe(self._changed, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.gain, self.amplitude]),
                                    widgets.HBox([self.mode, self.dt]), self.info, self.output])
        self.update()

    def _changed(self, change) -> None:
        self.update()

    def update(self) -> None:
        """Run the current setting, analyse it and redraw."""
        import simulator as sim

        weight = np.array(self.base.weight, dtype=np.float64)
        weight[self._sel] *= self.gain.value
        self.network = net = self.base.with_params(weight=weight)
        mode = self.mode.value
        dt = None if mode == "discrete" else float(self.dt.value)
        method = None if mode == "discrete" else mode
        x = self.amplitude.value * self.x
        self.result = res = sim.run(net, x.astype(net.dtype), h0=self.h0.astype(net.dtype), dt=dt, method=method,
                                    check_finite=False, progress=False)
        finite = bool(np.isfinite(res.states).all())
        warm = min(50, x.shape[0] // 2)
        self.lyapunov = sim.lyapunov(net, x, n_exponents=1, dt=dt, method=method, h0=self.h0, warmup=warm) \
            if finite else None
        drive = x.mean(axis=0) if net.n_inputs else None
        self.fixed_points = sim.fixed_points(net, x=drive, dt=dt, n_starts=self.n_starts)
        self._draw(finite)

    def _draw(self, finite: bool) -> None:
        import simulator as sim

        fp, ly = self.fixed_points, self.lyapunov
        unit = "per step" if self.mode.value == "discrete" else "per unit time"
        lam = "diverged" if ly is None else f"{ly.largest:+.4f} {unit}" + (" (chaotic)" if ly.largest > 1e-3 else "")
        n_fixed = int((~fp.slow).sum())
        self.info.value = (f"<b>largest Lyapunov exponent</b> {lam} &nbsp; | &nbsp; <b>fixed points</b> "
                           f"{n_fixed} ({int((fp.stable & ~fp.slow).sum())} stable)")
        fig = self.figure
        fig.clear()
        axes = fig.subplots(1, 3, width_ratios=[1.3, 1.0, 1.0])
        if finite:
            sim.plot.activity(self.result, ax=axes[0], title="activity")
            sim.plot.graph(self.network, self.result, ax=axes[1], title="last state")
        else:
            axes[0].set_title("the run diverged")
        sim.plot.fixed_points(fp, self.result if finite else None, ax=axes[2])
        self._show()

    def _show(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import clear_output, display
        except ImportError:  # pragma: no cover - ipywidgets brings IPython
            return
        if get_ipython() is None:
            return
        with self.output:
            clear_output(wait=True)
            display(self.figure)

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a notebook front end
        from IPython.display import display

        display(self.widget)


def explore(net, x: ArrayLike | None = None, **options: Any) -> Explorer:
    """Explore `net` in Jupyter: sliders for a global gain on the hidden ->
    hidden weights, the input amplitude, and the time mode (discrete, or
    Euler / exponential Euler / RK4 with a dt slider), redrawing the activity
    and the graph coloured by activity as they move, with the largest
    Lyapunov exponent and the fixed points of the current setting.

    Parameters
    ----------
    net : Network
    x : array_like, shape (n_steps, n_inputs), optional
        The drive (scaled by the amplitude slider). Default: ``n_steps``
        steps of uniform noise on [-1, 1) drawn from `seed` (zeros wide when
        the network has no inputs).
    **options
        ``n_steps`` (200), ``h0`` (default: drawn from `seed` over each
        neuron's activation range), ``seed`` (0), ``gain`` (the slider's
        range, (0, 3)), ``n_starts`` (16, for the fixed points).

    Returns
    -------
    Explorer
        Shown by a notebook as its widgets; ``explorer.gain.value = 1.5``
        and the like redraw from code too.

    Raises
    ------
    ImportError
        Without ipywidgets: ``pip install "graphrnn[jupyter]"``.
    TypeError, ValueError
        A `net`, `x` or option of the wrong kind or shape.

    Notes
    -----
    Each change reruns `simulator.run` over the whole drive, then
    `simulator.lyapunov` (the largest exponent, 50 warm-up steps) and
    `simulator.fixed_points` at the run's mean input. The fixed points do not
    depend on dt; their stability does (continuous time: Re lambda < 0).
    """
    return Explorer(net, x, **options)
