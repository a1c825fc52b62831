"""Every URL of a firm's site refuses those who must not reach it (SPEC §5, issue 4 item 7).

The list of URLs is not written here: it is walked out of ``core.urls`` (with
its includes), and each path converter is filled with the id of an object the
attacker may not see: matter M1 (Carol's), Olga's grant on it, Carol herself.
A new URL is therefore requested by every attacker without editing this file,
and is treated as protected unless it is listed below as public or as a page
that shows the signed-in user only their own things. A URL with a converter
this file cannot fill, or without a name, fails the walk.

The attackers, each with GET and POST:

* an anonymous outsider;
* Dan, signed in at the firm, the client of another matter;
* Oscar, outside counsel whose grant on M1 expired (not yet swept, so he still
  holds the guardian permission);
* Bob, signed in at firm B, whose session cookie is presented to firm A;
* Bob on firm B's own site, asking for firm A's ids.

The answers: a page redirects the anonymous to sign-in, the API says 401/403;
someone signed in gets 404 for an object URL ("not found" and "not yours" look
the same) and 403 or 404 elsewhere. Nobody's response contains M1's data.

Then ids where views read them outside the path (issue 10 item 1): every route
again with malformed ids (``abc``, ``1e3``, a number past bigint, JSON lists and
booleans for the API) in the query string and the body, as the firm admin, and
with Carol's ids in them as Dan on his own matter's pages. Never a 5xx, never a
leak, and the routes that look up the named object answer 404. Object URLs of
ids that do not exist (0, past bigint) are 404 for the firm admin too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.datastructures import MultiValueDict
from rest_framework.request import Request

from core.models import Document, Grant, Matter, MatterType, User
from tests.support.firms import PASSWORD, Firm

if TYPE_CHECKING:
    from django.http import HttpResponse

    from tests.support.cast import Cast

URLCONF = "core.urls"

# Anyone may open these: signing in and out, choosing a password from an emailed link, asking for a
# password reset link (the same answer for any email: tests/test_accounts.py), probes,
# switching the language (which changes only the caller's own preference).
# The OAuth token endpoint authenticates the integration's own client id and secret (tests/test_api_integrations.py).
# A calendar feed's token is its key (tests/test_work.py: unknown, revoked and malformed tokens are 404).
PUBLIC = frozenset(
    {
        *("login", "logout", "set_password", "password_reset", "password_reset_confirm"),
        *("healthz", "readyz", "portal:language_set", "upload_too_large", "oauth_token", "portal:calendar_feed"),
    }
)

# Any signed-in user of the firm may open these; each shows the user only their own things
# (their account, their two-factor set-up, the matters the accessor gives them).
OWN_THINGS = frozenset(
    {
        "home",
        "two_factor",
        "two_factor_verify",
        "two_factor_backup_codes",  # the signed-in person's own codes (a count, and a new set on request)
        "api:me",
        "api:matters",
        "portal:client_matters",
        # Billing lists scoped by the invoice accessor: a client sees only their own issued invoices.
        "invoicing:client",
        "api:billing:invoices",
        "api:billing:credit_notes",
        # Online payments and retainer requests scoped by their accessors: a client sees only their own;
        # a payment link answers the client only for their own open invoice or retainer.
        "api:payments:online_payments",
        "api:payments:retainer_requests",
        "api:payments:payment_links",
        # Payment plans scoped by their accessor: a client lists only their own plans.
        "api:payments:payment_plans",
    }
)

# Only the invoice's (or retainer's, or payment's) own client is entitled to these: the payment links
# (GET the pay page, POST hands over to Stripe's Checkout) and the payment's status page.
CLIENT_PAYS = frozenset(
    {
        "invoicing:client_invoice_pay",
        "invoicing:client_retainer_pay",
        "invoicing:client_payment_status",
        "invoicing:client_plan",
        "invoicing:client_plan_accept",
    }
)

# What a leaked response would contain.
VICTIM_MARKERS = (b"2025-0001", b"Carol Diaz", b"carol@acme.test", b"co-counsel at hearing")


@dataclass(frozen=True)
class Route:
    name: str
    converters: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api:")

    @property
    def is_object(self) -> bool:
        return bool(self.converters)


def walk(
    patterns: list[URLPattern | URLResolver], namespace: str = "", converters: tuple[str, ...] = ()
) -> Iterator[Route]:
    for entry in patterns:
        here = converters + tuple(getattr(entry.pattern, "converters", {}))
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, inner, here)
        else:
            assert entry.name, f"URL pattern {entry.pattern} has no name; every URL needs one to be classified"
            yield Route(name=f"{namespace}{entry.name}", converters=here)


def all_routes() -> list[Route]:
    return list(walk(get_resolver(URLCONF).url_patterns))


def _billing_victims(cast: Cast) -> dict[str, int]:
    """An issued invoice on M1 with a requested credit note and write-off (made once per cast, in firm A)."""
    if not hasattr(cast, "billing_ids"):
        from billing.credit_notes.services import credit_note_request
        from billing.fees.models import FeeTemplate
        from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue
        from billing.invoices.write_offs import write_off_request
        from billing.money import Money

        with cast.firm.tenant:
            invoice = invoice_create(matter=cast.m1, by=cast.alice)
            invoice_add_fee(invoice=invoice, template=FeeTemplate.objects.get(code="PET-FLAT"))
            invoice = invoice_issue(invoice=invoice, by=cast.alice)
            note = credit_note_request(invoice=invoice, reason="goodwill", amount=Money(10_00), by=cast.alice)
            write_off = write_off_request(invoice=invoice, amount=Money(5_00), reason="small balance", by=cast.alice)
            stripe_ids = _stripe_victims(cast, invoice)
        cast.billing_ids = {  # type: ignore[attr-defined]
            "invoice_id": invoice.pk,
            "credit_note_id": note.pk,
            "write_off_id": write_off.pk,
            **stripe_ids,
        }
    return cast.billing_ids  # type: ignore[attr-defined,no-any-return]


def _stripe_victims(cast: Cast, invoice: Any) -> dict[str, int]:
    """Firm A's operating account (never created at Stripe here), a retainer asked of Carol, a payment she started
    and a payment plan offered to her."""
    from billing.stripe.models import ConnectedAccount, OnlinePayment, PaymentPlan
    from billing.stripe.services import retainer_request_create

    operating = ConnectedAccount.objects.create(
        kind="operating", stripe_account_id="acct_victim_operating", idempotency_key="victim-op", created_by=cast.alice
    )
    retainer = retainer_request_create(matter=cast.m1, amount=invoice.total, purpose="retainer", by=cast.alice)
    payment = OnlinePayment.objects.create(
        purpose="invoice",
        account=operating,
        account_kind="operating",
        invoice=invoice,
        client=cast.carol,
        matter=cast.m1,
        amount_minor=invoice.total_minor,
        currency=invoice.currency,
        idempotency_key="victim-payment",
    )
    plan = PaymentPlan.objects.create(
        invoice=invoice,
        client=cast.carol,
        matter=cast.m1,
        total_minor=invoice.total_minor,
        currency=invoice.currency,
        installment_count=2,
        interval="monthly",
        first_due_on=invoice.issued_on,
        offered_by=cast.alice,
    )
    return {"account_id": operating.pk, "retainer_id": retainer.pk, "payment_id": payment.pk, "plan_id": plan.pk}


def _casework_victims(cast: Cast) -> dict[str, int]:
    """Carol's passport on M1, and a matter type of firm A's own with a question, requirement and stage."""
    if not hasattr(cast, "casework_ids"):
        from core.models import DocumentRequirement, IntakeQuestion, WorkflowStage
        from tests.support.casework import upload

        with cast.firm.tenant:
            document = upload(cast.m1, "passport", cast.carol)
            kind = MatterType.objects.create(code="ACME-ONLY", name_en="Acme's own type")
            question = IntakeQuestion.objects.create(matter_type=kind, key="q", label_en="Q?", label_es="¿Q?")
            requirement = DocumentRequirement.objects.create(matter_type=kind, code="r", name_en="R", name_es="R")
            stage = WorkflowStage.objects.create(matter_type=kind, code="s", name_en="S")
        cast.casework_ids = {  # type: ignore[attr-defined]
            "client_id": cast.carol.pk,
            "document_id": document.pk,
            "type_id": kind.pk,
            "question_id": question.pk,
            "requirement_id": requirement.pk,
            "stage_id": stage.pk,
        }
    return cast.casework_ids  # type: ignore[attr-defined,no-any-return]


def _integration_victims(cast: Cast) -> dict[str, int]:
    """An API token of firm A's (acting as Arthur), an integration, a webhook endpoint and one delivery to it."""
    if not hasattr(cast, "integration_ids"):
        from core.api_tokens import token_issue
        from core.integrations import integration_register
        from core.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

        with cast.firm.tenant:
            issued = token_issue(user=cast.arthur, label="Case sync", scopes=["matters:read"], days=30, by=cast.alice)
            integration = integration_register(name="Books", scopes=["billing:read"], by=cast.alice).integration
            endpoint = WebhookEndpoint.objects.create(url="https://hooks.acme.test/portico", secret="whsec_x")
            event = WebhookEvent.objects.create(event_id="msg_victim", type="matter.opened", payload={})
            delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
        cast.integration_ids = {  # type: ignore[attr-defined]
            "application_id": issued.application.pk,
            "integration_id": integration.pk,
            "endpoint_id": endpoint.pk,
            "delivery_id": delivery.pk,
        }
    return cast.integration_ids  # type: ignore[attr-defined,no-any-return]


