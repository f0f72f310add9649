"""Dynamics analysis: fixed points, Lyapunov exponents, memory capacity.

=====================  ====================================================
`fixed_points`         where the network settles: h = F(h) or dh/dt = 0
`lyapunov`             Lyapunov exponents along a run (is it chaotic?)
`memory_capacity`      Jaeger's short-term memory capacity (how long does
                       it remember?)
=====================  ====================================================
"""

from .fixed_points import fixed_points
from .lyapunov import lyapunov
from .memory import memory_capacity
from .results import FixedPoints, LyapunovSpectrum, MemoryCapacity

__all__ = ["FixedPoints", "LyapunovSpectrum", "MemoryCapacity", "fixed_points", "lyapunov", "memory_capacity"]
