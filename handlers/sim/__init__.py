"""Simulation jobs (`/api/sim`): runs with origin `sim`, shaped as Jobs."""
