"""No view or API module looks a protected model up directly (issue 10 item 1), in the spirit of Zulip's lint rules.

A protected model is one that ``core/access.py`` or ``billing/access.py`` has an
accessor for: the models its public functions return (``Matter``,
``QuerySet[Invoice]``, …), read from their type hints, so an accessor added
there protects its model here without editing this file. Every module under
``portal/`` (views, forms, guards) and ``api/`` is read (walked, not listed: a module added or
moved there is covered), and ``Model.objects``, ``Model._default_manager``,
``Model._base_manager`` and ``get_object_or_404(Model, …)`` on a protected model
fail the test, however the model was imported or renamed. Reaching related
objects from an object that came through its accessor (``invoice.lines``) is
the intended way and is not flagged.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from django.db import models
from django.shortcuts import get_list_or_404, get_object_or_404

ROOT = Path(__file__).resolve().parent.parent
ACCESSORS = ("core.access", "billing.access")
SCANNED = ("portal", "api")  # views, forms, guards: everything a request reaches
MANAGERS = {"objects", "_default_manager", "_base_manager"}
SHORTCUTS = (get_object_or_404, get_list_or_404)


def _models_in(annotation: str, namespace: dict[str, object]) -> Iterator[type[models.Model]]:
    # Read from the annotation's text: at run time Django's ``QuerySet[Invoice]`` is plain ``QuerySet``.
    for node in ast.walk(ast.parse(annotation, mode="eval")):
        value = namespace.get(node.id) if isinstance(node, ast.Name) else None
        if inspect.isclass(value) and issubclass(value, models.Model):
            yield value


def protected_models() -> set[type[models.Model]]:
    found: set[type[models.Model]] = set()
    for name in ACCESSORS:
        module = importlib.import_module(name)
        for attribute, function in vars(module).items():
            if attribute.startswith("_") or not inspect.isfunction(function) or function.__module__ != name:
                continue
            found.update(_models_in(str(function.__annotations__.get("return", "None")), vars(module)))
    return found


def scanned_modules() -> list[str]:
    names = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts or not path.read_text().strip():
                continue  # migrations read models as they were; an empty __init__ has nothing to read
            names.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return names


class _Lookups(ast.NodeVisitor):
    """Finds direct lookups of protected models, resolving names through the module's and local imports."""

    def __init__(self, namespace: dict[str, object], protected: set[type[models.Model]]) -> None:
        self.names = dict(namespace)
        self.protected = protected
        self.found: list[str] = []

    def _bind(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            try:
                if isinstance(node, ast.ImportFrom) and node.module:
                    value = getattr(importlib.import_module(node.module), alias.name)
                else:
                    value = importlib.import_module(alias.name)
            except (ImportError, AttributeError):
                continue
            self.names[alias.asname or alias.name.split(".")[0]] = value

    visit_Import = _bind
    visit_ImportFrom = _bind

    def _resolve(self, node: ast.expr) -> object:
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            return getattr(self._resolve(node.value), node.attr, None)
        return None

    def _is_protected(self, node: ast.expr) -> bool:
        value = self._resolve(node)
        return inspect.isclass(value) and value in self.protected

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in MANAGERS and self._is_protected(node.value):
            self.found.append(f"line {node.lineno}: {ast.unparse(node)}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if self._resolve(node.func) in SHORTCUTS and node.args and self._is_protected(node.args[0]):
            self.found.append(f"line {node.lineno}: {ast.unparse(node.func)}({ast.unparse(node.args[0])}, …)")
        self.generic_visit(node)


def direct_lookups(source: str, namespace: dict[str, object], protected: set[type[models.Model]]) -> list[str]:
    checker = _Lookups(namespace, protected)
    checker.visit(ast.parse(source))
    return checker.found


def _lookups_in(module: ModuleType, protected: set[type[models.Model]]) -> list[str]:
    return direct_lookups(inspect.getsource(module), vars(module), protected)


def test_the_protected_models_are_read_from_the_accessors() -> None:
    from billing.credit_notes.models import CreditNote, CreditRefund
    from billing.invoices.models import Invoice, Payment, WriteOff
    from core.models import Document, Grant, Matter, User

    assert {Matter, Document, Grant, User, Invoice, Payment, CreditNote, CreditRefund, WriteOff} <= protected_models()


def test_every_views_and_api_module_is_scanned() -> None:
    names = scanned_modules()

    assert {"api.views", "api.casework", "api.billing_invoices", "portal.views.billing_invoices"} <= set(names)
    assert {"portal.views.client_documents", "portal.views.staff_casework"} <= set(names)


@pytest.mark.parametrize("name", scanned_modules())
def test_no_view_looks_a_protected_model_up_directly(name: str) -> None:
    found = _lookups_in(importlib.import_module(name), protected_models())

    assert found == [], f"{name} reaches protected models without their accessor (core/access.py, billing/access.py)"


# --- The rule itself finds what it must, and only that -----------------------------------------


SNEAKY = """
from core.models import Matter as Cast
from core import models as core_models
from django.shortcuts import get_object_or_404

def view(request, matter_id, document_id):
    from billing.invoices.models import Invoice
    Cast.objects.get(pk=matter_id)
    core_models.Document._default_manager.filter(pk=document_id)
    Invoice.objects.filter(pk=1).first()
    return get_object_or_404(Cast, pk=matter_id)
"""

SCOPED = """
from core.access import matter_for_user, matters_for_user
from core.models import MatterEvent

def view(request, matter_id):
    matter = matter_for_user(request.user, matter_id)
    matters_for_user(request.user).filter(pk=matter_id)
    MatterEvent.objects.filter(matter=matter)
    return matter.documents.filter(pk=1)
"""


def test_the_rule_flags_a_lookup_however_the_model_is_imported() -> None:
    found = direct_lookups(SNEAKY, {}, protected_models())

    assert found == [
        "line 8: Cast.objects",
        "line 9: core_models.Document._default_manager",
        "line 10: Invoice.objects",
        "line 11: get_object_or_404(Cast, …)",
    ]


def test_the_rule_leaves_accessors_related_objects_and_unprotected_models_alone() -> None:
    assert direct_lookups(SCOPED, {}, protected_models()) == []
