"""Files for networks and results: `save` and `load`.

The format follows the file's extension:

============  =================  =============================================
extension     holds              written through
============  =================  =============================================
``.npz``      Network or Result  NumPy ``savez`` (no pickles): the arrays as
                                 they are, names and attributes in a JSON header
``.graphml``  Network            ``networkx.write_graphml``
``.json``     Network            ``networkx.node_link_data`` (node-link JSON,
                                 one node or edge per line)
============  =================  =============================================

Every file records its format (``"graphrnn-network"`` or
``"graphrnn-result"``), the format version, the dtype and the order of the
inputs and outputs, and loads back to an identical object: the same names of
the same types (an int node ``3`` stays ``3``, a tuple stays a tuple), the same
order of neurons, inputs, outputs and edges, the same parameters bit for bit,
the same activations and the same graph, node and edge attributes. A
Result's file also holds its ``cells`` and ``gates`` when the run has them
(members ``cells`` and ``gates/<name>``), loaded back bit for bit.

Values travel as typed JSON where a format has no place for them: a tuple is
``{"$tuple": [...]}``, a non-finite float ``{"$float": "nan"}``, a NumPy array
``{"$ndarray": {"dtype": "<f8", "shape": [2], "data": [...]}}``; likewise
``$set``, ``$frozenset``, ``$dict`` (non-string keys), ``$complex``,
``$bytes`` and ``$scalar`` (NumPy scalars). In GraphML, attribute values that
GraphML cannot type exactly (anything but strings, bools, 64-bit ints and
finite floats, or a key whose values mix types) are written as such JSON
strings, and the graph attribute ``graphrnn`` lists those keys. In node-link
JSON every attribute value is typed JSON (plain JSON values are themselves).
Node names that the format cannot carry as they are (GraphML ids are strings;
node-link ids are strings, ints or flat lists of those, read back as tuples) are
all written as typed JSON text, e.g. ``"3"`` or ``'{"$tuple": [0, 1.5]}'``.

The graph attributes ``graphrnn_format``, ``graphrnn_version`` and
``graphrnn`` are reserved for the file's own description in GraphML and JSON.

A GraphML or node-link file that does not carry that description (a graph
written by networkx or another tool) is loaded through `simulator.compile`:
roles come from the ``role`` attributes, the dtype is float64, GraphML node
ids are strings, node-link ids keep their JSON types (lists become tuples), and
a node-link file that does not say otherwise holds a directed graph.
"""

from ._encoding import decode_value, encode_value
from ._errors import FileFormatError
from ._files import EXTENSIONS, load, save
from ._format import FORMAT_VERSION

__all__ = ["FileFormatError", "save", "load", "encode_value", "decode_value", "EXTENSIONS", "FORMAT_VERSION"]
