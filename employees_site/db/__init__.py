"""The Aurora data layer: a MySQL backend that takes credentials from Secrets Manager."""