def _work_victims(cast: Cast) -> dict[str, int]:
    """A task and a deadline on M1, given to Arthur."""
    if not hasattr(cast, "work_ids"):
        from datetime import timedelta

        from django.utils import timezone

        from core.work import deadline_create, task_create

        with cast.firm.tenant:
            task = task_create(title="File Carol's I-130", by=cast.alice, matter=cast.m1, assignee=cast.arthur)
            due = timezone.now() + timedelta(days=3)
            deadline = deadline_create(matter=cast.m1, by=cast.alice, kind="biometrics", due_at=due)
        cast.work_ids = {"task_id": task.pk, "deadline_id": deadline.pk}  # type: ignore[attr-defined]
    return cast.work_ids  # type: ignore[attr-defined,no-any-return]


def _victim_ids(cast: Cast) -> dict[str, int]:
    return {
        **_integration_victims(cast),
        **_work_victims(cast),
        "matter_id": cast.m1.pk,
        "grant_id": cast.olga_grant.pk,
        "user_id": cast.carol.pk,
        **_billing_victims(cast),
        **_casework_victims(cast),
    }


def path_of(route: Route, ids: dict[str, int]) -> str:
    unknown = set(route.converters) - set(ids)
    assert not unknown, f"{route.name}: no victim id for {sorted(unknown)}; add it to _victim_ids"
    return reverse(route.name, kwargs={name: ids[name] for name in route.converters}, urlconf=URLCONF)


