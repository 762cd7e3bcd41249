"""Run-end webhooks: planned at creation, sealed secrets, signed deliveries with retries, the
SSRF guard.
"""
