"""Signals the firm's domain sends for other parts to react to.

``matter_stage_completed(sender, matter, stage)``: a matter finished a workflow
stage (``stage`` is the stage's name, e.g. "filed"). Billing drafts an invoice
for the fee templates billed on that stage (``billing.invoices.automatic``).
"""

from __future__ import annotations

from django.dispatch import Signal

matter_stage_completed = Signal()
