"""The workflow engine: Kustomer workflow JSON, its values and conditions, and the step runner.

Pure domain code: no boto3 and no network. Actions are injected (`pipeline.workflow_actions`).
"""
