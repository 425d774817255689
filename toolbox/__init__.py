"""The toolbox: built-in tools live in sub-packages here; see registry.py."""
