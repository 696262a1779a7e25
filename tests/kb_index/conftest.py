"""Fixture articles and settings for the knowledge-index tests (hashing embedder, tmp dirs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kb_index.settings import KbSettings
from tests.support.fixtures import shipped_kb_index  # noqa: F401 - shared, built once a session

ARTICLES = {
    "en/returns-policy.md": """---
id: returns-policy
title: Returning an item
language: en
tags: [returns, refunds]
audience: public
owner: cx-content
updated: 2026-01-10
review_by: 2099-01-01
---
## Return window
You can return items within 30 days of delivery. Items must be unused and in the original
packaging.

## Return label
The return label is free in Sweden. Elsewhere 59 SEK is deducted from the refund.
""",
    "en/shipping-sweden.md": """---
id: shipping-sweden
title: Delivery times and shipping costs in Sweden
language: en
tags: [shipping]
audience: public
owner: cx-content
updated: 2026-01-10
review_by: 2099-01-01
---
## Delivery time
Parcels in Sweden arrive in 1-3 business days with PostNord or Budbee.

## Cost
Shipping costs 49 SEK and is free for orders over 499 SEK.
""",
    "en/refund-authority.md": """---
id: refund-authority
title: Agent refund authority
language: en
tags: [refunds, internal]
audience: internal
owner: support-ops
updated: 2026-01-10
review_by: 2099-01-01
---
## Limits
An agent may grant goodwill up to 1,000 SEK. A team lead may approve up to 5,000 SEK.
Above that, ask a manager.
""",
    "en/gift-cards.md": """---
id: gift-cards
title: Gift cards
language: en
tags: [payment]
audience: public
owner: cx-content
updated: 2024-01-10
review_by: 2025-01-01
---
## Validity
Gift cards are valid for 24 months and can only be used online. There is no cash refund.
""",
    "sv/retur.md": """---
id: retur-sv
title: Returnera en vara
language: sv
tags: [returns]
audience: public
owner: cx-content
updated: 2026-01-10
review_by: 2099-01-01
---
## Returrätt
Du kan returnera varor inom 30 dagar från leveransen. Returfrakten är gratis i Sverige.
""",
    "nb/levering.md": """---
id: levering-nb
title: Levering til Norge
language: nb
tags: [shipping]
audience: public
owner: cx-content
updated: 2026-01-10
review_by: 2099-01-01
---
## Leveringstid
Pakker til Norge sendes med Bring og kommer fram på 2-5 virkedager. Frakten koster 99 SEK.
""",
    "zh/returns-zh.md": """---
id: returns-zh
title: 退貨政策
language: zh
tags: [returns]
audience: public
owner: cx-content
updated: 2026-01-10
review_by: 2099-01-01
---
## 退貨期限
商品送達後三十天內可以辦理退貨。商品必須未使用並保持原包裝。
""",
}


def write_articles(root: Path, articles: dict[str, str] = ARTICLES) -> Path:
    for rel, text in articles.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    return write_articles(tmp_path / "articles")


@pytest.fixture()
def settings(tmp_path: Path, source: Path) -> KbSettings:
    return dataclasses.replace(
        KbSettings(),
        source=source,
        kb_dir=tmp_path / "kb",
        model="hashing-256",
        passage_chars=200,
        keep_versions=3,
    )
