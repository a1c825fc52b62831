"""Staff workspace URLs for case work and matter types (included in ``portal.urls``' namespace)."""

from django.urls import path

from portal.views import staff_casework as casework
from portal.views import staff_matter_types as types
from portal.views import work

urlpatterns = [
    path("staff/matters/new/", casework.matter_open, name="matter_open"),
    path("staff/review/", casework.review_queue, name="review_queue"),
    path("staff/notifications/read/", casework.notifications_read, name="notifications_read"),
    path("staff/documents/<int:document_id>/review/", casework.review_document, name="document_review"),
    path("staff/documents/<int:document_id>/thumbnail.jpg", casework.thumbnail, name="document_thumbnail"),
    path("documents/<int:document_id>/download/", casework.download, name="document_download"),
    path("staff/matters/<int:matter_id>/stage/", casework.stage_advance, name="stage_advance"),
    path("staff/matters/<int:matter_id>/messages/", casework.message_post, name="staff_message_post"),
    path("staff/matters/<int:matter_id>/tasks/", work.matter_task_create, name="matter_task_create"),
    path("staff/matters/<int:matter_id>/deadlines/", work.matter_deadline_create, name="matter_deadline_create"),
    path(
        "staff/matters/<int:matter_id>/deadlines/<int:deadline_id>/",
        work.matter_deadline_update,
        name="matter_deadline_update",
    ),
    path("staff/matters/<int:matter_id>/receipts/", work.matter_receipt_add, name="matter_receipt_add"),
    path("staff/search/", work.search, name="search"),
    path("staff/tasks/", work.task_list, name="tasks"),
    path("staff/tasks/<int:task_id>/", work.task_update, name="task_update"),
    path("staff/calendar/", work.calendar, name="calendar"),
    path("staff/calendar/feed/", work.calendar_feed_manage, name="calendar_feed_manage"),
    # A person's private feed for calendar apps: the token in the address is the key (no session).
    path("calendar/<str:token>.ics", work.calendar_feed, name="calendar_feed"),
    path("staff/matter-types/", types.matter_type_list, name="matter_types"),
    path("staff/matter-types/<int:type_id>/", types.matter_type_detail, name="matter_type"),
    path("staff/matter-types/<int:type_id>/questions/new/", types.question_new, name="question_new"),
    path("staff/matter-types/<int:type_id>/questions/<int:question_id>/", types.question_edit, name="question_edit"),
    path("staff/matter-types/<int:type_id>/requirements/new/", types.requirement_new, name="requirement_new"),
    path(
        "staff/matter-types/<int:type_id>/requirements/<int:requirement_id>/",
        types.requirement_edit,
        name="requirement_edit",
    ),
    path("staff/matter-types/<int:type_id>/stages/new/", types.stage_new, name="stage_new"),
    path("staff/matter-types/<int:type_id>/stages/<int:stage_id>/", types.stage_edit, name="stage_edit"),
]
