"""django-oauth-toolkit's migrations, squashed into one (``MIGRATION_MODULES`` in core.settings).

The library ships 22 migrations whose field alterations make Django re-render most of
the project's models once each: about 5 s of every firm schema's migration (and of
public's), which every onboarding by migrations, every fresh ``portico up`` and the
test suite pay. ``0001_squashed`` creates the library's final tables directly and
``replaces`` the 22, so a database that applied them is already up to date.

Upgrading django-oauth-toolkit: ``makemigrations --check`` (CI) fails when its models
change; add the new migration here (``portico manage makemigrations oauth2_provider``).
"""
