"""The README's Python examples run as written, each on its own."""

import re
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[tuple[int, str]]:
    """The ```python blocks of the README with the line each starts on
    (```py and shell blocks are not meant to run)."""
    text = README.read_text()
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)]


def _name(index: int, line: int, block: str) -> str:
    """``3-L121-net = sim.compile(...)``: the block's number, its README line
    and its first line past the imports, so a failure names the block."""
    lines = [s for s in block.splitlines() if s.strip()]
    first = next((s for s in lines if not re.match(r"(import|from) \w", s)), lines[0])
    first = first.split("  #")[0].strip()
    return f"{index}-L{line}-{first[:48]}"


BLOCKS = _blocks()


def test_the_readme_has_its_examples():
    assert len(BLOCKS) >= 7


@pytest.mark.filterwarnings("error::UserWarning")  # an example that warns shows a misuse
@pytest.mark.parametrize("line, block", BLOCKS, ids=[_name(i, *b) for i, b in enumerate(BLOCKS)])
def test_a_readme_example_runs_on_its_own(tmp_path, monkeypatch, line, block):
    """Each ```python block executes alone, in a fresh namespace (its own
    imports and data: a reader can paste any one of them), in a scratch
    folder (the examples write files)."""
    monkeypatch.chdir(tmp_path)
    code = compile("\n" * (line - 1) + block, str(README), "exec")  # tracebacks give README lines
    try:
        exec(code, {"__name__": "__readme__"})
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
