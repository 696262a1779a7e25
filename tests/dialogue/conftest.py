from tests.support.fixtures import rasa_model  # noqa: F401
