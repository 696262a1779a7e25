from tests.support.fixtures import test_store  # noqa: F401
