"""Views of the portal app: client portal, staff matters and grants, access review, firm administration."""
