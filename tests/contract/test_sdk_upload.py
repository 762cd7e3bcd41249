"""An SDK generated from the published document uploads a robot package to a live server."""

from __future__ import annotations

import importlib
import io
import json
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from handlers.kit.paths import EXAMPLES_DIR
from tests.contract.documents import Document
from tests.contract.fuzz import (
    HOST,
    create_key,
    server_env,
    start_server,
    stop_server,
    wait_until_healthy,
)
from tests.contract.test_openapi_rules import SDK_CONFIG, SDK_GENERATOR

pytestmark = [pytest.mark.slow, pytest.mark.contract]
PACKAGE = "qers_client"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def sdk(published: Document, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package openapi-python-client generates, importable."""
    folder = tmp_path_factory.mktemp("sdk")
    generator = shutil.which(SDK_GENERATOR, path=str(Path(sys.executable).parent))
    assert generator, f"{SDK_GENERATOR} is not installed next to {sys.executable}"
    (folder / "openapi.json").write_text(json.dumps(published), encoding="utf-8")
    (folder / "sdk.json").write_text(json.dumps(SDK_CONFIG), encoding="utf-8")
    command = [generator, "generate", "--path", str(folder / "openapi.json")]
    command += ["--output-path", str(folder / PACKAGE), "--meta", "none"]
    command += ["--config", str(folder / "sdk.json")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The URL of a live server with auth on, and a key for it (as `make fuzz` runs it)."""
    port = free_port()
    env = server_env(tmp_path_factory.mktemp("sdk-runs"), None)
    key = create_key(env)
    server = start_server(port, env)
    url = f"http://{HOST}:{port}"
    try:
        wait_until_healthy(server, url)
        yield url, key
    finally:
        stop_server(server)


def arm_package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(EXAMPLES_DIR / "simple_arm_mesh.urdf", "arm/simple_arm_mesh.urdf")
        for mesh in sorted((EXAMPLES_DIR / "meshes").iterdir()):
            archive.write(mesh, f"arm/meshes/{mesh.name}")
    return buffer.getvalue()


def test_the_generated_sdk_uploads_a_package_and_reads_it_back(
    sdk: ModuleType, base_url: tuple[str, str]
) -> None:
    import_asset: Any = importlib.import_module(f"{PACKAGE}.api.assets.import_asset")
    get_asset: Any = importlib.import_module(f"{PACKAGE}.api.assets.get_asset")
    get_package: Any = importlib.import_module(f"{PACKAGE}.api.assets.get_asset_package")
    models: Any = importlib.import_module(f"{PACKAGE}.models")
    types: Any = importlib.import_module(f"{PACKAGE}.types")
    url, key = base_url
    headers = {"X-API-Key": key}
    with sdk.Client(base_url=url, headers=headers, raise_on_unexpected_status=True) as client:
        upload = types.File(payload=io.BytesIO(arm_package()), file_name="arm.zip")
        body = models.AssetImportForm(file=upload, name="Arm from the SDK", tags=["sdk", "arm"])
        created = import_asset.sync_detailed(client=client, body=body)
        assert created.status_code == 201, created.content
        asset = created.parsed
        assert isinstance(asset, models.Asset)
        assert asset.format_.value == "urdf"
        assert asset.container.value == "zip"
        assert list(asset.tags) == ["sdk", "arm"]
        assert asset.check.loaded is True
        read = get_asset.sync(client=client, asset_id=asset.id)
        assert read.sha256 == asset.sha256
        package = get_package.sync_detailed(client=client, asset_id=asset.id)
        with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
            assert sorted(archive.namelist()) == sorted(f.path for f in asset.files)
