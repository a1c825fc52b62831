"""URLs of payment plans, included into the ``invoicing`` namespace (``portal/billing_urls.py``)."""

from django.urls import path

from portal.views import billing_plans

urlpatterns = [
    # Staff: offer a plan on an invoice, the plans list, a plan's installments, cancelling.
    path("staff/billing/invoices/<int:invoice_id>/plans/", billing_plans.plan_offer_view, name="invoice_plan_offer"),
    path("staff/billing/plans/", billing_plans.plans, name="plans"),
    path("staff/billing/plans/<int:plan_id>/", billing_plans.plan_detail, name="plan"),
    path("staff/billing/plans/<int:plan_id>/cancel/", billing_plans.plan_cancel_view, name="plan_cancel"),
    # The client: the plan's page (Stripe's card form returns here) and accepting it.
    path("portal/billing/plans/<int:plan_id>/", billing_plans.client_plan, name="client_plan"),
    path("portal/billing/plans/<int:plan_id>/accept/", billing_plans.client_plan_accept, name="client_plan_accept"),
]
