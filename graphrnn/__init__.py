"""graphrnn's command line: the application layer over `simulator` and `topologies`.

The library itself is the two packages ``simulator`` (compile, run, ...) and
``topologies`` (graph builders); this package holds only the ``graphrnn``
command and its demo, which use both.
"""

__all__: list[str] = []
