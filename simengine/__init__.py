"""The simulation engine (PyBullet); never imports fastapi, generated or handlers."""