def _leaks(response: HttpResponse) -> list[bytes]:
    content = b"" if getattr(response, "streaming", False) else response.content
    return [marker for marker in VICTIM_MARKERS if marker in content]


def _protected(cast: Cast) -> Iterator[tuple[Route, str]]:
    for route in all_routes():
        if route.name in PUBLIC:
            continue
        yield route, path_of(route, _victim_ids(cast))


def _denied_signed_in(route: Route, response: HttpResponse) -> bool:
    return response.status_code == 404 if route.is_object else response.status_code in (403, 404)


def _denied_anonymous(route: Route, path: str, response: HttpResponse) -> bool:
    if route.is_api:
        return response.status_code in (401, 403)
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def _request(client: Client, method: str, path: str) -> Any:
    return client.get(path) if method == "GET" else client.post(path, {"reason": "x", "roles": ["firm admin"]})


# --- The walk itself ------------------------------------------------------------------


def test_the_walk_finds_the_staff_portal_and_api_urls() -> None:
    names = {route.name for route in all_routes()}

    assert {"portal:staff_matter", "portal:grant_revoke", "portal:access_review_csv", "api:matter"} <= names
    assert {"portal:client_matter", "api:grant_revoke", "two_factor", "portal:user_roles"} <= names
    assert len(names) == len(all_routes()), "two URLs share a name"


def test_every_listed_url_name_exists() -> None:
    names = {route.name for route in all_routes()}

    assert (PUBLIC | OWN_THINGS) - names == set()


def test_the_walk_fails_on_a_converter_it_cannot_fill() -> None:
    from django.urls import path

    from core import views

    [route] = walk([path("staff/invoices/<int:invoice_id>/", views.home, name="invoice")])

    with pytest.raises(AssertionError, match="no victim id for \\['invoice_id'\\]"):
        path_of(route, {"matter_id": 1})


# --- Attackers ----------------------------------------------------------------------------


