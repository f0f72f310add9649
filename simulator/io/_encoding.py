"""Typed JSON: values, attribute dicts and node names in a form every format carries."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Hashable
from typing import Any

import numpy as np

from ._errors import _Problem

_VALUE_KINDS = ("None, bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict, "
                "or NumPy arrays and scalars of numbers or text")


def _array_dtype_ok(dt: np.dtype) -> bool:
    return (dt.kind in "biuU" or (dt.kind == "f" and dt.itemsize <= 8)
            or (dt.kind == "c" and dt.itemsize <= 16))


def encode_value(value: Any, where: str = "value") -> Any:
    """Return `value` as typed JSON: plain JSON values as they are, others tagged.

    Parameters
    ----------
    value : object
        None, bool, int, float, complex, str, bytes, list, tuple, set,
        frozenset, dict, or a NumPy array or scalar of numbers or text.
    where : str
        What `value` is (``"attribute 'pos' of node 'A1'"``), for the message.

    Returns
    -------
    object
        Built of dicts, lists, str, int, finite float, bool and None only;
        `decode_value` gives back an equal value of the same types.

    Raises
    ------
    TypeError
        For any other type; the message names `where`.

    Examples
    --------
    >>> import numpy as np
    >>> encode_value((1, "a", None))
    {'$tuple': [1, 'a', None]}
    >>> encode_value({"x": float("inf"), 2: np.float32(0.5)})
    {'$dict': [['x', {'$float': 'inf'}], [2, {'$scalar': ['<f4', 0.5]}]]}
    >>> value = decode_value(encode_value({"x": float("inf"), 2: np.float32(0.5)}))
    >>> value["x"], type(value[2]).__name__
    (inf, 'float32')
    """
    t = type(value)
    if value is None or t is bool or t is str or t is int:
        return value
    if t is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if t is list:
        return [encode_value(v, where) for v in value]
    if t is tuple:
        return {"$tuple": [encode_value(v, where) for v in value]}
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: encode_value(v, where) for k, v in value.items()}
        return {"$dict": [[encode_value(k, where), encode_value(v, where)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {"$" + t.__name__: [encode_value(v, where) for v in value]}
    if t is complex:
        return {"$complex": [encode_value(value.real), encode_value(value.imag)]}
    if t is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if t is np.ndarray and _array_dtype_ok(value.dtype):
        return {"$ndarray": {"dtype": value.dtype.str, "shape": list(value.shape),
                             "data": encode_value(value.ravel().tolist(), where)}}
    if isinstance(value, np.generic) and _array_dtype_ok(value.dtype):
        return {"$scalar": [value.dtype.str, encode_value(value.item(), where)]}
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    raise TypeError(f"{where} has type {t.__name__} ({text}), which cannot be saved: "
                    f"values must be {_VALUE_KINDS}")


def _encode_attributes(attrs: dict, where: str) -> Any:
    """`encode_value` of an attribute dict, with each attribute named in messages."""
    if all(type(k) is str and not k.startswith("$") for k in attrs):
        return {k: encode_value(v, f"attribute {k!r} of {where}") for k, v in attrs.items()}
    return {"$dict": [[encode_value(k, f"an attribute name of {where}"), encode_value(v, f"attribute {k!r} of {where}")]
                      for k, v in attrs.items()]}


def _dtype(text: Any) -> np.dtype:
    if not isinstance(text, str):
        raise _Problem(f"dtype {text!r} is not a string")
    try:
        dt = np.dtype(text)
    except TypeError:
        raise _Problem(f"unknown dtype {text!r}") from None
    if not _array_dtype_ok(dt):
        raise _Problem(f"dtype {text!r} is not one a file may hold")
    return dt


def _decode_tag(tag: str, body: Any) -> Any:
    if tag in ("$tuple", "$set", "$frozenset", "$dict", "$complex") and type(body) is not list:
        raise _Problem(f"{tag} holds {type(body).__name__}, not a list")
    if tag == "$tuple":
        return tuple(decode_value(v) for v in body)
    if tag in ("$set", "$frozenset"):
        items = [decode_value(v) for v in body]
        return set(items) if tag == "$set" else frozenset(items)
    if tag == "$dict":
        if not all(type(p) is list and len(p) == 2 for p in body):
            raise _Problem("$dict must hold [key, value] pairs")
        return {decode_value(k): decode_value(v) for k, v in body}
    if tag == "$float":
        if body not in ("nan", "inf", "-inf"):
            raise _Problem(f"$float must be 'nan', 'inf' or '-inf', got {body!r}")
        return float(body)
    if tag == "$complex":
        re_, im = (decode_value(v) for v in body) if len(body) == 2 else (None, None)
        if type(re_) is not float or type(im) is not float:
            raise _Problem("$complex must hold two floats")
        return complex(re_, im)
    if tag == "$bytes":
        if type(body) is not str:
            raise _Problem("$bytes must hold base64 text")
        return base64.b64decode(body.encode("ascii"), validate=True)
    if tag == "$ndarray":
        if type(body) is not dict or set(body) != {"dtype", "shape", "data"}:
            raise _Problem("$ndarray must hold 'dtype', 'shape' and 'data'")
        dt = _dtype(body["dtype"])
        shape = body["shape"]
        if type(shape) is not list or not all(type(s) is int and s >= 0 for s in shape):
            raise _Problem(f"$ndarray shape {shape!r} is not a list of sizes")
        data = decode_value(body["data"])
        if type(data) is not list or len(data) != math.prod(shape):
            raise _Problem(f"$ndarray data does not fill shape {tuple(shape)}")
        return np.array(data, dtype=dt).reshape(shape)
    if tag == "$scalar":
        if type(body) is not list or len(body) != 2:
            raise _Problem("$scalar must hold [dtype, value]")
        return _dtype(body[0]).type(decode_value(body[1]))
    raise _Problem(f"unknown value tag {tag!r}")


def decode_value(obj: Any) -> Any:
    """Return the value that `encode_value` turned into `obj`.

    Raises
    ------
    ValueError
        If `obj` is not typed JSON (an unknown tag, a malformed body).
    """
    t = type(obj)
    if obj is None or t in (bool, int, float, str):
        return obj
    if t is list:
        return [decode_value(v) for v in obj]
    if t is dict:
        tags = [k for k in obj if k.startswith("$")]
        if not tags:
            return {k: decode_value(v) for k, v in obj.items()}
        if len(obj) != 1:
            raise _Problem(f"a tagged value has other keys beside {tags[0]!r}")
        try:
            return _decode_tag(tags[0], obj[tags[0]])
        except (TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, _Problem):
                raise
            raise _Problem(f"malformed {tags[0]} value: {exc}") from None
    raise _Problem(f"a {t.__name__} is not typed JSON")


def _decode_name(obj: Any) -> Hashable:
    name = decode_value(obj)
    try:
        hash(name)
    except TypeError:
        raise _Problem(f"node name {name!r} is not hashable") from None
    return name


def _decode_names(obj: Any, what: str) -> tuple:
    if type(obj) is not list:
        raise _Problem(f"`{what}` is not a list of names")
    return tuple(_decode_name(v) for v in obj)


def _json(obj: Any, **kwargs: Any) -> str:
    return json.dumps(obj, allow_nan=False, **kwargs)


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _Problem(f"{what} is not valid JSON ({exc})") from None
