"""The asynchronous paths: object changes to events, events to signed deliveries."""
