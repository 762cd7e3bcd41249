"""`make bench`: the benches (`python -m bench`), each run as `python -m bench.<name>`.

Importing the package sets numpy up as the simulation children have it (`simengine.cpu`,
before any bench imports numpy): benches that run the engine in their own process, and the
raw loops they compare with, then run under the same conditions as a child's run.
"""

import os

from simengine.cpu import numpy_without_avx512

# The environment as it came: servers started by a bench get this one, as in production
# (their fork server sets numpy up for its children itself).
SERVER_ENVIRON = dict(os.environ)
numpy_without_avx512(os.environ)