def _check_signed_in_attacker(cast: Cast, client: Client) -> list[str]:
    problems = []
    for route, path in _protected(cast):
        for method in ("GET", "POST"):
            response = _request(client, method, path)
            if leaked := _leaks(response):
                problems.append(f"{method} {path} ({route.name}) leaked {leaked}")
            if route.name not in OWN_THINGS and not _denied_signed_in(route, response):
                problems.append(f"{method} {path} ({route.name}) answered {response.status_code}")
    return problems


def test_anonymous_outsider_is_sent_to_sign_in_or_refused_everywhere(cast: Cast) -> None:
    client = cast.firm.client()
    problems = []
    for route, path in _protected(cast):
        for method in ("GET", "POST"):
            response = _request(client, method, path)
            if not _denied_anonymous(route, path, response) or _leaks(response):
                problems.append(f"{method} {path} ({route.name}) answered {response.status_code}")

    assert problems == []


def test_client_of_another_matter_gets_404_or_403_everywhere(cast: Cast) -> None:
    assert _check_signed_in_attacker(cast, cast.firm.client(cast.dan)) == []


def test_expired_grantee_gets_404_or_403_everywhere(cast: Cast) -> None:
    with cast.firm.tenant:
        assert User.objects.get(pk=cast.oscar.pk).has_perm("core.view_matter", cast.m1)  # only the expiry stops him

    assert _check_signed_in_attacker(cast, cast.firm.client(cast.oscar)) == []


def test_another_firms_session_cookie_counts_for_nothing_here(cast: Cast, firm_b: Firm) -> None:
    on_b = firm_b.client()
    assert on_b.post("/accounts/login/", {"username": "bob@globex.test", "password": PASSWORD}).status_code == 302
    presented_to_a = cast.firm.client()
    presented_to_a.cookies["sessionid"] = on_b.cookies["sessionid"].value

    problems = []
    for route, path in _protected(cast):
        for method in ("GET", "POST"):
            response = _request(presented_to_a, method, path)
            if not _denied_anonymous(route, path, response) or _leaks(response):
                problems.append(f"{method} {path} ({route.name}) answered {response.status_code}")

    assert problems == []


def test_another_firms_admin_asking_for_this_firms_ids_on_his_own_site_gets_404(cast: Cast, firm_b: Firm) -> None:
    ids = _victim_ids(cast)
    with firm_b.tenant:  # otherwise a 200 could be B's own object that happens to share the id
        assert not Matter.objects.filter(pk=ids["matter_id"]).exists()
        assert not Grant.objects.filter(pk=ids["grant_id"]).exists()
        assert not User.objects.filter(pk=ids["user_id"]).exists()
        assert not Document.objects.filter(pk=ids["document_id"]).exists()
        assert not MatterType.objects.filter(pk=ids["type_id"]).exists()
    bob = firm_b.client(firm_b.admin)

    problems = []
    for route, path in _protected(cast):
        for method in ("GET", "POST"):
            response = _request(bob, method, path)
            if leaked := _leaks(response):
                problems.append(f"{method} {path} ({route.name}) leaked {leaked}")
            if route.is_object and response.status_code != 404:
                problems.append(f"{method} {path} ({route.name}) answered {response.status_code}")

    assert problems == []


def test_the_firm_admin_reaches_every_url_the_attackers_are_refused(cast: Cast) -> None:
    """The refusals above are about who asks: the same paths work for someone entitled to them."""
    alice = cast.firm.client(cast.alice)
    carol = cast.firm.client(cast.carol)
    problems = []
    for route, path in _protected(cast):
        # Paying online is the client's own act: the firm admin reaches the invoice, but only Carol pays it.
        response = (carol if route.name in CLIENT_PAYS else alice).get(path)
        # 405: a POST-only action, refused for its method only after the access checks passed.
        if response.status_code not in (200, 302, 405):
            problems.append(f"GET {path} ({route.name}) answered {response.status_code}")

    assert problems == []


# --- Ids in bodies and query strings ---------------------------------------------------------
#
# Every route again, now with object ids where views read them outside the path: every field
# below is set, in the query string and in the POST body (form-encoded, and JSON for the API).

