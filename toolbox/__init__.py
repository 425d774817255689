"""The toolbox: built-in tools live in sub-packages here; the registry that finds them is app/registry.py."""
