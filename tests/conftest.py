"""Shared test setup: tests import the package from the checkout (installed editable)."""
