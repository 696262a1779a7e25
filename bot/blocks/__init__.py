"""Block Kit layouts: pure functions from domain records to message/view dicts."""
