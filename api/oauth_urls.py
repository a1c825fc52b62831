"""The OAuth token endpoint (``api.oauth``), beside the API under /api/v1/ but not one of its DRF views."""

from django.urls import path

from api.oauth import IntegrationTokenView

urlpatterns = [path("token/", IntegrationTokenView.as_view(), name="oauth_token")]
