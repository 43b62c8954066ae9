"""The command line: argument parsing, start-up and one module per command."""
