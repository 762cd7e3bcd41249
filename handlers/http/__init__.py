"""The HTTP edge: middleware, request ids, problem documents, deprecation headers and the
answer of operations not built yet. Imports no domain.
"""
