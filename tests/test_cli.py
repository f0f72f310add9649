"""The `graphrnn` command line and its demo."""

import re
import statistics
import subprocess
import sys

import pytest

from graphrnn.cli import _parser, main


def test_demo_account_and_picture(tmp_path, capsys):
    """The demo shows one step per edge, shrinking continuous errors, a recall, a training and a picture."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo.png"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "A1 responds at step 1" in text and "B1 responds at step 2" in text
    assert "A2 never responds" in text and "Output responds at step 1" in text
    diffs = [float(v) for v in re.findall(r"max \|h - h_ode\| = ([0-9.e+-]+)", text)]
    assert len(diffs) == 3 and diffs[0] > diffs[1] > diffs[2]
    assert 1.8 < diffs[0] / diffs[1] < 2.2  # Euler: first order
    assert "-> recalled" in text
    assert re.search(r"accuracy \d+% -> 100%", text)
    import matplotlib.image

    img = matplotlib.image.imread(out)
    assert img.shape[0] > 400 and img.shape[1] > 600
    assert img[..., :3].std() > 0.1  # not a blank canvas


def test_module_entry_point_and_version():
    """`python -m simulator --version` reaches the same command line."""
    done = subprocess.run([sys.executable, "-m", "simulator", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("graphrnn ")


@pytest.mark.parametrize("args, expected", [(["--version"], "graphrnn "), (["--help"], "usage: graphrnn")])
def test_python_m_graphrnn(args, expected):
    """`python -m graphrnn` runs the same command line as the `graphrnn` script."""
    done = subprocess.run([sys.executable, "-m", "graphrnn", *args], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith(expected), done.stderr


def test_demo_help_names_every_part_of_the_demo(capsys):
    """`graphrnn demo --help` describes what the demo does, the training included."""
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for part in ("four-neuron network step by step", "continuous time", "1,000-neuron echo-state reservoir",
                 "Hopfield recall", "trained on the word-order task by backpropagation through time", "PNG"):
        assert part in text
    assert "build, run, train and picture" in " ".join(_parser().format_help().split())


def test_no_command_prints_help(capsys):
    """Without a command the help is printed."""
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_bench_rows_check_against_the_baselines():
    """The bench table's measurements run (tiny sizes) and compare as targets say."""
    from graphrnn.bench import Row, forward_row

    row = forward_row(30, 3, 1, 10.0, seconds=0.005, repeats=2)
    assert row.ratio > 0 and row.met == (row.ratio >= 10.0)
    assert 2 <= len(row.samples) <= 6 and row.ratio == statistics.median(row.samples)
    assert "forward N=30 k=3 batch 1" in row.line()
    slow = Row("t", 5.0, 4.0, "", higher_is_better=False, unit=" s")
    assert not slow.met and "5.00 s" in slow.line() and "MISSED" in slow.line()
    told = Row("t", 8.0, None, "", unit=" s")
    assert told.met is None and "report" in told.line()


def test_bench_is_a_command():
    assert _parser().parse_args(["bench", "--quick"]).quick is True


def test_demo_refuses_an_out_path_in_a_missing_folder(tmp_path, capsys):
    """A picture path whose folder does not exist is refused before the demo runs."""
    with pytest.raises(SystemExit) as stop:
        main(["demo", "--out", str(tmp_path / "no" / "such" / "demo.png")])
    assert stop.value.code == 2
    err = capsys.readouterr()
    assert "the folder" in err.err and "does not exist" in err.err and "Four-neuron" not in err.out
