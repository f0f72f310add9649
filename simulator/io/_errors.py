"""The errors of loading: `FileFormatError` for the caller, `_Problem` inside."""


class FileFormatError(ValueError):
    """A file that cannot be loaded: corrupt, truncated, not a graphrnn file,
    or written by a newer version. The message names the file and the fault."""

    __module__ = "simulator.io"  # its public home, named in tracebacks


class _Problem(ValueError):
    """What is wrong with a file's content; `load` adds the path."""
