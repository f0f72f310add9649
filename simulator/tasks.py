"""Small, seeded, generated data sets for examples and tests."""

from __future__ import annotations

import numpy as np

__all__ = ["word_order", "mackey_glass", "WORDS", "SENTENCE_CLASSES"]

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
