"""Process isolation: the executor, the fork server, the simulation child and how it ended.
Imports no HTTP.
"""
