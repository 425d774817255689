"""A package without a `tool`: discovery skips it."""
