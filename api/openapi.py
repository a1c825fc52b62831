"""The schema class of every API operation (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``).

``ApiSchema``: every operation also lists the errors it can answer, in the
API's one shape (``api.errors``): 401 and 403 everywhere, 429 when the caller's
token is over its rate, 400 on a body, 404 when the URL or body names an object,
304 on a GET (``If-None-Match``) and 412 on a PATCH/PUT (``If-Match``, ``api.etags``),
409 and 422 on a POST (``Idempotency-Key``, ``api.idempotency``);
and the scope a token needs for it, as ``x-token-scope`` (``api.scopes``; an
HTTP bearer scheme cannot carry scopes in OpenAPI 3.0; ``none`` for what only
a session may do, whose security then lists no token). ``TokenScheme``
describes the bearer tokens of ``api.authentication``.
Kept apart from ``api.schema`` (the view), which DRF cannot import while it
builds an APIView's schema descriptor.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.settings import api_settings

from api.errors import ErrorSerializer
from api.scopes import ANY_SCOPE, SESSION_ONLY, declared_area, scope_needed

ERRORS = {
    400: "The body or a query parameter is not valid; ``fields`` names each one.",
    401: "No credentials, or a token that is unknown, expired or revoked.",
    403: "The caller's role or token scope does not allow this.",
    404: "Not found, or not yours (the two look the same).",
    409: "A request with this ``Idempotency-Key`` is still being handled.",
    412: "``If-Match`` names an ETag the object no longer has: read it again.",
    422: "This ``Idempotency-Key`` was used with another body.",
    429: "Too many requests for this token or this firm; wait the seconds in ``Retry-After``.",
}
NOT_MODIFIED = "``If-None-Match`` names the representation's current ``ETag``: no body."
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag of a representation already held: answered 304 while it is still current.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (up to 255): a retry with the same key and body gets the first answer, "
    "acting once (kept 24 hours; api.idempotency).",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag the change is based on (from a GET): 412 when the object has changed since.",
)


class TokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Two ways to the same bearer tokens: a personal token (``tokenAuth``), or an integration's from the
    client-credentials grant (``integrationAuth``, an OAuth 2.0 scheme, which names the scope each operation needs).
    """

    target_class = "api.authentication.ScopedTokenAuthentication"
    name = ["tokenAuth", "integrationAuth"]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[str]]]:
        needed = scope_needed(auto_schema.view, auto_schema.method)
        scopes = [] if needed in (None, ANY_SCOPE) else [str(needed)]
        return [{"tokenAuth": []}, {"integrationAuth": scopes}]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        from core.api_tokens import all_scopes  # the settings' scope list

        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal access token a firm admin issued on the staff page API tokens (pat_...).",
            },
            {
                "type": "oauth2",
                "description": "An integration's token (registered by a firm admin under Settings, Integrations), "
                "from the firm's own token endpoint with its client id and secret.",
                "flows": {"clientCredentials": {"tokenUrl": "/api/v1/oauth/token/", "scopes": all_scopes()}},
            },
        ]


class ApiSchema(AutoSchema):
    def get_extensions(self) -> dict[str, Any]:
        if declared_area(self.view) == SESSION_ONLY:
            return {"x-token-scope": "none"}
        needed = scope_needed(self.view, self.method)
        return {"x-token-scope": "any" if needed == ANY_SCOPE else needed}

    def get_auth(self) -> list[dict[str, list[str]]]:
        given: list[dict[str, list[str]]] = super().get_auth()
        if declared_area(self.view) == SESSION_ONLY:  # a signed-in admin's browser session, never a token
            return [scheme for scheme in given if not {"tokenAuth", "integrationAuth"} & set(scheme)]
        return given

    def map_parsers(self) -> list[Any]:
        # The API takes JSON; DRF's default parsers also read forms, which the schema leaves out (a form
        # cannot carry a JSON body's types). Views that take forms or files name their parsers.
        defaults: list[object] = list(api_settings.DEFAULT_PARSER_CLASSES)  # resolved to the classes
        if list(type(self.view).parser_classes) == defaults:
            return ["application/json"]
        parsers: list[Any] = super().map_parsers()
        return parsers

    def get_override_parameters(self) -> list[Any]:
        given: list[Any] = list(super().get_override_parameters())
        if self.method == "GET":
            return [*given, IF_NONE_MATCH]
        if self.method in ("PATCH", "PUT"):
            return [*given, IF_MATCH]
        if self.method == "POST":
            return [*given, IDEMPOTENCY_KEY]
        return given

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        # A list's cursor, limit and filters are validated too (api.pagination): a GET with a query can be a 400.
        queried = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
        if queried and "400" not in operation["responses"]:
            operation["responses"]["400"] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                OpenApiResponse(ErrorSerializer, description=ERRORS[400]), "400", direction="response"
            )
            operation["responses"] = dict(sorted(operation["responses"].items()))
        return operation

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        # The one private hook that sees the responses both guessed and given by @extend_schema.
        bodies: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return bodies
        codes = {401, 403, 429}
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes |= {400, 404}
        if "{" in self.path:
            codes.add(404)
        if self.method in ("PATCH", "PUT"):
            codes.add(412)
        if self.method == "POST":
            codes |= {409, 422}
        if self.method == "GET" and "304" not in bodies:
            bodies["304"] = {"description": NOT_MODIFIED}
        for code in sorted(codes):
            if str(code) not in bodies:
                bodies[str(code)] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    OpenApiResponse(ErrorSerializer, description=ERRORS[code]), str(code), direction=direction
                )
        return bodies
