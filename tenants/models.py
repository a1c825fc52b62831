"""Control-plane models, in the public schema."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

SLUG_PATTERN = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "assets",
        "auth",
        "billing",
        "blog",
        "cdn",
        "dashboard",
        "demo-template",
        "docs",
        "ftp",
        "help",
        "imap",
        "login",
        "mail",
        "media",
        "ns1",
        "ns2",
        "pop",
        "portal",
        "portico",
        "public",
        "smtp",
        "static",
        "status",
        "support",
        "template",
        "test",
        "vendor",
        "webhooks",
        "www",
    }
)


def slug_to_schema(slug: str) -> str:
    """Schema names are the slug with hyphens as underscores (slugs hold no underscore)."""
    return slug.replace("-", "_")


class Tenant(TenantMixin):
    """A law firm subscribing to Portico, with its own schema, region and keys."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        OFFBOARDING = "offboarding", "Offboarding"

    class Plan(models.TextChoices):
        TRIAL = "trial", "Trial"
        STANDARD = "standard", "Standard"
        ENTERPRISE = "enterprise", "Enterprise"

    class Kind(models.TextChoices):
        FIRM = "firm", "Firm"
        TEMPLATE = "template", "Template"
        PUBLIC = "public", "Public"

    slug = models.CharField(max_length=40, unique=True, validators=[RegexValidator(SLUG_PATTERN)])
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=32)
    plan = models.CharField(max_length=16, choices=Plan.choices, default=Plan.STANDARD)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FIRM)
    created = models.DateTimeField(auto_now_add=True)
    status_changed = models.DateTimeField(null=True, blank=True)

    # Schemas are created explicitly by tenants.services so that clone, fallback
    # and rollback are under our control rather than a side effect of save().
    auto_create_schema = False
    # A cloned template holds no firm data; copying its rows keeps the migration
    # history, content types and permissions, so the clone needs no fake migrate.
    clone_mode = "DATA"

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended", "offboarding"]), name="tenant_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_firm(self) -> bool:
        return self.kind == self.Kind.FIRM

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    """A host name that routes to a tenant (``<slug>.<PORTICO_BASE_DOMAIN>``)."""

    def __str__(self) -> str:
        return self.domain


class StripeAccountRoute(models.Model):
    """Which firm holds a Stripe connected account: the shared webhook endpoint routes each event by it.

    Small and read-mostly (two rows per firm), as a public-schema table must be.
    """

    account_id = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="stripe_accounts")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.account_id} -> {self.tenant_id}"


class AuditAnchor(models.Model):
    """A firm's audit-chain head (sequence and hash) at a moment, signed by the platform (Ed25519).

    Kept outside the firm's schema so that someone rewriting the firm's log cannot
    rewrite its anchors too; ``core.audit.anchors`` writes and checks them. A
    ``checkpoint`` anchor marks the last entry pruned for retention: verification
    of what remains starts from it.
    """

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        EXPORT = "export", "Export"
        MANUAL = "manual", "Manual"
        CHECKPOINT = "checkpoint", "Retention checkpoint"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_anchors")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    sequence = models.BigIntegerField(help_text="The head entry's sequence number (0: empty chain).")
    head_hash = models.CharField(max_length=64)
    created = models.DateTimeField()
    key_id = models.CharField(max_length=100)
    signature = models.CharField(max_length=100, help_text="Base64 Ed25519 signature of the anchor's message.")

    class Meta:
        ordering = ["tenant_id", "sequence", "id"]
        indexes = [models.Index(fields=["tenant", "sequence"], name="auditanchor_tenant_seq")]

    def __str__(self) -> str:
        return f"{self.tenant_id} #{self.sequence} ({self.kind})"


class RoutingVersion(models.Model):
    """One row: the version of the host → firm routing, which every web process caches (``tenants.routing``).

    Triggers on the tenant and domain tables set it to a fresh value of its own
    sequence in the same transaction as any change to them (a suspension, an
    offboarding, a domain added or removed): the change and its invalidation commit
    together. Fresh sequence values never repeat, so a rolled-back change leaves no
    version that a later change could take again.
    """

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"routing version {self.version}"


class FirmDirectory(models.Model):
    """The control plane's entry for a firm: where it lives and how it is served, and nothing personal.

    Lives in the control-plane database (``tenants.control``), never a firm's name,
    user or email. Every write bumps ``version`` and writes a ``DirectoryOutbox`` row
    in the same transaction (``tenants.directory``).
    """

    class Status(models.TextChoices):
        PROVISIONING = "provisioning", "Provisioning"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        OFFBOARDING = "offboarding", "Offboarding"

    slug = models.CharField(max_length=40, unique=True, validators=[RegexValidator(SLUG_PATTERN)])
    region = models.CharField(max_length=32)
    cell = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROVISIONING)
    plan = models.CharField(max_length=16, choices=Tenant.Plan.choices, default=Tenant.Plan.STANDARD)
    domains = models.JSONField(default=list)
    version = models.BigIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.slug} ({self.region}, cell {self.cell})"


class DirectoryOutbox(models.Model):
    """A directory change still to be delivered to its cell (at least once; applied idempotently)."""

    slug = models.CharField(max_length=40)
    cell = models.CharField(max_length=32)
    version = models.BigIntegerField()
    # The entry as of this version (slug, region, cell, status, plan, domains), or {"removed": true}.
    entry = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)
    delivered = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["cell", "delivered", "id"], name="outbox_cell_pending")]

    def __str__(self) -> str:
        return f"{self.slug} v{self.version} -> {self.cell}"


class DirectoryCopy(models.Model):
    """A cell's read-only copy of the directory entries of its own firms, kept by outbox delivery.

    In the cell's public schema. ``version`` is the directory version applied last:
    a redelivered or older change is skipped, so applying is idempotent. A removed
    firm keeps its row (``removed``) so that a late, older change cannot bring it back.
    """

    slug = models.CharField(max_length=40, unique=True)
    region = models.CharField(max_length=32)
    cell = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    plan = models.CharField(max_length=16)
    domains = models.JSONField(default=list)
    version = models.BigIntegerField()
    removed = models.BooleanField(default=False)
    applied = models.DateTimeField()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.slug} v{self.version}"
