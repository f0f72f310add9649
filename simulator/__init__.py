"""graphrnn's simulator: compile a NetworkX wiring, run it, inspect the history.

>>> import simulator as sim
>>> sorted(sim.ACTIVATIONS)[:3]
['elu', 'hard_sigmoid', 'identity']
"""

import importlib

from .activations import ACTIVATIONS
from .bptt import SparseReadoutWarning, bptt
from .gradients import Gradients
from .compiler import compile
from .errors import NonFiniteError
from .jacobians import jacobian
from .matrices import compile_arrays
from .network import Network
from .ode import SolverError, solve
from .readout import fit_readout
from .results import Result
from .simulate import run
from .train import TrainingDiverged, train
from . import optim, tasks

#: What loads on first use (files, sweeps, plots), so that ``import
#: simulator`` stays quick: name -> the submodule that holds it.
_LAZY = {"FileFormatError": "io", "load": "io", "save": "io", "CheckpointError": "sweeps", "sweep": "sweeps",
         "plot": None, "fixed_points": "analysis", "lyapunov": "analysis", "memory_capacity": "analysis",
         "FixedPoints": "analysis", "LyapunovSpectrum": "analysis", "MemoryCapacity": "analysis",
         "explore": "explorer"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    where = _LAZY[name]
    value = importlib.import_module(f".{where or name}", __name__)
    if where is not None:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = ["ACTIVATIONS", "CheckpointError", "FileFormatError", "FixedPoints", "Gradients", "LyapunovSpectrum", "MemoryCapacity", "Network", "NonFiniteError", "Result", "SolverError", "SparseReadoutWarning", "TrainingDiverged", "bptt", "compile", "compile_arrays", "explore", "fit_readout", "fixed_points", "jacobian", "lyapunov", "memory_capacity", "load", "optim", "plot", "run", "save", "solve", "sweep", "tasks", "train"]
__version__ = "0.1.0"
