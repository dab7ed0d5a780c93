"""The live dosing session (blueprint `sessions`)."""
