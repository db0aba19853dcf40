"""The two Lambda layers: Switchboard's own package, and its third-party dependencies.

The dependency layer is built on this machine by `pip install --platform` (CDK local bundling),
so synthesis never needs Docker. The Docker image named in the bundling options is a required
placeholder that is never used: local bundling either succeeds or raises.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.settings import REPO_ROOT

SHARED_LAYER_DIR = REPO_ROOT / "layers" / "switchboard"
DEPS_REQUIREMENTS = REPO_ROOT / "layers" / "deps" / "requirements.txt"

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64
PIP_PLATFORM = "manylinux2014_x86_64"  # manylinux2014_aarch64 for ARM_64
PIP_PYTHON_VERSION = "3.12"  # must match RUNTIME

_NO_DOCKER = DockerImage.from_registry("python:3.12")  # placeholder: local bundling never falls back
_EXCLUDE = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/*.egg-info"]


class BundlingError(RuntimeError):
    """pip could not build the dependency layer; raised instead of falling back to Docker."""


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Installs a requirements file for the Lambda platform into `<output>/python` with pip."""

    def __init__(
        self,
        requirements: Path,
        *,
        platform: str = PIP_PLATFORM,
        python_version: str = PIP_PYTHON_VERSION,
    ) -> None:
        self.requirements = Path(requirements).resolve()
        self.platform = platform
        self.python_version = python_version

    def command(self, output_dir: str) -> list[str]:
        """The pip invocation: binary wheels only, so what it installs runs on Lambda's Linux."""
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-r",
            str(self.requirements),
            "--target",
            str(Path(output_dir) / "python"),
            "--platform",
            self.platform,
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
            "--upgrade",
            # .pyc files from this interpreter would not match the runtime's version anyway.
            "--no-compile",
            "--disable-pip-version-check",
        ]

    def asset_hash(self) -> str:
        """Changes exactly when the requirements or the target platform change."""
        digest = hashlib.sha256(self.requirements.read_bytes())
        digest.update(f"{self.platform}|cp|{self.python_version}".encode())
        return digest.hexdigest()

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        """Run pip; on failure raise, because returning False would make CDK try Docker."""
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            self.command(output_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BundlingError(
                f"pip could not build the dependency layer from {self.requirements} "
                f"(exit {result.returncode}):\n{result.stdout[-4000:]}"
            )
        # Console scripts (e.g. jp.py) are never on a Lambda PATH: keep the layer small.
        shutil.rmtree(Path(output_dir) / "python" / "bin", ignore_errors=True)
        return True


def dependency_layer_code(requirements: Path = DEPS_REQUIREMENTS) -> lambda_.Code:
    """Asset code for a dependency layer built from `requirements` by local pip bundling."""
    bundler = PipLayerBundling(requirements)
    return lambda_.Code.from_asset(
        str(bundler.requirements.parent),
        asset_hash=bundler.asset_hash(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(image=_NO_DOCKER, local=bundler),
    )


class Layers(Construct):
    """`shared`: the switchboard package; `deps`: pinned third-party packages (no boto3)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.shared = lambda_.LayerVersion(
            self,
            "Shared",
            code=lambda_.Code.from_asset(str(SHARED_LAYER_DIR), exclude=_EXCLUDE),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Switchboard shared package (domain, adapters, API, wiring)",
        )
        self.deps = lambda_.LayerVersion(
            self,
            "Deps",
            code=dependency_layer_code(),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Switchboard third-party dependencies (layers/deps/requirements.txt)",
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.shared, self.deps]
