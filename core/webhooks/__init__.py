"""Outgoing webhooks (Standard Webhooks): events written to the outbox with their change, signed deliveries, retries.

* ``events`` — the event types and their documented payloads; ``event_emit``,
  called by a service inside its transaction: the event row and one delivery
  per subscribed endpoint commit (or roll back) with the change, and the
  endpoints' delivery tasks are queued once the transaction has committed.
* ``endpoints`` — a firm admin's: reaching endpoints and their delivery log
  (404 for anyone else), adding, changing, turning off, rotating the secret,
  replaying a delivery; all audited.
* ``delivery`` — sending: per endpoint, in order, one locked row at a time,
  signed with ``standardwebhooks`` (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``), retried on ``RETRY_SCHEDULE``; 410 or a spent
  schedule turns the endpoint off and emails the firm's admins.
* ``addresses`` — where a delivery may go (SSRF checks after DNS resolution,
  the connection pinned to the checked address).
"""

from core.webhooks.delivery import RETRY_SCHEDULE, delivery_attempt, endpoint_deliver_next, request_body
from core.webhooks.endpoints import (
    deliveries_for_admin,
    delivery_for_admin,
    delivery_log_for_admin,
    delivery_replay,
    endpoint_create,
    endpoint_disable,
    endpoint_for_admin,
    endpoint_secret_new,
    endpoint_secret_rotate,
    endpoint_update,
    endpoints_for_admin,
    may_manage_webhooks,
)
from core.webhooks.events import EVENT_TYPES, event_emit

__all__ = [
    "EVENT_TYPES",
    "RETRY_SCHEDULE",
    "deliveries_for_admin",
    "delivery_attempt",
    "delivery_for_admin",
    "delivery_log_for_admin",
    "delivery_replay",
    "endpoint_create",
    "endpoint_deliver_next",
    "endpoint_disable",
    "endpoint_for_admin",
    "endpoint_secret_new",
    "endpoint_secret_rotate",
    "endpoint_update",
    "endpoints_for_admin",
    "event_emit",
    "may_manage_webhooks",
    "request_body",
]
