"""CDK app: `cdk synth` / `cdk deploy` build Switchboard from switchboard.wiring, and
`cdk synth DataStreamOnboarding` the template customers run in their own account.

Runs offline: without CDK_DEFAULT_REGION the platform stack is environment-agnostic; the
onboarding stack always is (customers pick the account and region).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii prints a banner for Node 20 on every run; the CDK itself works on it.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "layers" / "switchboard" / "python"))
sys.path.insert(0, str(ROOT))

import aws_cdk as cdk  # noqa: E402

from infra.onboarding_stack import add_onboarding  # noqa: E402
from infra.platform_stack import add_platform  # noqa: E402
from infra.settings import cdk_json_context  # noqa: E402


def environment() -> cdk.Environment | None:
    """The CLI's account/region when it resolved them; otherwise an environment-agnostic stack."""
    region = os.environ.get("CDK_DEFAULT_REGION")
    if not region:
        return None
    return cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=region)


def main() -> None:
    # cdk.json context is loaded here too so `python app.py` matches `cdk synth`
    # (context passed by the CLI takes precedence).
    app = cdk.App(context=cdk_json_context(ROOT / "cdk.json"))
    add_platform(app, env=environment())
    # KustomerAccountId defaults to context switchboard:platformAccountId, else the account the
    # CLI resolved (where the platform is deployed), else the customer must enter it.
    add_onboarding(app, platform_account=os.environ.get("CDK_DEFAULT_ACCOUNT"))
    app.synth()


if __name__ == "__main__":
    main()
