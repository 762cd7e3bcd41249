"""Imported robot assets: upload or server file → isolated import child → canonical files."""