ID_FIELDS = (
    *("refund", "document", "item", "matter", "matter_id", "requirement_id", "request", "request_id"),
    *("deposit_id", "statement", "statement_line", "journal_line", "account", "grantee", "template", "stage"),
    *("responsible_attorney", "assigned_paralegal", "invoice", "client", "user", "grant", "assignee", "responsible"),
)
MALFORMED_IDS = ("abc", "-1", "1e3", "99999999999999999999999", "\uff11\uff12")
MALFORMED_JSON: tuple[object, ...] = ([1], {"id": 1}, True, 1.5, 10**30, None)
# Routes that look up the object one of those fields names (method, field): a malformed or foreign id is 404.
BODY_LOOKUPS = {
    "invoicing:credit_refund_decide": ("POST", "refund"),
    "portal:client_download": ("GET", "document"),
    "portal:client_upload": ("GET", "item"),
    "api:billing:invoices": ("POST", "matter_id"),
    "invoicing:online_payment_trust_refund_decide": ("POST", "request_id"),
    "api:payments:payment_links": ("POST", "invoice"),
    "api:payments:trust_refund_approvals": ("POST", "request"),
    "api:payments:retainer_requests": ("POST", "matter_id"),
    "api:payments:payment_plans": ("POST", "invoice"),
    "invoicing:online_payment_dispute_evidence": ("POST", "document"),
}


def _send(client: Client, route: Route, method: str, path: str, fields: dict[str, object]) -> Any:
    """The request, or None when a form cannot carry these values (JSON values go to the API only)."""
    as_text = all(isinstance(value, str | int) for value in fields.values())
    if not as_text and not route.is_api:
        return None
    query = urlencode({name: str(value) for name, value in fields.items()})
    if method == "GET":
        return client.get(f"{path}?{query}")
    if not as_text:
        return client.post(f"{path}?{query}", json.dumps(fields), content_type="application/json")
    return client.post(f"{path}?{query}", fields)


def _sweep(
    client: Client,
    ids: dict[str, int],
    values: list[dict[str, object]],
    *,
    attacker: bool,
    only: Callable[[Route, str], bool] = lambda route, method: True,
    reads: dict[tuple[str, str], bool] | None = None,
) -> list[str]:
    """Every route, method and set of field values: a 5xx is a problem, a leak is one for an attacker,
    and so is a BODY_LOOKUPS route that reads its field and does not answer 404 (or refuse the caller: 403).

    ``only`` picks the routes and methods to send; ``reads``, when given, is filled with whether each route
    and method read any of ID_FIELDS from the query string, the form or (API) the body."""
    problems = []
    for route in all_routes():
        if route.name in PUBLIC:
            continue
        path = path_of(route, ids)
        for method in ("GET", "POST"):
            if not only(route, method):
                continue
            for fields in values:
                with _id_fields_read() as read:
                    if (response := _send(client, route, method, path, fields)) is None:
                        continue
                if reads is not None:
                    reads[route.name, method] = reads.get((route.name, method), False) or bool(read)
                where = f"{method} {path} ({route.name}) with {fields}"
                if response.status_code >= 500:
                    problems.append(f"{where} answered {response.status_code}")
                if attacker and (leaked := _leaks(response)):
                    problems.append(f"{where} leaked {leaked}")
                if BODY_LOOKUPS.get(route.name, ("", ""))[0] == method and response.status_code not in (403, 404):
                    problems.append(f"{where} answered {response.status_code}, not 404")
    return problems


# Methods through which a view reads a query string or form (QueryDict, a MultiValueDict): by key, or all at once.
# (Not those that build one: parsing a request fills its QueryDict through appendlist and setlistdefault.)
_BY_KEY = ("__getitem__", "get", "getlist", "__contains__")
_ALL_AT_ONCE = ("items", "lists", "values", "keys", "dict", "__iter__", "copy", "__copy__", "__deepcopy__", "urlencode")


