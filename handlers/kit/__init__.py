"""Small shared pieces (atomic files, JSON document folders, JSON pointers, logging, redaction,
timestamps, paths, contract validation). Imports no domain.
"""
