"""Resolve: plugin discovery, installation policy, parameters and the pluggy manager."""
