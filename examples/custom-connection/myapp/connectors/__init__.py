"""Connections this application plugs into Ductflow."""
