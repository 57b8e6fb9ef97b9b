# The harness plugin sets the test environment (local AWS API, Django settings module) when this
# initial conftest loads, which is before pytest-django sets Django up in pytest_configure.
pytest_plugins = ["tests.harness.plugin"]
