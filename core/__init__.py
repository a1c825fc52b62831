"""The firm's domain inside each tenant schema, plus project settings, URLs and the Celery app."""

from core.celery import app as celery_app

__all__ = ["celery_app"]
