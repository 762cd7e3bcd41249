"""Errors codegen reports to the contract author."""


class ContractError(Exception):
    """A contract that codegen refuses; the message names the file and the problem."""
