"""Bring your own robot: one uploaded file becomes a canonical, checked, measured URDF.

Runs only in an isolated simulation child. This package file imports nothing, so that
importing `simengine.imports.limits` (which the API may do) never loads pybullet, pxr or
trimesh; `simengine.api.import_asset` is the entry point.
"""
