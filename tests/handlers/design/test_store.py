"""DesignStore: staging left by interrupted requests goes once no request can own it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from handlers.design.store import DesignStore


def test_stale_staging_is_removed_and_fresh_staging_kept(tmp_path: Path) -> None:
    store = DesignStore(tmp_path, kind="segmentation", prefix="seg_")
    stale = store.stage(store.new_id())
    fresh = store.stage(store.new_id())
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    store.clear_staging(older_than_s=600)
    assert not stale.exists()
    assert fresh.is_dir()
