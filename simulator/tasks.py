"""Small, seeded, generated data sets for examples and tests."""

from __future__ import annotations

import numpy as np

__all__ = ["word_order", "WORDS", "SENTENCE_CLASSES"]

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
