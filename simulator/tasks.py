"""Small, seeded, generated data sets for examples and tests."""

from __future__ import annotations

import numpy as np

__all__ = ["word_order", "mackey_glass", "sine", "delayed_recall", "adding", "WORDS", "SENTENCE_CLASSES"]

#: The vocabulary of `word_order`, one-hot in this order.
WORDS = ("you", "are", "good")
#: The three orders and their classes: statement, question, nonsense.
SENTENCE_CLASSES = {("you", "are", "good"): 0, ("are", "you", "good"): 1, ("good", "you", "are"): 2}


def word_order(n_samples: int = 30, seed: int | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The word-order task: classify a three-word sentence by its order.

    "you are good" is a statement (class 0), "are you good" a question (1) and
    "good you are" nonsense (2): the words are the same, only their order
    tells, so the network must remember what it saw.

    Parameters
    ----------
    n_samples : int
        Sentences in the batch, drawn uniformly from the three.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    x : ndarray, shape (3, n_samples, 3)
        One-hot words (`WORDS` order), one per step.
    classes : ndarray of int, shape (3, n_samples)
        The class at the last step, -1 (no target) before it.

    Examples
    --------
    >>> x, classes = word_order(4, seed=0)
    >>> x.shape, classes[-1].tolist(), classes[0].tolist()
    ((3, 4, 3), [2, 1, 1, 0], [-1, -1, -1, -1])
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"`n_samples` must be a positive int, got {n_samples!r}")
    rng = np.random.default_rng(seed)
    sentences = list(SENTENCE_CLASSES)
    picks = rng.integers(0, len(sentences), n_samples)
    x = np.zeros((3, n_samples, len(WORDS)))
    classes = np.full((3, n_samples), -1, dtype=np.int64)
    for b, k in enumerate(picks):
        for t, word in enumerate(sentences[k]):
            x[t, b, WORDS.index(word)] = 1.0
        classes[-1, b] = SENTENCE_CLASSES[sentences[k]]
    return x, classes


def mackey_glass(n_steps: int = 2000, tau: float = 17.0, beta: float = 0.2, gamma: float = 0.1, power: float = 10.0,
                 dt: float = 0.1, sample_every: float = 1.0, washout: int = 500,
                 seed: int | np.random.Generator | None = None) -> np.ndarray:
    """A Mackey-Glass series, integrated from the delay equation (no downloads).

    ``dx/dt = beta x(t - tau) / (1 + x(t - tau)^power) - gamma x(t)``, by
    fourth-order Runge-Kutta with step `dt` (the delayed value linearly
    interpolated from the stored history), sampled every `sample_every`
    time units after `washout` samples. ``tau = 17`` gives the classic
    chaotic series.

    Returns
    -------
    ndarray, shape (n_steps,)

    Examples
    --------
    >>> x = mackey_glass(300, seed=0)
    >>> x.shape, bool(0.2 < x.min() and x.max() < 1.5)
    ((300,), True)
    """
    rng = np.random.default_rng(seed)
    per_sample = int(round(sample_every / dt))
    lag = int(round(tau / dt))
    total = (n_steps + washout) * per_sample
    x = np.empty(total + lag + 1)
    x[: lag + 1] = 1.2 + 0.1 * rng.random(lag + 1)

    def f(now, delayed):
        return beta * delayed / (1.0 + delayed**power) - gamma * now

    for k in range(lag, lag + total):
        d0, d1 = x[k - lag], x[k - lag + 1]
        half = 0.5 * (d0 + d1)
        k1 = f(x[k], d0)
        k2 = f(x[k] + 0.5 * dt * k1, half)
        k3 = f(x[k] + 0.5 * dt * k2, half)
        k4 = f(x[k] + dt * k3, d1)
        x[k + 1] = x[k] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    series = x[lag + 1:][::per_sample]
    return series[washout:washout + n_steps]


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}")


def sine(n_steps: int = 100, n_samples: int = 8, period: float = 20.0,
         seed: int | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sine prediction: read ``sin(2 pi t / period + phase)``, predict the next value.

    Returns
    -------
    x, targets : ndarray, shape (n_steps, n_samples, 1)
        ``targets[t] = x[t + 1]`` (the value one step ahead), random phases.

    Examples
    --------
    >>> x, y = sine(5, 2, seed=0)
    >>> bool(np.allclose(x[1:], y[:-1]))
    True
    """
    _check_positive("n_steps", n_steps)
    _check_positive("n_samples", n_samples)
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, n_samples)
    t = np.arange(n_steps + 1)[:, None]
    wave = np.sin(2 * np.pi * t / period + phase)[..., None]
    return wave[:-1], wave[1:]


def delayed_recall(n_steps: int = 20, delay: int = 3, n_samples: int = 16, n_symbols: int = 3,
                   seed: int | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Delayed recall (copy): output, as a class, the symbol seen `delay` steps ago.

    Returns
    -------
    x : ndarray, shape (n_steps, n_samples, n_symbols)
        One-hot random symbols.
    classes : ndarray of int, shape (n_steps, n_samples)
        ``classes[t]`` is the symbol of ``x[t - delay]``; -1 for ``t < delay``.

    Examples
    --------
    >>> x, c = delayed_recall(6, delay=2, n_samples=1, seed=0)
    >>> c[2:, 0].tolist() == x[:-2, 0].argmax(axis=1).tolist(), c[:2, 0].tolist()
    (True, [-1, -1])
    """
    for name, value in (("n_steps", n_steps), ("n_samples", n_samples), ("n_symbols", n_symbols)):
        _check_positive(name, value)
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or not 0 <= delay < n_steps:
        raise ValueError(f"`delay` must be an int in [0, n_steps), got {delay!r}")
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, n_symbols, (n_steps, n_samples))
    x = np.eye(n_symbols)[symbols]
    classes = np.full((n_steps, n_samples), -1, dtype=np.int64)
    classes[delay:] = symbols[: n_steps - delay]
    return x, classes


def adding(n_steps: int = 20, n_samples: int = 16,
           seed: int | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem: sum the two values marked in a random sequence.

    Returns
    -------
    x : ndarray, shape (n_steps, n_samples, 2)
        Channel 0: values uniform on [0, 1]; channel 1: 1 at the two marked
        steps (one in each half), else 0.
    targets : ndarray, shape (n_steps, n_samples, 1)
        The sum of the two marked values at the last step, NaN elsewhere.

    Examples
    --------
    >>> x, y = adding(10, 3, seed=0)
    >>> bool(np.allclose(y[-1, :, 0], (x[..., 0] * x[..., 1]).sum(axis=0))), bool(np.isnan(y[:-1]).all())
    (True, True)
    """
    _check_positive("n_samples", n_samples)
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 2:
        raise ValueError(f"`n_steps` must be an int >= 2, got {n_steps!r}")
    rng = np.random.default_rng(seed)
    x = np.zeros((n_steps, n_samples, 2))
    x[..., 0] = rng.random((n_steps, n_samples))
    half = n_steps // 2
    first = rng.integers(0, half, n_samples)
    second = rng.integers(half, n_steps, n_samples)
    cols = np.arange(n_samples)
    x[first, cols, 1] = 1.0
    x[second, cols, 1] = 1.0
    targets = np.full((n_steps, n_samples, 1), np.nan)
    targets[-1, :, 0] = x[first, cols, 0] + x[second, cols, 0]
    return x, targets
