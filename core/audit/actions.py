"""Every action Portico records in a firm's audit log, as one enum.

``core.audit.services.audit_record`` takes an ``AuditAction`` and nothing else,
so mypy refuses a plain string and a new action is added here, documented, or
not at all. The values are the strings stored in ``AuditEntry.action`` (and so
in exports and in the hash chain): never rename one; add a new member instead.

Each member says what its entry records and who triggers it. "Staff" is
whoever's role allows the action (``core/roles.py``); the entry's actor is that
person, or empty for the system (a scheduled job, the vendor CLI).
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class AuditAction(StrEnum):
    # --- Sign-in -----------------------------------------------------------------------
    #: A person signed in (Django's user_logged_in signal); actor and target are them.
    AUTH_LOGIN = "auth.login"
    #: A sign-in was refused; data holds the attempted email, there is no actor.
    AUTH_LOGIN_FAILED = "auth.login_failed"
    #: A person signed out, or their session was ended for them (idle, too old).
    AUTH_LOGOUT = "auth.logout"
    #: A person signed in from a browser they had not used before (they are emailed); data holds its user agent.
    AUTH_NEW_BROWSER = "auth.new_browser"
    #: Someone asked for a password reset link; data holds the email typed (which may have no account), no actor.
    AUTH_RESET_REQUESTED = "auth.reset_requested"
    #: A reset request over a limit (per email or per address) was refused; data holds the email and the limit.
    AUTH_RESET_THROTTLED = "auth.reset_throttled"
    #: A reset link was emailed to an active user (the worker, after a request); the target is them.
    AUTH_RESET_SENT = "auth.reset_sent"
    #: A person chose a new password through a reset link; actor and target are them.
    AUTH_RESET_DONE = "auth.reset_done"
    #: A person confirmed a TOTP device for their own account.
    OTP_ENABLED = "otp.enabled"
    #: A person removed their own TOTP device (with a current code).
    OTP_DISABLED = "otp.disabled"
    #: A firm admin removed another person's TOTP device (they enrol again at sign-in).
    OTP_RESET = "otp.reset"
    #: A person got a new set of two-factor backup codes (on turning two-factor on, or on request); the old set ends.
    OTP_BACKUP_CODES_GENERATED = "otp.backup_codes_generated"
    #: A person signed in with one of their backup codes; data holds how many are left.
    OTP_BACKUP_CODE_USED = "otp.backup_code_used"

    # --- The firm's people and settings ------------------------------------------------
    #: A set-password invitation was sent to a new user (onboarding, a firm admin, a new client).
    USER_INVITED = "user.invited"
    #: A person chose the portal's language (English or Spanish) for themself.
    USER_LANGUAGE_CHANGED = "user.language_changed"
    #: A firm admin gave a user a role; data names the user and the role.
    ROLE_ASSIGNED = "role.assigned"
    #: A firm admin took a role from a user.
    ROLE_REMOVED = "role.removed"
    #: A firm admin changed the firm's settings (two-factor required, attorneys see all matters, ...).
    SETTINGS_CHANGED = "settings.changed"
    #: Staff exported the access review (who reaches which matter, and why): CSV on its page, JSON by the API.
    ACCESS_REVIEW_EXPORTED = "access_review.exported"

    # --- Matters, clients and grants ---------------------------------------------------
    #: Staff opened a matter; data holds its reference.
    MATTER_CREATED = "matter.created"
    #: Staff set a matter's responsible attorney or assigned paralegal.
    MATTER_ASSIGNED = "matter.assigned"
    #: A matter moved to another workflow stage: by staff, or by the system when a stage's work is done.
    MATTER_STAGE_CHANGED = "matter.stage_changed"
    #: A matter-level permission was given (an assignment, a new client, a grant); data lists them.
    PERMISSION_GRANTED = "permission.granted"
    #: A matter-level permission was taken away (a reassignment).
    PERMISSION_REVOKED = "permission.revoked"
    #: Staff invited a client to the portal when opening a matter for them.
    CLIENT_INVITED = "client.invited"
    #: A client's personal data was erased on request (vendor CLI ``tenants erase-client``); no actor.
    CLIENT_ERASE = "client.erase"
    #: Staff gave outside counsel time-limited access to a matter.
    GRANT_CREATED = "grant.created"
    #: Staff moved a grant's expiry.
    GRANT_CHANGED = "grant.changed"
    #: Staff revoked a grant before it expired.
    GRANT_REVOKED = "grant.revoked"
    #: The scheduled sweep removed the permissions of a grant past its expiry; no actor.
    GRANT_EXPIRED = "grant.expired"
    #: A firm admin changed a matter type or one of its questions, requirements, stages or items.
    MATTER_TYPE_CHANGED = "matter_type.changed"

    # --- Intake, documents and messages ------------------------------------------------
    #: A client (or staff for them) saved intake answers; data lists the questions answered, not the answers.
    INTAKE_SAVED = "intake.saved"
    #: An integration imported an intake (client, matter, documents) through the API.
    INTAKE_IMPORTED = "intake.imported"
    #: A client or staff uploaded a document against a requirement.
    DOCUMENT_UPLOADED = "document.uploaded"
    #: An upload was refused (type, size, virus, PDF structure); data holds the reason, nothing was stored.
    DOCUMENT_UPLOAD_REFUSED = "document.upload_refused"
    #: Staff accepted or rejected a document (with the reason the client sees).
    DOCUMENT_REVIEWED = "document.reviewed"
    #: Someone who reaches the document opened its file (always as an attachment).
    DOCUMENT_DOWNLOADED = "document.downloaded"
    #: Someone who reaches the document viewed its thumbnail in the review queue.
    DOCUMENT_VIEWED = "document.viewed"
    #: A matter's client or staff posted in its message thread; data names the matter, not the body.
    MESSAGE_SENT = "message.sent"

    # --- Invoices, credit and write-offs -------------------------------------------------
    #: Staff recorded a time entry on a matter.
    TIME_ENTRY_RECORD = "time_entry.record"
    #: An invoice was drafted: by staff, by a completed stage or by a recurring plan (no actor).
    INVOICE_DRAFT = "invoice.draft"
    #: Billing staff (or the system, for automatic invoices) issued an invoice and took its number.
    INVOICE_ISSUE = "invoice.issue"
    #: A payment was recorded on an invoice: by billing staff, or applied from the client's trust funds.
    INVOICE_PAYMENT = "invoice.payment"
    #: Billing staff voided an invoice (it keeps its number).
    INVOICE_VOID = "invoice.void"
    #: Billing staff asked for a credit note on an invoice.
    CREDIT_NOTE_REQUEST = "credit_note.request"
    #: Someone other than the requester approved a credit note (it is numbered and posted).
    CREDIT_NOTE_APPROVE = "credit_note.approve"
    #: An approver rejected a credit note.
    CREDIT_NOTE_REJECT = "credit_note.reject"
    #: Billing staff asked to refund a client's credit.
    CREDIT_REFUND_REQUEST = "credit_refund.request"
    #: Someone other than the requester approved a credit refund (it is posted).
    CREDIT_REFUND_APPROVE = "credit_refund.approve"
    #: An approver rejected a credit refund.
    CREDIT_REFUND_REJECT = "credit_refund.reject"
    #: Billing staff asked to write off part of an invoice.
    WRITE_OFF_REQUEST = "write_off.request"
    #: Someone other than the requester approved a write-off (it is posted).
    WRITE_OFF_APPROVE = "write_off.approve"
    #: An approver rejected a write-off.
    WRITE_OFF_REJECT = "write_off.reject"

    # --- The ledger and trust money ----------------------------------------------------
    #: A journal entry was posted (by whichever billing action posts it); data holds its lines.
    LEDGER_POST = "ledger.post"
    #: Billing staff reversed a posted entry with a new, opposite entry.
    LEDGER_REVERSE = "ledger.reverse"
    #: Billing staff recorded a deposit into a client's trust funds.
    TRUST_DEPOSIT = "trust.deposit"
    #: Billing staff marked a trust deposit cleared by the bank.
    TRUST_DEPOSIT_CLEAR = "trust.deposit_clear"
    #: Trust funds were applied to an issued invoice (the firm's trust policy, on issue or by staff).
    TRUST_APPLY = "trust.apply"
    #: A client-matter's trust balance fell below the firm's threshold; a billing task was made.
    TRUST_LOW_BALANCE = "trust.low_balance"
    #: A firm admin changed the trust settings (currency, thresholds); data holds before and after.
    TRUST_SETTINGS_UPDATE = "trust.settings_update"
    #: Billing staff asked to pay a payee from a client's trust funds.
    TRUST_DISBURSEMENT_REQUEST = "trust.disbursement_request"
    #: An approver other than the requester approved a disbursement.
    TRUST_DISBURSEMENT_APPROVE = "trust.disbursement_approve"
    #: The last approval needed paid the disbursement (its entry is posted).
    TRUST_DISBURSEMENT_POST = "trust.disbursement_post"
    #: An approver rejected a disbursement.
    TRUST_DISBURSEMENT_REJECT = "trust.disbursement_reject"
    #: Billing staff asked to return unused trust funds to the client.
    TRUST_REFUND_REQUEST = "trust.refund_request"
    #: An approver other than the requester approved a trust refund.
    TRUST_REFUND_APPROVE = "trust.refund_approve"
    #: The last approval needed paid the trust refund (its entry is posted).
    TRUST_REFUND_POST = "trust.refund_post"
    #: An approver rejected a trust refund.
    TRUST_REFUND_REJECT = "trust.refund_reject"
    #: Billing staff imported a bank statement (CSV or OFX) for reconciliation.
    RECONCILIATION_IMPORT = "reconciliation.import"
    #: Billing staff asked for a statement's lines to be matched to the journal automatically.
    RECONCILIATION_AUTO_MATCH = "reconciliation.auto_match"
    #: Billing staff matched a statement line to a journal line by hand.
    RECONCILIATION_MATCH = "reconciliation.match"
    #: Billing staff undid a match.
    RECONCILIATION_UNMATCH = "reconciliation.unmatch"
    #: Billing staff closed a month whose three-way reconciliation balances (no more trust postings in it).
    RECONCILIATION_CLOSE_MONTH = "reconciliation.close_month"

    # --- Online payments (Stripe Connect) ----------------------------------------------
    #: A firm admin created one of the firm's two connected accounts (trust or operating) at Stripe.
    STRIPE_ACCOUNT_CREATE = "stripe.account_create"
    #: A firm admin opened Stripe's onboarding for a connected account (an account link was made).
    STRIPE_ACCOUNT_LINK = "stripe.account_link"
    #: A client started paying online; data holds the account kind, the amount and the PaymentIntent id.
    STRIPE_PAYMENT_START = "stripe.payment_start"
    #: A signed Stripe event was applied to the firm's books (a payment received, a refund posted).
    STRIPE_EVENT_APPLY = "stripe.event_apply"
    #: A signed event for this firm was not applied (no such payment, or it came from the other connected
    #: account than the payment's); nothing was posted. Unsigned or unroutable webhooks are only logged.
    STRIPE_EVENT_REFUSED = "stripe.event_refused"
    #: Billing staff asked a client for a retainer into trust (paid online from the portal).
    TRUST_RETAINER_REQUEST = "trust.retainer_request"
    #: Billing staff refunded (part of) an online payment through Stripe.
    STRIPE_REFUND_REQUEST = "stripe.refund_request"
    #: Stripe accepted the card refund of a retainer in trust after its two approvals (the approver who sent it
    #: is the actor); data: the payment, the amount and Stripe's refund id. The ledger follows on ``charge.refunded``.
    STRIPE_TRUST_REFUND_SENT = "stripe.trust_refund_sent"

    # --- Payment plans (billing/stripe/plans.py) ---------------------------------------
    #: Billing staff offered a client a payment plan on an open invoice; data: installments, interval, first date.
    PAYMENT_PLAN_OFFER = "payment_plan.offer"
    #: The client accepted a plan: Stripe confirmed the card saved for off-session charges (the plan is active).
    PAYMENT_PLAN_ACCEPT = "payment_plan.accept"
    #: Billing staff (or the client, before accepting) cancelled a plan; its remaining installments are not charged.
    PAYMENT_PLAN_CANCEL = "payment_plan.cancel"
    #: An installment was charged off-session (no actor: the scheduled job); data: attempt, key, PaymentIntent, outcome.
    PAYMENT_PLAN_CHARGE = "payment_plan.charge"
    #: A plan failed: an installment was declined on its last retry; billing staff got a task to contact the client.
    PAYMENT_PLAN_FAIL = "payment_plan.fail"

    #: Billing staff opened (or downloaded as CSV) a month's itemised statement of the fees Stripe billed to
    #: the platform for trust charges; data: the month, the format, how many fees and their total.
    STRIPE_FEE_STATEMENT_VIEW = "stripe.fee_statement_view"
    #: A firm admin recorded that the operating side repaid the platform a month's trust fees; data: the
    #: month, the currency, the total and the ledger entry posted.
    STRIPE_FEE_STATEMENT_REPAID = "stripe.fee_statement_repaid"
    #: Billing staff submitted evidence on a card dispute through Stripe; data: the dispute, the document, the file.
    STRIPE_DISPUTE_EVIDENCE = "stripe.dispute_evidence"
    #: Billing staff accepted a card dispute (closed it at Stripe uncontested: the cardholder keeps the money).
    STRIPE_DISPUTE_ACCEPT = "stripe.dispute_accept"

    # --- Operations --------------------------------------------------------------------
    #: The log was exported (vendor CLI ``audit export``).
    AUDIT_EXPORT = "audit.export"
    #: The vendor CLI wrote a backup holding this firm's data (``portico backup``: the firm on its own, or
    #: the whole database); data: the backup's id, its kind and file name. Recorded after the dump, so the
    #: backup itself does not hold it.
    FIRM_BACKUP = "firm.backup"
    #: This firm was restored from a backup (``portico restore``); data: the backup's id, kind and date, and
    #: whether the restored firm verified (audit chain, ledger, three-way report, files).
    FIRM_RESTORE = "firm.restore"
    #: Entries past the retention period were pruned through a signed checkpoint (scheduled job or CLI).
    AUDIT_PRUNE = "audit.prune"
    #: The scheduled sweep deleted stored objects that never got a row (a write whose transaction failed).
    STORAGE_ORPHANS_DELETED = "storage.orphans_deleted"

    # --- Integrations (the API) ---------------------------------------------------------
    #: A firm admin issued an API access token for a staff member; data names its label, user, scopes and expiry.
    API_TOKEN_ISSUED = "api_token.issued"  # noqa: S105  (an action name, not a secret)
    #: A firm admin revoked an API access token; data names its label and user.
    API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105  (an action name, not a secret)
    #: An API request was made with an access token; actor is the token's user, data its label, scope and request.
    API_TOKEN_USED = "api_token.used"  # noqa: S105  (an action name, not a secret)
    #: A firm admin registered an integration (an OAuth client); data names it, its client id and scopes.
    INTEGRATION_REGISTERED = "integration.registered"
    #: A firm admin revoked an integration, and with it every token it held; data names it and its client id.
    INTEGRATION_REVOKED = "integration.revoked"
    #: The token endpoint issued an integration a token (client-credentials grant); data: client, scopes, expiry.
    INTEGRATION_TOKEN_ISSUED = "integration.token_issued"  # noqa: S105  (an action name, not a secret)
    #: A firm admin added a webhook endpoint; data holds its address and the events it receives.
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    #: A webhook endpoint was turned off, by a firm admin or (no actor) by Portico after a 410 Gone or when its
    #: retries were spent; data holds its address and the reason. Nothing more is sent to it.
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    #: A firm admin changed a webhook endpoint's address, events or on/off switch; data holds before and after.
    WEBHOOK_ENDPOINT_CHANGED = "webhook_endpoint.changed"
    #: A firm admin rotated a webhook endpoint's signing secret; data says until when the old one also signs.
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated"  # noqa: S105  (an action name, not a secret)
    #: A firm admin replayed a webhook delivery; data names the event, its type and the delivery replayed.
    WEBHOOK_DELIVERY_REPLAYED = "webhook_delivery.replayed"

    # --- Tasks, deadlines and the calendar (core/work.py) -------------------------------
    #: A task was made, by hand (actor) or by Portico (no actor: a checklist line, a stage, a billing rule).
    TASK_CREATED = "task.created"
    #: A task's assignee, priority, due date or state changed; data holds before and after.
    TASK_CHANGED = "task.changed"
    #: A task was marked done; data holds before and after.
    TASK_DONE = "task.done"
    #: A deadline (filing, RFE response, appointment) was added to a matter; data names it and its time.
    DEADLINE_CREATED = "deadline.created"
    #: A deadline was moved, marked done or reopened; data holds before and after.
    DEADLINE_CHANGED = "deadline.changed"
    #: A staff member made a new private calendar feed address (the old one, if any, stops working).
    CALENDAR_FEED_ISSUED = "calendar_feed.issued"
    #: A receipt notice (its number and form) was recorded on a matter.
    RECEIPT_ADDED = "receipt.added"
    #: A staff member turned their private calendar feed off.
    CALENDAR_FEED_REVOKED = "calendar_feed.revoked"

    # --- Collections (billing/collections) ---------------------------------------------
    #: Billing staff paused payment reminders to a client; target is the client, data the reason.
    COLLECTIONS_REMINDERS_PAUSED = "collections.reminders_paused"
    #: Billing staff resumed payment reminders to a client they had paused.
    COLLECTIONS_REMINDERS_RESUMED = "collections.reminders_resumed"
    #: A firm admin added or changed a reminder tier; data holds its offset, actions and whether it is active.
    COLLECTIONS_TIER_SAVED = "collections.tier_saved"
    #: A firm admin changed the collections settings (quiet days between reminders, at-risk horizon).
    COLLECTIONS_SETTINGS_CHANGED = "collections.settings_changed"
