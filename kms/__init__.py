"""Per-tenant envelope encryption: key providers, data keys, encrypted files and fields (SPEC §4)."""
