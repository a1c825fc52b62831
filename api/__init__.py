"""The REST API under /api/v1/ on each firm's subdomain (Django REST framework)."""
