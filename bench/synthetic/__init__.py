"""SYNTHETIC models for the benchmark only: never installed outside ``bench.settings``.

They stand in for the portal and billing models that do not exist yet, so that
onboarding and migration costs at the product's eventual size (~60 models) can
be estimated today. Each one looks like a typical firm table: an identity
primary key, a dozen columns of varied types, foreign keys (to the user and to
the previous synthetic model), a unique column, a composite index, a unique
constraint, a check constraint and, for every fourth one, a many-to-many table.
"""
