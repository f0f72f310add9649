"""The format names and the version that every file records."""

from __future__ import annotations

from typing import Any

from ._errors import _Problem

#: The version this package writes, and the newest it reads.
FORMAT_VERSION = 1
NETWORK_FORMAT = "graphrnn-network"
RESULT_FORMAT = "graphrnn-result"


def _check_version_number(version: Any) -> None:
    if type(version) is not int or version < 1:
        raise _Problem(f"format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise _Problem(f"it was written in format version {version}, newer than this graphrnn reads "
                       f"(up to {FORMAT_VERSION}); upgrade graphrnn to load it")
