"""Signing in safely: two-factor authentication, session timeouts and the password policy.

Login throttling is django-axes (configured in settings); sign-ins themselves
are recorded by the audit log (core/audit/signals.py).
"""
