"""Imported by the simulation fork server only: the physics side of the engine, loaded once.

Every child forked from the server then starts with it (importing it takes ~250 ms).
The API process never imports this module: it would load pybullet.
"""

from simengine import runner  # noqa: F401 - imported for its side: the engine is loaded
from simengine.versions import engine_info

engine_info()  # cached: package metadata lookups cost ~60 ms
