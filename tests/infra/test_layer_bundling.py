"""The dependency layer builds with pip --platform on this machine: Lambda wheels, no Docker.

These tests install two tiny pinned packages from the package index: typing_extensions (pure
Python) and MarkupSafe, whose CPython 3.12 manylinux wheel carries a compiled extension, which
proves pip fetched the Lambda runtime's build rather than one for the interpreter running pytest.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from infra.layers import BundlingError, PipLayerBundling, dependency_layer_code

REQUIREMENTS = "typing_extensions==4.12.2\nMarkupSafe==3.0.2\n"
PLACEHOLDER = cdk.BundlingOptions(image=cdk.DockerImage.from_registry("python:3.12"))


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    folder = tmp_path / "deps"
    folder.mkdir()
    path = folder / "requirements.txt"
    path.write_text(REQUIREMENTS)
    return path


def assert_lambda_layer(root: Path) -> None:
    """`root/python` holds the packages, built for CPython 3.12 on x86_64 Linux."""
    site = root / "python"
    assert (site / "typing_extensions.py").is_file()
    assert (site / "typing_extensions-4.12.2.dist-info").is_dir()
    extensions = [p.name for p in (site / "markupsafe").glob("_speedups*.so")]
    assert extensions == ["_speedups.cpython-312-x86_64-linux-gnu.so"]
    assert not list(site.rglob("*.pyc"))
    assert not (site / "bin").exists()


def test_local_bundling_installs_lambda_wheels(requirements: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    assert PipLayerBundling(requirements).try_bundle(str(output), PLACEHOLDER) is True
    assert_lambda_layer(output)


def test_dependency_layer_code_bundles_through_cdk_without_docker(requirements: Path, tmp_path: Path) -> None:
    """CDK calls the bundler over jsii and stages its output as the layer asset."""
    outdir = tmp_path / "cdk.out"
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "BundlingProbe")
    lambda_.LayerVersion(stack, "Deps", code=dependency_layer_code(requirements))
    app.synth()
    [asset] = [p for p in outdir.iterdir() if p.name.startswith("asset.")]
    assert_lambda_layer(asset)


def test_pip_failure_raises_instead_of_falling_back_to_docker(tmp_path: Path) -> None:
    broken = tmp_path / "requirements.txt"
    broken.write_text("this is not a requirement!!\n")
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(BundlingError, match="pip could not build"):
        PipLayerBundling(broken).try_bundle(str(output), PLACEHOLDER)
