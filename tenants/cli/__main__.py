"""`python -m tenants.cli …`: the same as the `portico` console script."""

from tenants.cli import main

main()