@contextmanager
def _id_fields_read() -> Iterator[set[str]]:
    """The ID_FIELDS that the code run inside reads from any query string or form (every one, on a bulk read)."""
    read: set[str] = set()
    building = [0]  # inside setlistdefault, through which parsing fills a QueryDict (it asks `key in self`)
    names = [name for name in (*_BY_KEY, *_ALL_AT_ONCE, "setlistdefault") if hasattr(MultiValueDict, name)]
    originals = {name: getattr(MultiValueDict, name) for name in names}

    def by_key(original: Any) -> Any:
        def recorded(self: MultiValueDict[str, Any], key: object, *args: Any, **kwargs: Any) -> Any:
            if key in ID_FIELDS and not building[0]:
                read.add(str(key))
            return original(self, key, *args, **kwargs)

        return recorded

    def all_at_once(original: Any) -> Any:
        def recorded(self: MultiValueDict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if not building[0]:
                read.update(ID_FIELDS)
            return original(self, *args, **kwargs)

        return recorded

    def quietly(original: Any) -> Any:
        def unrecorded(self: MultiValueDict[str, Any], *args: Any, **kwargs: Any) -> Any:
            building[0] += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                building[0] -= 1

        return unrecorded

    for name, original in originals.items():
        wrap = by_key if name in _BY_KEY else all_at_once if name in _ALL_AT_ONCE else quietly
        setattr(MultiValueDict, name, wrap(original))
    # An API view's body is parsed JSON (a dict): asking DRF for it counts as reading every field.
    body = Request.data
    Request.data = property(all_at_once(body.fget))  # type: ignore[method-assign,assignment,attr-defined]
    try:
        yield read
    finally:
        for name, original in originals.items():
            setattr(MultiValueDict, name, original)
        Request.data = body  # type: ignore[method-assign]


# Per process: whether each route and method read an id field in the first malformed-value sweep.
_READS_IDS: dict[tuple[str, str], bool] = {}


# One group: the values run on one worker, so the full first sweep (about 11 s) is made once per run, not
# once per worker; the later, narrower sweeps are a few seconds each.
@pytest.mark.xdist_group("malformed-ids")
@pytest.mark.parametrize("bad", [*MALFORMED_IDS, *MALFORMED_JSON], ids=repr)
def test_malformed_ids_in_bodies_and_query_strings_are_404_never_500(cast: Cast, bad: object) -> None:
    """Alice reaches everything, so only the malformed value can refuse her request (one value per test).

    The first text sweep sends its value to every route and notes which routes read an id field at all (from
    the query string or form, or the API body); later sweeps send theirs to those routes only: a view that
    reads none of the fields answers the same whatever they hold. The JSON values go to the API only, as
    forms cannot carry them."""
    values: list[dict[str, object]] = [dict.fromkeys(ID_FIELDS, bad)]
    client, ids = cast.firm.client(cast.alice), _victim_ids(cast)
    textual = isinstance(bad, str)

    if textual and not _READS_IDS:
        found: dict[tuple[str, str], bool] = {}
        assert _sweep(client, ids, values, attacker=False, reads=found) == []
        assert any(found.values()), "no page read an id field: the recording of reads is broken"
        _READS_IDS.update(found)
        return

    def reads_ids(route: Route, method: str) -> bool:
        return _READS_IDS.get((route.name, method), True)

    assert _sweep(client, ids, values, attacker=False, only=reads_ids) == []


def test_another_clients_ids_in_bodies_and_query_strings_are_404(cast: Cast) -> None:
    """Dan on his own matter's pages (M2), naming Carol's objects on M1 in the query string and body."""
    ids = _victim_ids(cast)
    with cast.firm.tenant:
        from core.checklist import checklist_for

        carol_line = checklist_for(cast.m1)[0]
    foreign = dict.fromkeys(ID_FIELDS, ids["matter_id"]) | {
        "document": ids["document_id"],
        "item": carol_line.key,
        "requirement_id": carol_line.requirement.pk,
        "refund": ids["credit_note_id"],
        "invoice": ids["invoice_id"],
        "grantee": ids["user_id"],
        "client": ids["user_id"],
        "user": ids["user_id"],
        "grant": ids["grant_id"],
    }
    own_paths = ids | {"matter_id": cast.m2.pk}

    assert _sweep(cast.firm.client(cast.dan), own_paths, [foreign], attacker=True) == []


@pytest.mark.parametrize("missing", [0, 2**62, 10**30])
def test_the_firm_admin_gets_404_for_object_urls_of_ids_that_are_not_there(cast: Cast, missing: int) -> None:
    alice = cast.firm.client(cast.alice)
    problems = []
    for route, _path in _protected(cast):
        if not route.is_object:
            continue
        path = path_of(route, dict.fromkeys(route.converters, missing))
        for method in ("GET", "POST"):
            if (response := _request(alice, method, path)).status_code != 404:
                problems.append(f"{method} {path} ({route.name}) answered {response.status_code}")

    assert problems == []
