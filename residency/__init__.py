"""Regions, where each firm's data lives, and (later) region-pinned storage."""
