# Shared fixtures are a plugin, so tests inside each tool's folder (toolbox/<code>/tests) get them too.
pytest_plugins = ["tests.fixtures"]
