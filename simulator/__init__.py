"""graphrnn's simulator: compile a NetworkX wiring, run it, inspect the history.

>>> import simulator as sim
>>> sorted(sim.ACTIVATIONS)[:3]
['elu', 'hard_sigmoid', 'identity']
"""

from .activations import ACTIVATIONS
from .bptt import Gradients, bptt
from .compiler import compile
from .errors import NonFiniteError
from .io import FileFormatError, load, save
from .jacobians import jacobian
from .matrices import compile_arrays
from .network import Network
from .ode import SolverError, solve
from .readout import fit_readout
from .results import Result
from .simulate import run
from .sweeps import CheckpointError, sweep
from .train import TrainingDiverged, train
from . import optim, plot, tasks

__all__ = ["ACTIVATIONS", "CheckpointError", "FileFormatError", "Gradients", "Network", "NonFiniteError", "Result", "SolverError", "TrainingDiverged", "bptt", "compile", "compile_arrays", "fit_readout", "jacobian", "load", "optim", "plot", "run", "save", "solve", "sweep", "tasks", "train"]
__version__ = "0.1.0"
