"""Switchboard's CDK constructs: one module per concern, all generated from switchboard.wiring.

Importing this package is cheap; the modules that build resources import aws_cdk themselves.
"""
