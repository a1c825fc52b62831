"""The control plane: firms (tenants), their domains, onboarding and the vendor CLI.

Everything here lives in the public schema and must stay small and read-mostly.
"""
