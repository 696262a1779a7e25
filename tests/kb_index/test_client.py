import socket

import pytest

from kb_index.client import HttpKnowledgeClient
from kb_index.errors import KnowledgeUnavailable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_service_raises_unavailable() -> None:
    client = HttpKnowledgeClient(f"http://127.0.0.1:{_closed_port()}", timeout=0.5)
    with pytest.raises(KnowledgeUnavailable, match="unreachable"):
        client.search("return policy")
    assert client.healthy() is False


def test_hanging_service_times_out_as_unavailable() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # accepts the TCP connection but never answers
        client = HttpKnowledgeClient(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.3)
        with pytest.raises(KnowledgeUnavailable):
            client.search("return policy")
